// tests/e2e/e2e_aarch64_test.cpp - libraries cross-compiled for AArch64, run under qemu.
//
// Every reference model is compiled here for aarch64-linux-gnu at -O0 and -O3 and
// run by the AArch64 build of gpt2c-run (scripts/build-aarch64.sh) under
// qemu-aarch64-static: float32 against the float64 PyTorch reference with the x86
// tolerance, greedy ids equal to the reference's, decode equal to prefill; bf16,
// int8 and q4 storage against the x86 library of the same storage (both multiply in
// float32, so only the order of additions may differ); int8 and q4 with DotProd
// (sdot) against x86's integer dot products; and the example model's reference
// continuations.
#include "support/npy.h"
#include "tests/e2e/e2e_support.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

extern char** environ;

using namespace gpt2c;
using namespace gpt2c::e2e;

namespace {

const std::string kTriple = "aarch64-linux-gnu";

std::string join_ids(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s;
}

// Runs the AArch64 gpt2c-run under qemu with `args`; returns its stdout. Fails the
// test, with its stderr, when it exits non-zero.
std::string run_aarch64(std::vector<std::string> args) {
    static int counter = 0;
    const std::string out = (scratch_dir() / ("qemu-" + std::to_string(++counter) + ".out")).string();
    const std::string err = out + ".err";
    args.insert(args.begin(), {GPT2C_QEMU_AARCH64, GPT2C_AARCH64_RUN});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    auto slurp = [](const std::string& path) {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    };
    INFO("gpt2c-run " << args[2] << " under qemu: " << slurp(err));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return slurp(out);
}

std::vector<float> aarch64_logits(const std::string& lib, const std::string& model, const std::vector<int32_t>& tokens,
                                  bool decode) {
    const std::string npy = (scratch_dir() / "aarch64-logits.npy").string();
    std::vector<std::string> args = {"logits", "--lib", lib, "--model", model, "--tokens", join_ids(tokens),
                                     "--out", npy, "--threads", "2"};
    if (decode) args.push_back("--decode");
    run_aarch64(args);
    return read_npy_f32(npy).data;
}

std::vector<int32_t> aarch64_greedy(const std::string& lib, const std::string& model, const std::vector<int32_t>& prompt,
                                    size_t n) {
    std::stringstream out(run_aarch64({"generate", "--lib", lib, "--model", model, "--tokens", join_ids(prompt), "-n",
                                       std::to_string(n), "--greedy", "--threads", "2"}));
    std::vector<int32_t> ids;
    for (int32_t id; out >> id;) ids.push_back(id);
    return ids;
}

}  // namespace

TEST_CASE("aarch64 float32 libraries match PyTorch under emulation at -O0 and -O3", "[aarch64]") {
    auto models = reference_models();
    REQUIRE(models.size() >= 10);
    for (const std::string& dir : models) {
        const Reference ref = load_reference(dir);
        for (int level : {0, 3}) {
            INFO(dir << " for aarch64 at -O" << level);
            const std::string lib = compile(dir, level, "f32", "", "", kTriple);
            std::vector<float> prefill = aarch64_logits(lib, dir, ref.tokens, false);
            std::vector<float> decode = aarch64_logits(lib, dir, ref.tokens, true);
            CHECK(max_abs_diff(prefill, ref.logits) / ref.scale < ref.tolerance);
            CHECK(max_abs_diff(decode, ref.logits) / ref.scale < ref.tolerance);
            if (level == 3) CHECK(prefill == decode);
            CHECK(aarch64_greedy(lib, dir, ref.greedy_prompt, ref.greedy_ids.size()) == ref.greedy_ids);
        }
    }
}

TEST_CASE("aarch64 bf16, int8 and q4 libraries compute what x86 computes from the same weights", "[aarch64]") {
    // The x86 libraries multiply in float32 like AArch64's (no bf16 or int8 dot products).
    for (const std::string& dir : reference_models()) {
        const Reference ref = load_reference(dir);
        const std::vector<int32_t>& tokens = ref.tokens;
        const std::vector<int32_t>& prompt = ref.greedy_prompt;
        const size_t n = ref.greedy_ids.size();
        for (const char* dtype : {"bf16", "int8", "q4"}) {
            for (int level : {0, 3}) {
                INFO(dir << " " << dtype << " for aarch64 at -O" << level);
                auto x86 = Model::load(compile_float32_arithmetic(dir, level, dtype), dir, 2);
                std::vector<float> expected = prefill_logits(x86, tokens);
                const std::string lib = compile(dir, level, dtype, "", "", kTriple);
                std::vector<float> prefill = aarch64_logits(lib, dir, tokens, false);
                CHECK(max_abs_diff(prefill, expected) / max_abs(expected) < ref.tolerance);
                if (level == 3) CHECK(aarch64_logits(lib, dir, tokens, true) == prefill);
                CHECK(aarch64_greedy(lib, dir, prompt, n) == greedy(x86, prompt, n));
            }
        }
    }
}

// AArch64 DotProd (sdot) multiplies int8 and q4 projections in integers on the
// same k-quad layouts as x86's vpdpbusd. The int32 sums are exact and each
// output's float32 operations the same, so an AArch64 library differs from the
// host's AVX512_VNNI or AVX-VNNI library only where the float32 code around the
// projections adds in another order, as the float32 path does (ref.tolerance).
// On an x86 host without them (for q4: without AVX2 either) the comparison is against its
// float32 path, within what quantizing the inputs costs on these models: 0.008
// to 0.045 of the largest logit, 0.128 on m9 (large weights, sharp attention),
// so twice that.
TEST_CASE("aarch64 int8 and q4 libraries with dotprod compute what x86's integer dot products compute",
          "[aarch64][dotprod]") {
    for (const std::string& dir : reference_models()) {
        const Reference ref = load_reference(dir);
        for (const std::string dtype : {"int8", "q4"}) {
            const bool x86_dot = dtype == "q4" ? host_q4_dot_bytes("") > 0 : host_has_int8_dot();
            INFO(dir << " " << dtype << " for aarch64 with dotprod");
            const std::string lib = compile(dir, 3, dtype, "+dotprod", "", kTriple);
            CHECK_THAT(read_json(std::filesystem::path(lib).replace_extension(".json").string())["target"]["isa_features"].dump(),
                       Catch::Contains("\"dotprod\""));
            const std::vector<float> prefill = aarch64_logits(lib, dir, ref.tokens, false);
            CHECK(aarch64_logits(lib, dir, ref.tokens, true) == prefill);
            // The float32 multiplies of an AArch64 library without dotprod are not what ran.
            CHECK(aarch64_logits(compile(dir, 3, dtype, "", "", kTriple), dir, ref.tokens, false) != prefill);
            auto x86 = Model::load(x86_dot ? compile(dir, 3, dtype) : compile_float32_arithmetic(dir, 3, dtype), dir, 2);
            const double diff = max_abs_diff(prefill, prefill_logits(x86, ref.tokens)) / ref.scale;
            INFO("max |logit diff| / max |logit| against x86: " << diff);
            CHECK(diff < (x86_dot ? ref.tolerance : 0.26));
            if (x86_dot)
                CHECK(aarch64_greedy(lib, dir, ref.greedy_prompt, ref.greedy_ids.size()) ==
                      greedy(x86, ref.greedy_prompt, ref.greedy_ids.size()));
        }
    }
}

TEST_CASE("aarch64 libraries with bf16 and int8 KV caches compute what x86 computes", "[aarch64]") {
    const std::string kv_dtype = GENERATE(as<std::string>(), "bf16", "int8");
    for (const std::string& dir : reference_models()) {
        INFO(kv_dtype << " KV, " << dir);
        const Reference ref = load_reference(dir);
        auto x86 = Model::load(compile(dir, 3, "f32", "", "", "", kv_dtype), dir, 2);
        const std::vector<float> expected = prefill_logits(x86, ref.tokens);
        const std::string lib = compile(dir, 3, "f32", "", "", kTriple, kv_dtype);
        const std::vector<float> prefill = aarch64_logits(lib, dir, ref.tokens, false);
        CHECK(max_abs_diff(prefill, expected) / max_abs(expected) < ref.tolerance);
        CHECK(aarch64_logits(lib, dir, ref.tokens, true) == prefill);
    }
}

TEST_CASE("the tiny-shakespeare example reproduces its reference continuations on aarch64", "[aarch64]") {
    nlohmann::json ref = read_json(kExampleDir + "/reference_continuations.json");
    const std::string lib = compile(kExampleDir, 3, "f32", "", "", kTriple);
    for (const auto& c : ref) {
        INFO("prompt: " << c["prompt"].get<std::string>());
        auto ids = c["ids"].get<std::vector<int32_t>>();
        ids.resize(c["comparable"].get<size_t>());
        CHECK(aarch64_greedy(lib, kExampleDir, c["prompt_ids"].get<std::vector<int32_t>>(), ids.size()) == ids);
    }
}

// Packing on the target: the AArch64 gpt2c-run writes LIB.weights for an AArch64
// library, and loading it there gives the checkpoint's logits bit for bit.
TEST_CASE("aarch64: packed weights written and loaded on the target", "[aarch64][packed]") {
    const std::string dir = kDataDir + "/models/m1_gelu_new_f32";
    const Reference ref = load_reference(dir);
    // f32 panels, q4 float32-path panels, int8 k-quads (dotprod).
    for (const auto& [dtype, features] : {std::pair{"f32", ""}, {"q4", ""}, {"int8", "+dotprod"}}) {
        INFO(dtype << " " << features);
        const std::filesystem::path lib = scratch_dir() / (std::string("aarch64-packed-") + dtype + features + ".so");
        std::filesystem::copy_file(compile(dir, 3, dtype, features, "", kTriple), lib,
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::path weights = lib;
        weights.replace_extension(".weights");
        std::filesystem::remove(weights);
        const std::vector<float> from_checkpoint = aarch64_logits(lib.string(), dir, ref.tokens, false);
        run_aarch64({"pack-weights", "--lib", lib.string(), "--model", dir, "--threads", "2"});
        REQUIRE(std::filesystem::exists(weights));
        CHECK(aarch64_logits(lib.string(), dir, ref.tokens, false) == from_checkpoint);
        const std::string bench = run_aarch64({"bench", "--lib", lib.string(), "--model", dir, "--prompt-tokens", "4",
                                               "--gen", "1", "--repeats", "1", "--json"});
        CHECK_THAT(bench, Catch::Contains("\"weights_source\":\"packed weights " + weights.string() + "\""));
    }
}
