// tests/unit/c_api_test.cpp - the C API's argument validation and error reporting (no compiled model needed).
#include <gpt2c/runtime.h>
#include <gpt2c/runtime.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <thread>

using Catch::Matchers::Contains;

namespace {

const std::string kModelDir = GPT2C_TEST_DATA_DIR "/../../examples/tiny-shakespeare";

std::string last_error() { return gpt2c_last_error(); }

}  // namespace

TEST_CASE("c_api: NULL arguments are INVALID_ARGUMENT with a message naming the argument", "[c_api]") {
    gpt2c_model* model = reinterpret_cast<gpt2c_model*>(0x1);  // must be reset to NULL on failure

    CHECK(gpt2c_model_load(nullptr, kModelDir.c_str(), 1, &model) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("gpt2c_model_load") && Contains("library_path"));
    CHECK(model == nullptr);

    CHECK(gpt2c_model_load("x.so", nullptr, 1, &model) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("model_dir"));

    CHECK(gpt2c_model_load("x.so", kModelDir.c_str(), 1, nullptr) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("out"));

    int32_t* ids = nullptr;
    size_t count = 7;
    CHECK(gpt2c_tokenize(nullptr, "hi", 2, &ids, &count) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("gpt2c_tokenize") && Contains("model"));
    CHECK(ids == nullptr);
    CHECK(count == 0);

    char* text = nullptr;
    size_t length = 0;
    const int32_t one = 1;
    CHECK(gpt2c_detokenize(nullptr, &one, 1, &text, &length) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("gpt2c_detokenize") && Contains("model"));
    CHECK(text == nullptr);

    gpt2c_generation_stats stats{};
    stats.generated_tokens = 99;
    CHECK(gpt2c_generate(nullptr, "ROMEO:", 4, nullptr, nullptr, nullptr, &stats) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("gpt2c_generate") && Contains("model"));
    CHECK(stats.generated_tokens == 0);

    CHECK(gpt2c_model_vocab_size(nullptr) == 0);
    CHECK_THAT(last_error(), Contains("gpt2c_model_vocab_size"));
    CHECK(gpt2c_model_context_length(nullptr) == 0);
    CHECK_THAT(last_error(), Contains("gpt2c_model_context_length"));

    gpt2c_sampling_defaults(nullptr, nullptr);  // no crash
    CHECK_THAT(last_error(), Contains("sampling"));

    // Freeing NULL is a no-op.
    gpt2c_model_free(nullptr);
    gpt2c_free(nullptr);
}

TEST_CASE("c_api: context calls with NULL arguments are INVALID_ARGUMENT", "[c_api]") {
    gpt2c_context* context = reinterpret_cast<gpt2c_context*>(0x1);  // must be reset to NULL on failure
    CHECK(gpt2c_context_create(nullptr, 2, 0, &context) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("gpt2c_context_create") && Contains("model"));
    gpt2c_batch_row row{1, 0, 0, 1};
    float logits[4];
    CHECK(gpt2c_context_step(nullptr, &row, 1, logits) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(last_error(), Contains("gpt2c_context_step") && Contains("context"));
    CHECK(gpt2c_context_length(nullptr, 0) == -1);
    CHECK(gpt2c_context_clear(nullptr, 0) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK(gpt2c_context_truncate(nullptr, 0, 0) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK(gpt2c_context_copy_prefix(nullptr, 0, 1, 0) == GPT2C_ERROR_INVALID_ARGUMENT);
    gpt2c_context_free(nullptr);  // like free(NULL)
}

TEST_CASE("c_api: sampling defaults without a model", "[c_api]") {
    gpt2c_sampling sampling{};
    sampling.top_k = 5;
    gpt2c_sampling_defaults(nullptr, &sampling);
    CHECK(sampling.greedy == 0);
    CHECK(sampling.temperature == 1.0f);
    CHECK(sampling.top_k == 0);
    CHECK(sampling.top_p == 1.0f);
    CHECK(sampling.repetition_penalty == 1.0f);
    CHECK(sampling.seed == 0);
}

TEST_CASE("c_api: a missing library is INPUT, and the message names its path", "[c_api]") {
    const std::string path = "/nonexistent/gpt2c-c-api-test/model.so";
    gpt2c_model* model = nullptr;
    CHECK(gpt2c_model_load(path.c_str(), kModelDir.c_str(), 1, &model) == GPT2C_ERROR_INPUT);
    CHECK_THAT(last_error(), Contains(path));
    CHECK(model == nullptr);
}

TEST_CASE("c_api: a file that is not a library is INPUT", "[c_api]") {
    const std::string path = kModelDir + "/config.json";
    gpt2c_model* model = nullptr;
    CHECK(gpt2c_model_load(path.c_str(), kModelDir.c_str(), 1, &model) == GPT2C_ERROR_INPUT);
    CHECK_THAT(last_error(), Contains(path));
    CHECK(model == nullptr);
}

TEST_CASE("c_api: gpt2c_last_error is per thread", "[c_api]") {
    gpt2c_model* model = nullptr;
    REQUIRE(gpt2c_model_load(nullptr, "dir", 1, &model) == GPT2C_ERROR_INVALID_ARGUMENT);
    const std::string main_message = last_error();
    REQUIRE_THAT(main_message, Contains("library_path"));

    std::string before, after;
    gpt2c_status status = GPT2C_OK;
    std::thread worker([&] {
        before = gpt2c_last_error();  // a fresh thread has no error
        status = gpt2c_tokenize(nullptr, "x", 1, nullptr, nullptr);
        after = gpt2c_last_error();
    });
    worker.join();
    CHECK(before.empty());
    CHECK(status == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(after, Contains("gpt2c_tokenize"));
    CHECK(last_error() == main_message);  // the other thread's failure did not touch this thread's message
}

TEST_CASE("c_api: the C++ wrapper throws api::Error carrying the status", "[c_api]") {
    const std::string path = "/nonexistent/gpt2c-c-api-test/wrapper.so";
    try {
        gpt2c::api::Model::load(path, kModelDir, 1);
        FAIL("load did not throw");
    } catch (const gpt2c::api::Error& e) {
        CHECK(e.status() == GPT2C_ERROR_INPUT);
        CHECK_THAT(std::string(e.what()), Contains(path));
    }
    gpt2c::api::Model empty(nullptr);
    CHECK_FALSE(empty);
    try {
        empty.tokenize("hello");
        FAIL("tokenize did not throw");
    } catch (const gpt2c::api::Error& e) {
        CHECK(e.status() == GPT2C_ERROR_INVALID_ARGUMENT);
        CHECK_THAT(std::string(e.what()), Contains("model"));
    }
    const gpt2c::api::Sampling defaults = empty.sampling_defaults();
    CHECK(defaults.temperature == 1.0f);
}
