// tools/cmd_text.cpp - `gpt2c run`, `gpt2c tokenize`, `gpt2c detokenize`: text in, text out.
#include "runtime/generator.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"
#include "support/error.h"
#include "support/files.h"
#include "support/json_limits.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/driver.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include <unistd.h>

namespace gpt2c::tools {

namespace {

namespace fs = std::filesystem;

// The usage texts: {} is the program (gpt2c or gpt2c-run).
constexpr const char* kRunHelp =
    "usage: {} run --lib LIB.so --model DIR [--prompt TEXT | --prompt-file FILE] [-n N] [options]\n"
    "\n"
    "Continues a text prompt and writes only the generated text to stdout, as it is\n"
    "generated; statistics go to stderr. Without --prompt or --prompt-file the prompt\n"
    "is read from stdin, byte for byte (a trailing newline is part of it). Invalid\n"
    "UTF-8 in the prompt is replaced by U+FFFD. A prompt longer than the model's\n"
    "context is an error (never truncated); an empty prompt starts from <|endoftext|>.\n"
    "\n"
    "Defaults come from DIR/generation_config.json when present (Hugging Face keys:\n"
    "do_sample, temperature, top_k, top_p, repetition_penalty, eos_token_id,\n"
    "max_new_tokens, max_length); without do_sample: true decoding is greedy, as in\n"
    "Hugging Face. Options override the file; --temperature, --top-k and --top-p\n"
    "imply sampling. Generation stops at the end-of-text token (not printed).\n"
    "\n";

constexpr const char* kTokenizeHelp =
    "usage: {} tokenize --model DIR [--allow-special] < text\n"
    "\n"
    "Reads UTF-8 text from stdin and prints its GPT-2 token ids as a JSON array on one\n"
    "line. Invalid UTF-8 is replaced by U+FFFD.\n"
    "\n";

constexpr const char* kDetokenizeHelp =
    "usage: {} detokenize --model DIR < ids.json\n"
    "\n"
    "Reads a JSON array of token ids from stdin and writes their bytes to stdout exactly\n"
    "(no newline is added; the bytes may end inside a UTF-8 character).\n"
    "\n";

// Whatever settings `run` uses; filled from defaults, then the file, then the options.
struct RunSettings {
    SamplingOptions sampling;
    bool sample = false;  // Hugging Face's do_sample
    std::optional<int64_t> max_new_tokens;
    std::optional<int64_t> max_length;  // counts the prompt, as in Hugging Face
    std::optional<int32_t> eos_token_id;
};

std::string read_stdin() {
    std::string text;
    char buffer[1 << 16];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) text.append(buffer, n);
    if (std::ferror(stdin)) fail("cannot read stdin");
    return text;
}

void write_stdout(std::string_view bytes) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
        fail("cannot write to stdout");
    if (std::fflush(stdout) != 0) fail("cannot write to stdout");
}

// --model may name the checkpoint file; the tokenizer and generation config live beside it.
std::string model_dir_of(const std::string& model) {
    std::error_code ec;
    if (!fs::is_regular_file(model, ec)) return model;
    const fs::path parent = fs::path(model).parent_path();
    return parent.empty() ? "." : parent.string();
}

// Reads one key of generation_config.json as a number in [lo, hi], or nothing when absent.
std::optional<double> config_number(const nlohmann::json& j, const std::string& source, const char* key, double lo,
                                    double hi, bool integer) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    const char* expected = integer ? "an integer" : "a number";
    if (!it->is_number() || (integer && !it->is_number_integer()))
        fail("{}: key \"{}\" must be {} in [{}, {}], got {}", source, key, expected, lo, hi, it->dump());
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) fail("{}: key \"{}\" must be {} in [{}, {}], got {}", source, key, expected, lo, hi, v);
    return v;
}

// An integer id or a list of them (generation stops at the first).
int32_t config_eos(const nlohmann::json& value, const std::string& source, int64_t vocab) {
    const nlohmann::json* id = &value;
    if (value.is_array()) {
        if (value.empty()) fail("{}: key \"eos_token_id\" is an empty list", source);
        id = &value[0];
    }
    if (!id->is_number_integer() || id->get<int64_t>() < 0 || id->get<int64_t>() >= vocab)
        fail("{}: key \"eos_token_id\" must be a token id in 0..{}, got {}", source, vocab - 1, value.dump());
    return int32_t(id->get<int64_t>());
}

void apply_generation_config(const std::string& dir, int64_t vocab, RunSettings& s) {
    const fs::path path = fs::path(dir) / "generation_config.json";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return;
    const std::string source = path.string();
    const std::string text = read_file(source, size_t(16) << 20);
    check_json_depth(text, source);  // dump() in the messages below recurses once per level
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", source, e.what());
    }
    if (!j.is_object()) fail("{}: expected a JSON object, got {}", source, j.type_name());

    if (auto it = j.find("do_sample"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) fail("{}: key \"do_sample\" must be true or false, got {}", source, it->dump());
        s.sample = it->get<bool>();
    }
    if (auto v = config_number(j, source, "temperature", 0, 1e30, false)) s.sampling.temperature = float(*v);
    if (auto v = config_number(j, source, "top_k", 0, INT32_MAX, true)) s.sampling.top_k = int32_t(*v);
    if (auto v = config_number(j, source, "top_p", 0, 1, false)) {
        if (*v == 0) fail("{}: key \"top_p\" must be in (0, 1], got 0", source);
        s.sampling.top_p = float(*v);
    }
    if (auto v = config_number(j, source, "repetition_penalty", 1, 1e30, false))
        s.sampling.repetition_penalty = float(*v);
    if (auto v = config_number(j, source, "max_new_tokens", 0, 1 << 20, true)) s.max_new_tokens = int64_t(*v);
    if (auto v = config_number(j, source, "max_length", 0, 1 << 20, true)) s.max_length = int64_t(*v);
    if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null())
        s.eos_token_id = config_eos(*it, source, vocab);
}

void apply_options(const Args& args, RunSettings& s) {
    if (args.has("--greedy") && args.has("--sample"))
        fail("{} run: --greedy and --sample exclude each other", program_name());
    s.sampling.temperature = float(args.get_double("--temperature", s.sampling.temperature, 0, 1e30));
    s.sampling.top_k = int32_t(args.get_int("--top-k", s.sampling.top_k, 0, INT32_MAX));
    s.sampling.top_p = float(args.get_double("--top-p", s.sampling.top_p, 0, 1));
    if (s.sampling.top_p == 0) fail("{} run: option '--top-p' expects a number in (0, 1], got '0'", program_name());
    s.sampling.repetition_penalty =
        float(args.get_double("--repetition-penalty", s.sampling.repetition_penalty, 1, 1e30));
    s.sampling.seed = uint64_t(args.get_int("--seed", int64_t(s.sampling.seed), 0, INT64_MAX));
    if (args.has("-n")) s.max_new_tokens = args.get_int("-n", 64, 0, 1 << 20);
    if (args.has("--sample") || args.has("--temperature") || args.has("--top-k") || args.has("--top-p"))
        s.sample = true;
    if (args.has("--greedy")) s.sample = false;
    s.sampling.greedy = !s.sample;
}

std::string read_prompt(const Args& args) {
    if (args.has("--prompt") && args.has("--prompt-file"))
        fail("{} run: give either --prompt or --prompt-file, not both", program_name());
    if (auto text = args.get("--prompt")) return *text;
    if (auto file = args.get("--prompt-file")) return read_file(*file);
    if (::isatty(STDIN_FILENO))
        std::cerr << program_name() << " run: reading the prompt from stdin (end it with Ctrl-D)\n";
    return read_stdin();
}

void reject_positionals(const Args& args, const char* command, const char* hint) {
    if (!args.positionals().empty())
        fail("{} {}: unexpected argument '{}' ({})", program_name(), command, args.positionals()[0], hint);
}

// Tokens per second, or "-" when nothing was measured.
std::string rate(int64_t tokens, double seconds) {
    return tokens > 0 && seconds > 0 ? fmt::format("{:.1f} tok/s", double(tokens) / seconds) : "- tok/s";
}

void print_stats(const GenerationStats& st) {
    if (::isatty(STDOUT_FILENO) && ::isatty(STDERR_FILENO)) std::cerr << "\n";  // off the generated text's line
    const double ms_per_token = st.generated_tokens ? st.decode_seconds * 1e3 / double(st.generated_tokens) : 0;
    std::cerr << fmt::format(
        "{} run: prompt {} tokens, prefill {:.1f} ms ({}); generated {} tokens, decode {:.1f} ms ({}, {:.2f} "
        "ms/token){}\n",
        program_name(), st.prompt_tokens, st.prefill_seconds * 1e3, rate(st.prompt_tokens, st.prefill_seconds),
        st.generated_tokens, st.decode_seconds * 1e3, rate(st.generated_tokens, st.decode_seconds), ms_per_token,
        st.finish == FinishReason::eos ? "; stopped at end-of-text" : "");
}

std::vector<int32_t> parse_id_array(const std::string& text, int32_t vocab) {
    const std::string source = fmt::format("{} detokenize: stdin", program_name());
    check_json_depth(text, source);  // dump() below recurses once per level
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail("{} is not JSON (expected an array of token ids): {}", source, e.what());
    }
    if (!j.is_array()) fail("{} holds a JSON {}, expected an array of token ids", source, j.type_name());
    std::vector<int32_t> ids;
    ids.reserve(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
        const nlohmann::json& v = j[i];
        if (!v.is_number_integer())
            fail("{}: element {} of the array is {}, expected an integer token id", source, i, v.dump());
        const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() < uint64_t(vocab)
                                                     : v.get<int64_t>() >= 0 && v.get<int64_t>() < vocab;
        if (!in_range)
            fail("{}: element {} of the array, {}, is out of range: the vocabulary has {} tokens (0..{})", source, i,
                 v.dump(), vocab, vocab - 1);
        ids.push_back(int32_t(v.get<int64_t>()));
    }
    return ids;
}

}  // namespace

int cmd_run(int argc, char** argv) {
    Args args("run", {
        {"--lib", true, "the compiled library (from gpt2c compile)"},
        {"--model", true, "the model directory (model.safetensors, vocab.json, merges.txt)"},
        {"--prompt", true, "the prompt text"},
        {"--prompt-file", true, "read the prompt from this file"},
        {"-n", true, "maximum number of new tokens (default 64; clipped to the context)"},
        {"--greedy", false, "always pick the most likely token"},
        {"--sample", false, "sample (do_sample) with the configured settings"},
        {"--temperature", true, "softmax temperature (> 0; 0 means greedy)"},
        {"--top-k", true, "sample only among the K most likely tokens (0: all)"},
        {"--top-p", true, "nucleus sampling: the smallest set with probability mass >= P, in (0, 1]"},
        {"--repetition-penalty", true, "CTRL repetition penalty >= 1 (1: none)"},
        {"--seed", true, "random seed (default 0); same seed, same output"},
        {"--threads", true, "worker threads (default: one per hardware thread)"},
        {"--allow-special", false, "let '<|endoftext|>' in the prompt be the special token"},
    }, argc, argv, 2);
    if (args.help()) {
        std::cout << fmt::format(kRunHelp, program_name()) << args.usage();
        return 0;
    }
    reject_positionals(args, "run", "the prompt goes in --prompt, --prompt-file or stdin");
    const std::string lib = args.require("--lib"), model_path = args.require("--model");
    const std::string dir = model_dir_of(model_path);
    const std::string prompt_text = read_prompt(args);
    Tokenizer tokenizer = Tokenizer::load(dir);

    RunSettings settings;
    apply_generation_config(dir, tokenizer.vocab_size(), settings);
    apply_options(args, settings);
    GenerateOptions options;
    options.sampling = settings.sampling;

    const std::vector<int32_t> prompt = tokenizer.encode(prompt_text, args.has("--allow-special"));
    auto model = load_model_noting_pack(lib, model_path, int(args.get_int("--threads", 0, 0, 1024)));
    const auto& config = model->config();
    for (int32_t id : prompt)
        if (id >= config.vocab_size)
            fail("{}: the prompt encodes to token id {}, but the model's vocabulary has {} tokens (vocab_size in {}); "
                 "this tokenizer does not belong to the model",
                 (fs::path(dir) / "vocab.json").string(), id, config.vocab_size, lib);
    const int32_t eos = settings.eos_token_id ? *settings.eos_token_id
                        : config.eos_token_id && *config.eos_token_id >= 0 && *config.eos_token_id < config.vocab_size
                            ? int32_t(*config.eos_token_id)
                            : tokenizer.eos_token_id();
    int64_t max_new = 64;
    if (settings.max_new_tokens) {
        max_new = *settings.max_new_tokens;
    } else if (settings.max_length) {
        max_new = std::max<int64_t>(0, *settings.max_length - int64_t(std::max<size_t>(prompt.size(), 1)));
    }

    options.max_new_tokens = max_new;
    Session session(model);
    const GenerationStats stats = generate(session, tokenizer, prompt, options, eos, [](const TokenEvent& event) {
        write_stdout(event.text);
        return true;
    });
    print_stats(stats);
    return 0;
}

int cmd_tokenize(int argc, char** argv) {
    Args args("tokenize", {
        {"--model", true, "the model directory (vocab.json, merges.txt)"},
        {"--allow-special", false, "let '<|endoftext|>' in the text be the special token"},
    }, argc, argv, 2);
    if (args.help()) {
        std::cout << fmt::format(kTokenizeHelp, program_name()) << args.usage();
        return 0;
    }
    reject_positionals(args, "tokenize", "the text is read from stdin");
    Tokenizer tokenizer = Tokenizer::load(model_dir_of(args.require("--model")));
    const std::vector<int32_t> ids = tokenizer.encode(read_stdin(), args.has("--allow-special"));
    write_stdout(nlohmann::json(ids).dump() + "\n");
    return 0;
}

int cmd_detokenize(int argc, char** argv) {
    Args args("detokenize", {{"--model", true, "the model directory (vocab.json, merges.txt)"}}, argc, argv, 2);
    if (args.help()) {
        std::cout << fmt::format(kDetokenizeHelp, program_name()) << args.usage();
        return 0;
    }
    reject_positionals(args, "detokenize", "the ids are read from stdin");
    Tokenizer tokenizer = Tokenizer::load(model_dir_of(args.require("--model")));
    const std::vector<int32_t> ids = parse_id_array(read_stdin(), tokenizer.vocab_size());
    write_stdout(tokenizer.decode(ids));
    return 0;
}

}  // namespace gpt2c::tools
