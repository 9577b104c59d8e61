// tools/pipeline_options.cpp - turns -O / --passes / --print-* flags into a pipeline to run.
#include "tools/pipeline_options.h"

#include "support/error.h"

namespace gpt2c::tools {

std::vector<OptionSpec> pipeline_option_specs() {
    return {
        {"-O", true, "optimization level 0..3 (default 3); -O0 runs no graph pass"},
        {"--passes", true, "run exactly these passes, comma-separated, instead of an -O pipeline"},
        {"--print-before-all", false, "print the IR before every pass (to stderr)"},
        {"--print-after-all", false, "print the IR after every pass (to stderr)"},
        {"--print-before", true, "print the IR before the named pass (repeatable)"},
        {"--print-after", true, "print the IR after the named pass (repeatable)"},
        {"--dump-ir-dir", true, "write the IR after every pass to DIR/NN-passname.ir"},
        {"--verify-each", false, "verify the IR after every pass"},
        {"--time-passes", false, "report the time each pass took (to stderr)"},
        {"--weights-dtype", true,
         "storage of packed projection weights: f32 (default), bf16 (on AVX512_BF16 targets multiplied with bf16 dot "
         "products, inputs rounded to bf16 too), int8 (per-channel scales), or q4 (4-bit, a bf16 scale per 32 rows and "
         "column: docs/Q4_WEIGHTS.md); int8 and q4 multiply with integer dot products on AVX512_VNNI or AVX-VNNI "
         "targets, q4 also on AVX2 (inputs quantized to int8 per row), in float32 elsewhere"},
        {"--arithmetic", true,
         "native (default): bf16, int8 and q4 weights multiply with the target's dot products, as --weights-dtype "
         "says; float32: they widen to float32 and multiply float32 inputs on any target (slower, closest to the "
         "checkpoint)"},
        {"--kv-dtype", true,
         "storage of the KV cache: f32 (default), bf16 (half the memory and the bytes long-context decode reads), "
         "or int8 (about a quarter: a float32 scale per position of each head); attention still computes in float32"},
    };
}

PipelineChoice pipeline_from_args(const Args& args, int default_level) {
    PipelineChoice choice;
    if (args.has("--passes") && args.has("-O")) fail("give either -O or --passes, not both");
    if (auto list = args.get("--passes")) {
        choice.passes = passes::parse_pass_list(*list);
    } else {
        choice.passes = passes::pipeline_for_level(int(args.get_int("-O", default_level, 0, 3)));
    }
    auto& inst = choice.instrumentation;
    inst.print_before_all = args.has("--print-before-all");
    inst.print_after_all = args.has("--print-after-all");
    for (const auto& name : args.all("--print-before")) {
        if (!passes::find_pass(name)) fail("--print-before={}: no such pass", name);
        inst.print_before.insert(name);
    }
    for (const auto& name : args.all("--print-after")) {
        if (!passes::find_pass(name)) fail("--print-after={}: no such pass", name);
        inst.print_after.insert(name);
    }
    inst.dump_dir = args.get("--dump-ir-dir").value_or("");
    inst.verify_each = args.has("--verify-each");
    inst.time_passes = args.has("--time-passes");
    choice.context.weights_dtype = args.get("--weights-dtype").value_or("f32");
    if (choice.context.weights_dtype != "f32" && choice.context.weights_dtype != "bf16" &&
        choice.context.weights_dtype != "int8" && choice.context.weights_dtype != "q4")
        fail("--weights-dtype={}: expected f32, bf16, int8 or q4", choice.context.weights_dtype);
    choice.context.arithmetic = args.get("--arithmetic").value_or("native");
    if (choice.context.arithmetic != "native" && choice.context.arithmetic != "float32")
        fail("--arithmetic={}: expected native or float32", choice.context.arithmetic);
    choice.context.kv_dtype = args.get("--kv-dtype").value_or("f32");
    if (choice.context.kv_dtype != "f32" && choice.context.kv_dtype != "bf16" && choice.context.kv_dtype != "int8")
        fail("--kv-dtype={}: expected f32, bf16 or int8", choice.context.kv_dtype);
    // A dtype asked for must not be dropped silently by a pipeline without the pass that applies it.
    auto require_pass = [&](const char* flag, const std::string& value, const char* def, const char* pass) {
        if (value == def) return;
        for (const auto& p : choice.passes)
            if (p == pass) return;
        fail("{}={} needs the {} pass, which this pipeline does not run (use -O1 or above for --kv-dtype, -O3 for "
             "--weights-dtype, or add it to --passes)",
             flag, value, pass);
    };
    require_pass("--weights-dtype", choice.context.weights_dtype, "f32", "prepack-weights");
    require_pass("--kv-dtype", choice.context.kv_dtype, "f32", "kv-dtype");
    return choice;
}

}  // namespace gpt2c::tools
