// tools/cmd_bench.cpp - `gpt2c bench`: prefill and decode speed, load time and memory of a compiled model.
#include "runtime/model.h"
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

}  // namespace

int cmd_bench(int argc, char** argv) {
    Args args("bench",
              {{"--lib", true, "the compiled library"},
               {"--model", true, "the model directory or checkpoint"},
               {"--prompt-tokens", true, "prompt length for the prefill measurement (default 128)"},
               {"--gen", true, "tokens decoded one at a time after the prompt (default 128)"},
               {"--threads", true, "worker threads (default: one per hardware thread)"},
               {"--repeats", true, "repetitions; medians are reported (default 5)"},
               {"--json", false, "print one JSON object on stdout"}},
              argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: " << program_name()
                  << " bench --lib LIB.so --model DIR [--prompt-tokens 128] [--gen 128] [--threads N] [--json]\n\n"
                  << args.usage();
        return 0;
    }
    const std::string lib = args.require("--lib");
    const int threads = int(args.get_int("--threads", 0, 0, 1024));
    const int64_t prompt_tokens = args.get_int("--prompt-tokens", 128, 1, 1 << 20);
    const int64_t gen = args.get_int("--gen", 128, 0, 1 << 20);
    const int repeats = int(args.get_int("--repeats", 5, 1, 1000));

    auto model = Model::load(lib, args.require("--model"), threads);
    const ModelConfig& config = model->config();
    if (prompt_tokens + gen > config.n_positions)
        fail("{} bench: --prompt-tokens {} plus --gen {} exceed the context of {} positions", program_name(),
             prompt_tokens, gen, config.n_positions);

    std::mt19937 rng(1);
    std::vector<int32_t> prompt(static_cast<size_t>(prompt_tokens));
    for (int32_t& t : prompt) t = int32_t(rng() % uint32_t(config.vocab_size));
    std::vector<float> logits(size_t(prompt_tokens * config.vocab_size));
    std::vector<double> prefill_rates, decode_ms;
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
        if (!steps.empty()) decode_ms.push_back(median(steps));
    }
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
        {"peak_rss_mb", peak_rss_mb()},
        {"pipeline", model->library().pipeline()},
    };
    if (!decode_ms.empty()) {
        auto [dmin, dmax] = std::minmax_element(decode_ms.begin(), decode_ms.end());
        result["decode_ms_per_token"] = median(decode_ms);
        result["decode_ms_spread"] = {*dmin, *dmax};
    }
    if (double c = recorded_compile_seconds(lib); c >= 0) result["compile_s"] = c;
    if (args.has("--json")) {
        std::cout << result.dump() << "\n";
        return 0;
    }
    std::cout << fmt::format("library      {} ({} threads, pipeline: {})\n", lib, model->pool().size(),
                             model->library().pipeline());
    std::cout << fmt::format("prefill      {:.1f} tok/s median of {} ({:.1f} .. {:.1f}), {} tokens, all-position logits\n",
                             median(prefill_rates), repeats, *pmin, *pmax, prompt_tokens);
    if (!decode_ms.empty())
        std::cout << fmt::format("decode       {:.2f} ms/token median ({:.2f} .. {:.2f}), {} tokens after the prompt\n",
                                 result["decode_ms_per_token"].get<double>(), result["decode_ms_spread"][0].get<double>(),
                                 result["decode_ms_spread"][1].get<double>(), gen);
    if (result.contains("compile_s")) std::cout << fmt::format("compile      {:.2f} s\n", result["compile_s"].get<double>());
    std::cout << fmt::format("load         {:.3f} s (mmap, convert, prepare)\n", model->load_seconds());
    std::cout << fmt::format("peak RSS     {:.0f} MB\n", peak_rss_mb());
    return 0;
}

}  // namespace gpt2c::tools
