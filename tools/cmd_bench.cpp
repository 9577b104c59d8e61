// tools/cmd_bench.cpp - `gpt2c bench`: prefill and decode speed, load time and memory of a compiled model.
#include "runtime/context.h"
#include "runtime/generator.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"
#include "support/error.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/driver.h"

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

namespace gpt2c::tools {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Compile time, when the library's sidecar LIB.json recorded it.
double recorded_compile_seconds(const std::string& lib) {
    std::filesystem::path json = std::filesystem::path(lib).replace_extension(".json");
    std::ifstream in(json);
    if (!in) return -1;
    try {
        return nlohmann::json::parse(in).value("compile_seconds", -1.0);
    } catch (const nlohmann::json::exception&) {
        return -1;
    }
}

struct GenerateLoopTiming {
    bool measured = false;
    double decode_ms_per_token = 0;
};

// Decode through runtime/generator's loop, as `run` does (greedy sampling, text streaming), when the
// model directory has the tokenizer files: per decode step, median over fresh sessions.
GenerateLoopTiming time_generate_loop(const std::shared_ptr<Model>& model, const std::string& model_path,
                                      const std::vector<int32_t>& prompt, int64_t gen, int repeats) {
    GenerateLoopTiming out;
    if (gen < 2) return out;
    std::filesystem::path dir = std::filesystem::is_regular_file(model_path)
                                    ? std::filesystem::path(model_path).parent_path()
                                    : std::filesystem::path(model_path);
    if (!std::filesystem::exists(dir / "vocab.json") || !std::filesystem::exists(dir / "merges.txt")) return out;
    Tokenizer tokenizer = Tokenizer::load(dir.string());
    std::vector<double> per_token;
    for (int r = 0; r < repeats; ++r) {
        Session session(model);
        GenerateOptions greedy;
        greedy.sampling.greedy = true;
        greedy.max_new_tokens = gen;
        GenerationStats stats = generate(session, tokenizer, prompt, greedy, -1, nullptr);
        // generated_tokens - 1 decode steps (the first token comes from the prefill's logits).
        if (stats.generated_tokens > 1) per_token.push_back(stats.decode_seconds * 1e3 / double(stats.generated_tokens - 1));
    }
    if (per_token.empty()) return out;
    out.measured = true;
    out.decode_ms_per_token = median(per_token);
    return out;
}

struct BatchTiming {
    double decode_ms_per_step = 0;
    double decode_tok_s = 0;
};

// `batch` sequences with random prompts of prompt_tokens, prefilled together, then `gen` steps that
// decode one token of every sequence: median step time, and all generated tokens / decode time.
BatchTiming time_batched_decode(const std::shared_ptr<Model>& model, int batch, int64_t prompt_tokens, int64_t gen,
                                int repeats) {
    const ModelConfig& config = model->config();
    std::mt19937 rng(2);
    std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(batch), std::vector<int32_t>(static_cast<size_t>(prompt_tokens)));
    for (auto& p : prompts)
        for (int32_t& t : p) t = int32_t(rng() % uint32_t(config.vocab_size));
    Context context(model, batch, prompt_tokens + gen);
    std::vector<double> step_ms, rates;
    std::vector<float> logits(size_t(batch) * size_t(config.vocab_size));
    for (int r = 0; r < repeats; ++r) {
        for (int k = 0; k < batch; ++k) context.clear(k);
        std::vector<BatchRow> rows;
        for (int k = 0; k < batch; ++k)  // prefill in steps of at most n_positions rows
            for (int64_t i = 0; i < prompt_tokens; ++i) {
                rows.push_back({prompts[size_t(k)][size_t(i)], k, int32_t(i), i + 1 == prompt_tokens});
                if (int64_t(rows.size()) == config.n_positions) {
                    context.step(rows, logits.data());
                    rows.clear();
                }
            }
        if (!rows.empty()) context.step(rows, logits.data());
        auto decode_start = Clock::now();
        for (int64_t i = 0; i < gen; ++i) {
            rows.clear();
            for (int k = 0; k < batch; ++k)
                rows.push_back({int32_t((i * 31 + k) % config.vocab_size), k, int32_t(prompt_tokens + i), true});
            auto step = Clock::now();
            context.step(rows, logits.data());
            step_ms.push_back(seconds_since(step) * 1e3);
        }
        rates.push_back(double(batch) * double(gen) / seconds_since(decode_start));
    }
    BatchTiming out;
    if (!step_ms.empty()) out.decode_ms_per_step = median(step_ms);
    if (!rates.empty()) out.decode_tok_s = median(rates);
    return out;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
    Args args("bench",
              {{"--lib", true, "the compiled library"},
               {"--model", true, "the model directory or checkpoint"},
               {"--prompt-tokens", true, "prompt length for the prefill measurement (default 128)"},
               {"--gen", true, "tokens decoded one at a time after the prompt (default 128)"},
               {"--threads", true, "worker threads (default: one per hardware thread)"},
               {"--repeats", true, "repetitions; medians are reported (default 5)"},
               {"--batch", true,
                "also decode this many sequences together, one row each per step, after their prompts (default 1: "
                "no batched measurement)"},
               {"--from-checkpoint", false, "load from the checkpoint even when a current LIB.weights is beside the library"},
               {"--json", false, "print one JSON object on stdout"}},
              argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: " << program_name()
                  << " bench --lib LIB.so --model DIR [--prompt-tokens 128] [--gen 128] [--threads N] [--batch B] [--json]\n\n"
                  << args.usage();
        return 0;
    }
    const std::string lib = args.require("--lib");
    const int threads = int(args.get_int("--threads", 0, 0, 1024));
    const int64_t prompt_tokens = args.get_int("--prompt-tokens", 128, 1, 1 << 20);
    const int64_t gen = args.get_int("--gen", 128, 0, 1 << 20);
    const int repeats = int(args.get_int("--repeats", 5, 1, 1000));
    const int batch = int(args.get_int("--batch", 1, 1, 4096));

    auto model = Model::load(lib, args.require("--model"), threads,
                             args.has("--from-checkpoint") ? WeightsSource::checkpoint : WeightsSource::automatic);
    const ModelConfig& config = model->config();
    if (prompt_tokens + gen > config.n_positions)
        fail("{} bench: --prompt-tokens {} plus --gen {} exceed the context of {} positions", program_name(),
             prompt_tokens, gen, config.n_positions);

    std::mt19937 rng(1);
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_tokens));
    for (int32_t& t : prompt) t = int32_t(rng() % uint32_t(config.vocab_size));
    std::vector<float> logits(size_t(prompt_tokens * config.vocab_size));
    // First, the path a user takes: a fresh session's first prefill (logits of the last position only),
    // the first of them the first call after loading.
    std::vector<double> ttft_ms, session_ms;
    for (int r = 0; r < repeats; ++r) {
        auto created = Clock::now();
        Session fresh(model);
        session_ms.push_back(seconds_since(created) * 1e3);
        auto start = Clock::now();
        fresh.forward(prompt, 1, logits.data());
        ttft_ms.push_back(seconds_since(start) * 1e3);
    }
    std::vector<double> prefill_rates, decode_ms, decode_mean_ms;
    Session session(model);  // one session, reset per repeat, as an application would reuse it
    for (int r = 0; r < repeats; ++r) {
        session.reset();
        auto start = Clock::now();
        session.forward(prompt, prompt_tokens, logits.data());  // all-position logits, like a scoring pass
        prefill_rates.push_back(double(prompt_tokens) / seconds_since(start));
        const float* last = &logits[size_t((prompt_tokens - 1) * config.vocab_size)];
        int32_t next = int32_t(std::max_element(last, last + config.vocab_size) - last);
        std::vector<double> steps;
        for (int64_t i = 0; i < gen; ++i) {
            auto step = Clock::now();
            session.forward({&next, 1}, 1, logits.data());
            steps.push_back(seconds_since(step) * 1e3);
            next = int32_t(std::max_element(logits.begin(), logits.begin() + config.vocab_size) - logits.begin());
        }
        if (!steps.empty()) {
            decode_ms.push_back(median(steps));
            // The mean too: the generate loop's figure is a mean (total time / steps).
            double total = 0;
            for (double ms : steps) total += ms;
            decode_mean_ms.push_back(total / double(steps.size()));
        }
    }
    const GenerateLoopTiming loop = time_generate_loop(model, args.require("--model"), prompt, gen, repeats);
    const BatchTiming batched = batch > 1 ? time_batched_decode(model, batch, prompt_tokens, gen, repeats) : BatchTiming{};
    auto [pmin, pmax] = std::minmax_element(prefill_rates.begin(), prefill_rates.end());
    nlohmann::json result = {
        {"library", lib},
        {"threads", model->pool().size()},
        {"prompt_tokens", prompt_tokens},
        {"gen_tokens", gen},
        {"repeats", repeats},
        {"prefill_tok_s", median(prefill_rates)},
        {"prefill_tok_s_spread", {*pmin, *pmax}},
        {"load_s", model->load_seconds()},
        {"weights_source", model->weights_source()},
        {"peak_rss_mb", peak_rss_mb()},
        {"pipeline", model->library().pipeline()},
        {"kv_dtype", model->library().kv_dtype()},
    };
    if (!decode_ms.empty()) {
        auto [dmin, dmax] = std::minmax_element(decode_ms.begin(), decode_ms.end());
        result["decode_ms_per_token"] = median(decode_ms);
        result["decode_ms_spread"] = {*dmin, *dmax};
        result["decode_mean_ms_per_token"] = median(decode_mean_ms);
    }
    result["ttft_ms"] = median(ttft_ms);
    result["ttft_first_ms"] = ttft_ms.front();
    result["session_create_ms"] = median(session_ms);
    if (loop.measured) result["generate_decode_ms_per_token"] = loop.decode_ms_per_token;
    if (batch > 1) {
        result["batch"] = batch;
        result["decode_tok_s"] = batched.decode_tok_s;
        result["decode_ms_per_step"] = batched.decode_ms_per_step;
    }
    // What a decode step reads: the weights, and the KV cache of the mean context of the decode run.
    const int64_t weight_bytes = model->library().decode_weight_bytes();
    const int64_t kv_bytes_per_position = model->library().kv_cache_bytes() / config.n_positions;
    const int64_t decode_kv_bytes = kv_bytes_per_position * (prompt_tokens + gen / 2);
    result["decode_weight_bytes"] = weight_bytes;
    result["kv_bytes_per_position"] = kv_bytes_per_position;
    if (!decode_ms.empty())
        result["decode_gb_s"] = double(weight_bytes + decode_kv_bytes) / (result["decode_ms_per_token"].get<double>() * 1e6);
    if (double c = recorded_compile_seconds(lib); c >= 0) result["compile_s"] = c;
    if (args.has("--json")) {
        std::cout << result.dump() << "\n";
        return 0;
    }
    std::cout << fmt::format("library      {} ({} threads, {} KV cache, pipeline: {})\n", lib, model->pool().size(),
                             model->library().kv_dtype(), model->library().pipeline());
    std::cout << fmt::format("prefill      {:.1f} tok/s median of {} ({:.1f} .. {:.1f}), {} tokens, all-position logits\n",
                             median(prefill_rates), repeats, *pmin, *pmax, prompt_tokens);
    if (!decode_ms.empty())
        std::cout << fmt::format("decode       {:.2f} ms/token median ({:.2f} .. {:.2f}), {} tokens after the prompt\n",
                                 result["decode_ms_per_token"].get<double>(), result["decode_ms_spread"][0].get<double>(),
                                 result["decode_ms_spread"][1].get<double>(), gen);
    if (!decode_ms.empty())
        std::cout << fmt::format("             reads {:.1f} MB of weights and {:.1f} MB of KV cache a step (mean context {}): "
                                 "{:.1f} GB/s at the median\n",
                                 double(weight_bytes) / 1e6, double(decode_kv_bytes) / 1e6, prompt_tokens + gen / 2,
                                 result["decode_gb_s"].get<double>());
    std::cout << fmt::format("first token  {:.1f} ms median of {} fresh sessions (the first after loading: {:.1f} ms), "
                             "{} tokens, last-position logits; creating the session: {:.1f} ms\n",
                             median(ttft_ms), repeats, ttft_ms.front(), prompt_tokens, median(session_ms));
    if (loop.measured)
        std::cout << fmt::format("decode       {:.2f} ms/token through the generate loop `run` uses (greedy sampling; "
                                 "mean per step, against {:.2f} for the loop above)\n",
                                 loop.decode_ms_per_token, median(decode_mean_ms));
    if (batch > 1)
        std::cout << fmt::format("batch        {} sequences decoding together: {:.2f} ms/step median, {:.1f} tok/s in all\n",
                                 batch, batched.decode_ms_per_step, batched.decode_tok_s);
    if (result.contains("compile_s")) std::cout << fmt::format("compile      {:.2f} s\n", result["compile_s"].get<double>());
    std::cout << fmt::format("load         {:.3f} s (weights from {})\n", model->load_seconds(), model->weights_source());
    std::cout << fmt::format("peak RSS     {:.0f} MB\n", peak_rss_mb());
    return 0;
}

}  // namespace gpt2c::tools
