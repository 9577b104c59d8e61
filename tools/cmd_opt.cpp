// tools/cmd_opt.cpp - `gpt2c opt FILE.ir --passes=...`: IR text in, transformed IR text out.
#include "backend/target.h"
#include "ir/dot.h"
#include "ir/text.h"
#include "support/error.h"
#include "support/files.h"
#include "tools/commands.h"
#include "tools/pipeline_options.h"

#include <iostream>
#include <iterator>

namespace gpt2c::tools {

int cmd_opt(int argc, char** argv) {
    std::vector<OptionSpec> specs = {
        {"-o", true, "write the result to FILE instead of stdout"},
        {"--emit-dot", true, "also write the result as a Graphviz dot graph to FILE"},
        {"--target", true, "target triple the target-dependent passes plan for (default: this machine's)"},
        {"--target-cpu", true, "CPU the target-dependent passes plan for (default: a generic AVX-512 target)"},
        {"--target-features", true, "LLVM feature string for them, e.g. +avx512f,+avx512bf16,+avx512vnni"},
    };
    for (auto& s : pipeline_option_specs()) specs.push_back(s);
    Args args("opt", specs, argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: gpt2c opt FILE.ir [--passes=a,b | -O2] [options]   (FILE '-' reads stdin)\n\n"
                  << args.usage();
        return 0;
    }
    if (args.positionals().size() != 1) fail("gpt2c opt: expected one input FILE.ir (or '-' for stdin)");
    const std::string input = args.positionals()[0];
    std::string text = input == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : read_file(input);
    ir::Module module = ir::parse_module(text, input == "-" ? "<stdin>" : input);
    PipelineChoice pipeline = pipeline_from_args(args, 0);
    // Without a target, tiling plans for 64-byte vectors without bf16 or int8 dot products, whatever
    // this machine is, so IR tests read the same everywhere; `gpt2c compile` uses the real target.
    if (args.has("--target") || args.has("--target-cpu") || args.has("--target-features"))
        pipeline.context.target = backend::pass_target_info(backend::resolve_target(
            args.get("--target").value_or(""), args.get("--target-cpu").value_or(""),
            args.get("--target-features").value_or("")));
    passes::run_pipeline(module, pipeline.passes, pipeline.context, pipeline.instrumentation);
    if (auto path = args.get("--emit-dot")) write_file_atomically(*path, ir::print_dot(module));
    std::string out = ir::print_module(module);
    if (auto path = args.get("-o")) write_file_atomically(*path, out);
    else std::cout << out;
    return 0;
}

}  // namespace gpt2c::tools
