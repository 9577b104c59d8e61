// passes/pass_manager.cpp - the pass registry, -O pipelines, dumps, verification and timing.
#include "passes/pass_manager.h"

#include "ir/text.h"
#include "ir/verifier.h"
#include "support/error.h"
#include "support/files.h"

#include <chrono>
#include <filesystem>
#include <iostream>

namespace gpt2c::passes {

const std::vector<PassInfo>& registered_passes() {
    static const std::vector<PassInfo> passes = {
#define GPT2C_PASS(function, name, summary) {name, summary, &function},
#include "passes/passes.def"
    };
    return passes;
}

const PassInfo* find_pass(std::string_view name) {
    for (const PassInfo& p : registered_passes())
        if (p.name == name) return &p;
    return nullptr;
}

std::vector<std::string> pipeline_for_level(int level) {
    switch (level) {
    case 0: return {};
    // kv-dtype first: with the default f32 it changes nothing.
    case 1: return {"kv-dtype", "cse", "dce", "plan-memory"};
    // fold-layer-norm before fuse-epilogue: folding keeps the linear, fusing then extends its epilogue.
    // plan-memory last: any pass that adds, drops or reorders nodes after it invalidates the offsets.
    case 2: return {"kv-dtype", "cse", "fold-layer-norm", "fuse-epilogue", "fuse-attention", "dce", "plan-memory"};
    // -O3 adds the target-specific GEMM plan: tiles chosen, then weights packed
    // into those tiles' panels (after folding, which only rewrites unpacked weights).
    case 3:
        return {"kv-dtype",       "cse", "fold-layer-norm", "fuse-epilogue", "fuse-attention",
                "dce",            "choose-tiles",    "prepack-weights", "cse",  "plan-memory"};
    }
    fail("unknown optimization level -O{} (expected -O0 to -O3)", level);
}

std::vector<std::string> parse_pass_list(std::string_view list) {
    std::vector<std::string> names;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string name(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (!name.empty()) {
            if (!find_pass(name)) {
                std::string known;
                for (const PassInfo& p : registered_passes()) known += (known.empty() ? "" : ", ") + std::string(p.name);
                fail("--passes: unknown pass '{}' (known passes: {})", name, known);
            }
            names.push_back(name);
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return names;
}

std::string describe_pipeline(const std::vector<std::string>& pipeline) {
    std::string s;
    for (const auto& p : pipeline) s += (s.empty() ? "" : ",") + p;
    return s;
}

void run_pipeline(ir::Module& module, const std::vector<std::string>& pipeline, const PassContext& context,
                  const Instrumentation& inst) {
    std::ostream& log = inst.log ? *inst.log : std::cerr;
    if (!inst.dump_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(inst.dump_dir, ec);
        if (ec) fail("--dump-ir-dir={}: cannot create the directory: {}", inst.dump_dir, ec.message());
    }
    auto dump = [&](int index, const std::string& name) {
        if (inst.dump_dir.empty()) return;
        std::string path = fmt::format("{}/{:02d}-{}.ir", inst.dump_dir, index, name);
        write_file_atomically(path, fmt::format("// gpt2c IR after {}\n", name) + ir::print_module(module));
    };
    ir::verify(module);
    dump(0, "input");
    std::vector<std::pair<std::string, double>> timings;
    for (size_t i = 0; i < pipeline.size(); ++i) {
        const std::string& name = pipeline[i];
        const PassInfo* pass = find_pass(name);
        if (!pass) fail("unknown pass '{}'", name);
        if (inst.print_before_all || inst.print_before.count(name))
            log << "// -----// IR Dump Before " << name << " //----- //\n" << ir::print_module(module);
        auto start = std::chrono::steady_clock::now();
        pass->run(module, context);
        timings.emplace_back(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (inst.verify_each || i + 1 == pipeline.size()) {
            try {
                ir::verify(module);
            } catch (const Error& e) {
                fail("after pass '{}': {}", name, e.what());
            }
        }
        if (inst.print_after_all || inst.print_after.count(name))
            log << "// -----// IR Dump After " << name << " //----- //\n" << ir::print_module(module);
        dump(int(i) + 1, name);
    }
    if (inst.time_passes) {
        double total = 0;
        for (const auto& t : timings) total += t.second;
        log << "===-------------------------------------------------------------------------===\n"
            << "                      gpt2c pass execution timing report\n"
            << "===-------------------------------------------------------------------------===\n";
        log << fmt::format("  Total: {:.6f} s\n", total);
        for (const auto& [name, seconds] : timings)
            log << fmt::format("  {:10.6f} s ({:5.1f}%)  {}\n", seconds, total > 0 ? 100.0 * seconds / total : 0.0, name);
    }
}

}  // namespace gpt2c::passes
