// tests/e2e/e2e_codegen_partitions_test.cpp - a library optimized in parallel partitions is the library optimized whole.
#include "backend/compiler.h"
#include "backend/target.h"
#include "frontend/config.h"
#include "frontend/graph_builder.h"
#include "passes/pass_manager.h"
#include "runtime/model.h"
#include "tests/e2e/e2e_support.h"
#include "tests/test_strings.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <fstream>
#include <sstream>

using namespace gpt2c;
using gpt2c::testing::count_occurrences;
using namespace gpt2c::e2e;

namespace {

std::string compile_in_partitions(const std::string& dir, const std::string& weights_dtype, int partitions,
                                  const std::string& emit_llvm = "") {
    ir::Module module = build_graph(load_config(dir), "partitions");
    passes::PassContext context;
    context.weights_dtype = weights_dtype;
    context.target = backend::pass_target_info(backend::resolve_target("", "", ""));
    passes::run_pipeline(module, passes::pipeline_for_level(3), context, {});
    backend::CompileOptions options;
    options.output = (scratch_dir() / ("partitions-" + weights_dtype + "-" + std::to_string(partitions) +
                                       (emit_llvm.empty() ? "" : "-ll") + ".so"))
                         .string();
    options.codegen_partitions = partitions;
    options.emit_llvm = emit_llvm;
    return backend::compile_library(module, options).library;
}

}  // namespace

// Partitions only decide which thread optimizes which function: every function
// gets the same kernels inlined and the same passes, so the logits are the same
// bit for bit; the generated functions the partitions share stay hidden (the
// library exports only its query); --emit-llvm links the partitions back into
// one module.
TEST_CASE("a library compiled in parallel partitions computes what one compiled whole computes", "[e2e]") {
    const std::string dir = kDataDir + "/models/m8_long_context_f32";
    const Reference ref = load_reference(dir);
    for (const char* dtype : {"f32", "q4"}) {
        INFO(dtype);
        auto whole = Model::load(compile_in_partitions(dir, dtype, 1), dir, 2);
        const std::vector<float> expected = prefill_logits(whole, ref.tokens);
        for (int partitions : {2, 4}) {
            INFO(partitions << " partitions");
            const std::string lib = compile_in_partitions(dir, dtype, partitions);
            auto model = Model::load(lib, dir, 2);
            CHECK(prefill_logits(model, ref.tokens) == expected);
            CHECK(decode_logits(model, ref.tokens) == expected);
            void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
            REQUIRE(handle != nullptr);
            CHECK(dlsym(handle, "gpt2c_library_query") != nullptr);
            CHECK(dlsym(handle, "gpt2c_forward") == nullptr);
            CHECK(dlsym(handle, "gpt2c_prepare") == nullptr);
            dlclose(handle);
        }
    }
    const std::string ll = (scratch_dir() / "partitions.ll").string();
    auto model = Model::load(compile_in_partitions(dir, "f32", 4, ll), dir, 2);
    CHECK(prefill_logits(model, ref.tokens) == prefill_logits(Model::load(compile_in_partitions(dir, "f32", 1), dir, 2), ref.tokens));
    std::ifstream in(ll);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(count_occurrences(text.str(), "define ptr @gpt2c_library_query(") == 1);
    CHECK(count_occurrences(text.str(), "@gpt2c_forward(ptr") == 1);
    CHECK(count_occurrences(text.str(), "@gpt2c_prepare(ptr") == 1);
}
