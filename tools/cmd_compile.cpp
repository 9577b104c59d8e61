// tools/cmd_compile.cpp - `gpt2c compile MODEL -o LIB.so`: config -> graph -> passes -> native library.
#include "backend/compiler.h"
#include "backend/target.h"
#include "frontend/config.h"
#include "frontend/graph_builder.h"
#include "runtime/packed_weights.h"
#include "ir/dot.h"
#include "ir/text.h"
#include "support/error.h"
#include "support/files.h"
#include "tools/commands.h"
#include "tools/pipeline_options.h"

#include <chrono>
#include <filesystem>
#include <iostream>

namespace gpt2c::tools {

namespace {

// A readable module name from MODEL: the directory name, as an identifier.
std::string module_name_for(const std::string& model_path) {
    namespace fs = std::filesystem;
    fs::path p = fs::absolute(model_path).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    if (p.filename() == "config.json") p = p.parent_path();
    std::string name = p.filename().string();
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
    return name.empty() ? "model" : name;
}

}  // namespace

int cmd_compile(int argc, char** argv) {
    std::vector<OptionSpec> specs = {
        {"-o", true, "the shared library to write (also writes LIB.h and LIB.json beside it)"},
        {"--emit-ir", true, "write the optimized graph IR to FILE"},
        {"--emit-dot", true, "write the optimized graph as Graphviz dot to FILE"},
        {"--emit-llvm", true, "write the optimized LLVM IR to FILE"},
        {"--target", true, "target triple: x86_64-linux-gnu or aarch64-linux-gnu (default: this machine's)"},
        {"--target-cpu", true,
         "CPU to compile for: native (the default on this machine's architecture), a portable level x86-64, "
         "x86-64-v2, x86-64-v3, x86-64-v4, or any CPU LLVM knows (znver4, sapphirerapids, cortex-a72, "
         "neoverse-n1, ...; default for another architecture: its baseline)"},
        {"--target-features", true, "LLVM feature string, e.g. +avx2,+fma (default: the CPU's)"},
        {"--pack-weights", false,
         "also write LIB.weights: MODEL's checkpoint prepared for this library, mapped in place at load "
         "(needs a library this machine can run; elsewhere run pack-weights on the target)"},
    };
    for (auto& s : pipeline_option_specs()) specs.push_back(s);
    Args args("compile", specs, argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: gpt2c compile MODEL -o LIB.so [options]\n"
                     "MODEL is a model directory holding config.json, or the config file itself.\n\n"
                  << args.usage();
        return 0;
    }
    if (args.positionals().size() != 1) fail("gpt2c compile: expected one MODEL (a directory or config.json)");
    const std::string model = args.positionals()[0];
    const std::string output = args.require("-o");

    auto start = std::chrono::steady_clock::now();
    ModelConfig config = load_config(model);
    ir::Module module = build_graph(config, module_name_for(model));
    PipelineChoice pipeline = pipeline_from_args(args, 3);
    backend::TargetSpec target = backend::resolve_target(
        args.get("--target").value_or(""), args.get("--target-cpu").value_or(""), args.get("--target-features").value_or(""));
    pipeline.context.target = backend::pass_target_info(target);
    passes::run_pipeline(module, pipeline.passes, pipeline.context, pipeline.instrumentation);
    if (auto path = args.get("--emit-ir")) write_file_atomically(*path, ir::print_module(module));
    if (auto path = args.get("--emit-dot")) write_file_atomically(*path, ir::print_dot(module));

    backend::CompileOptions options;
    options.output = output;
    options.target_triple = args.get("--target").value_or("");
    options.target_cpu = args.get("--target-cpu").value_or("");
    options.target_features = args.get("--target-features").value_or("");
    options.emit_llvm = args.get("--emit-llvm").value_or("");
    options.pipeline = passes::describe_pipeline(pipeline.passes);
    backend::CompileResult result = backend::compile_library(module, options);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << fmt::format("gpt2c: compiled {} -> {} ({:.2f} s)\n", model, result.library, seconds);
    if (args.has("--pack-weights")) {
        try {
            pack_weights(result.library, model, 0, packed_weights_path(result.library));
        } catch (const Error& e) {
            fail("--pack-weights: {}\n(the library is written; pack its weights with `gpt2c-run pack-weights --lib {} "
                 "--model MODEL` on a machine that runs it)",
                 e.what(), result.library);
        }
    }
    return 0;
}

}  // namespace gpt2c::tools
