// tests/e2e/e2e_packed_weights_test.cpp - LIB.weights: packed weights load in place, give
// the same logits bit for bit, and are refused when stale or damaged.
#include "runtime/packed_weights.h"
#include "support/error.h"
#include "tests/e2e/e2e_support.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace gpt2c;
using namespace gpt2c::e2e;
namespace fs = std::filesystem;

namespace {

// A model directory and a library of their own (packing writes beside the library,
// and these tests change the checkpoint), under scratch_dir().
struct PackedCase {
    fs::path dir, model, library, weights;
};

PackedCase make_case(const std::string& name, const std::string& model_name, const std::string& dtype) {
    PackedCase c;
    c.dir = scratch_dir() / ("packed-" + name);
    fs::remove_all(c.dir);
    c.model = c.dir / model_name;  // compile() caches libraries by the model directory's name
    fs::create_directories(c.model);
    for (const char* file : {"config.json", "model.safetensors"})
        fs::copy_file(fs::path(kDataDir) / "models" / model_name / file, c.model / file);
    c.library = c.dir / "lib.so";
    fs::copy_file(compile(c.model.string(), 3, dtype), c.library);
    c.weights = c.dir / "lib.weights";
    return c;
}

void pack(const PackedCase& c) {
    auto model = Model::load(c.library.string(), c.model.string(), 2, WeightsSource::checkpoint);
    write_packed_weights(model->library(), model->checkpoint_path(), model->forward_weights(), c.weights.string(),
                         model->pool());
}

std::string load_error(const PackedCase& c) {
    try {
        Model::load(c.library.string(), c.model.string(), 2);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

void write_byte_at(const fs::path& file, uint64_t offset, char value) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(offset));
    f.put(value);
}

char byte_at(const fs::path& file, uint64_t offset) {
    std::ifstream f(file, std::ios::binary);
    f.seekg(std::streamoff(offset));
    return char(f.get());
}

// Sets a file's modification time back to what it was, so only its bytes differ.
void restore_mtime(const fs::path& file, const struct stat& before) {
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
}

}  // namespace

TEST_CASE("packed weights load in place and give the checkpoint's logits bit for bit", "[e2e][packed]") {
    // m1: float32 tied (raw weights used in place); m3: bf16 untied (raw weights converted).
    for (const auto& [model_name, dtype] : std::vector<std::pair<std::string, std::string>>{
             {"m1_gelu_new_f32", "f32"}, {"m1_gelu_new_f32", "int8"}, {"m1_gelu_new_f32", "bf16"}, {"m1_gelu_new_f32", "q4"},
             {"m3_relu_bf16_untied", "f32"}}) {
        SECTION(model_name + " " + dtype) {
            PackedCase c = make_case(model_name + "-" + dtype, model_name, dtype);
            const Reference ref = load_reference(fs::path(kDataDir) / "models" / model_name);
            auto from_checkpoint = Model::load(c.library.string(), c.model.string(), 2);
            CHECK(from_checkpoint->weights_source().rfind("checkpoint ", 0) == 0);
            pack(c);
            REQUIRE(fs::exists(c.weights));
            for (int threads : {1, 2}) {
                auto packed = Model::load(c.library.string(), c.model.string(), threads);
                CHECK(packed->weights_source() == "packed weights " + c.weights.string());
                CHECK(prefill_logits(packed, ref.tokens) == prefill_logits(from_checkpoint, ref.tokens));
                CHECK(decode_logits(packed, ref.tokens) == decode_logits(from_checkpoint, ref.tokens));
            }
            // A deployment may ship the pack without the checkpoint: there is nothing to compare with.
            fs::remove(c.model / "model.safetensors");
            auto alone = Model::load(c.library.string(), c.model.string(), 2);
            CHECK(alone->weights_source() == "packed weights " + c.weights.string());
            CHECK(prefill_logits(alone, ref.tokens) == prefill_logits(from_checkpoint, ref.tokens));
        }
    }
}

TEST_CASE("a stale pack is noticed and the checkpoint is loaded instead", "[e2e][packed]") {
    PackedCase c = make_case("stale", "m1_gelu_new_f32", "f32");
    const fs::path checkpoint = c.model / "model.safetensors";
    pack(c);
    struct stat packed_from {};
    REQUIRE(::stat(checkpoint.c_str(), &packed_from) == 0);

    SECTION("the checkpoint was modified") {
        struct timespec times[2] = {{0, UTIME_OMIT}, {packed_from.st_mtim.tv_sec + 10, 0}};
        REQUIRE(::utimensat(AT_FDCWD, checkpoint.c_str(), times, 0) == 0);
        auto model = Model::load(c.library.string(), c.model.string(), 2);
        CHECK_THAT(model->weights_source(), Catch::Contains("checkpoint " + checkpoint.string()) &&
                                                Catch::Contains("modified"));
    }
    SECTION("the checkpoint has other bytes at the same size and time") {
        // The first byte of the data section: inside the first sampled page.
        uint64_t header_len = 0;
        {
            std::ifstream f(checkpoint, std::ios::binary);
            f.read(reinterpret_cast<char*>(&header_len), 8);
        }
        write_byte_at(checkpoint, 8 + header_len, char(byte_at(checkpoint, 8 + header_len) ^ 1));
        restore_mtime(checkpoint, packed_from);
        auto model = Model::load(c.library.string(), c.model.string(), 2);
        CHECK_THAT(model->weights_source(), Catch::Contains("other bytes"));
        CHECK(model->weights_source().rfind("checkpoint ", 0) == 0);
    }
    SECTION("the library was rebuilt differently") {
        fs::copy_file(compile(c.model.string(), 2, "f32"), c.library, fs::copy_options::overwrite_existing);
        auto model = Model::load(c.library.string(), c.model.string(), 2);
        CHECK_THAT(model->weights_source(), Catch::Contains("packed by another build"));
        CHECK(model->weights_source().rfind("checkpoint ", 0) == 0);
    }
}

TEST_CASE("a damaged pack is an error naming the file and the damage", "[e2e][packed]") {
    PackedCase c = make_case("damaged", "m1_gelu_new_f32", "f32");
    pack(c);
    const uint64_t size = fs::file_size(c.weights);
    const std::string good = c.dir / "good.weights";
    fs::copy_file(c.weights, good);
    auto restore = [&] { fs::copy_file(good, c.weights, fs::copy_options::overwrite_existing); };

    SECTION("a flipped bit in the data names the tensor") {
        const uint64_t at = size - 100;  // inside the last tensor
        write_byte_at(c.weights, at, char(byte_at(c.weights, at) ^ 0x10));
        const std::string error = load_error(c);
        CHECK_THAT(error, Catch::Contains(c.weights.string()) && Catch::Contains("damaged") &&
                              Catch::Contains("checksum"));
    }
    SECTION("truncated") {
        fs::resize_file(c.weights, size - 4096);
        CHECK_THAT(load_error(c), Catch::Contains("truncated"));
    }
    SECTION("a damaged header") {
        write_byte_at(c.weights, 200, char(byte_at(c.weights, 200) ^ 1));
        CHECK_THAT(load_error(c), Catch::Contains("header is damaged"));
    }
    SECTION("not a pack at all") {
        std::ofstream(c.weights, std::ios::binary | std::ios::trunc) << std::string(8192, 'x');
        CHECK_THAT(load_error(c), Catch::Contains("not a gpt2c packed weights file"));
    }
    SECTION("a directory or a FIFO in its place") {
        fs::remove(c.weights);
        fs::create_directory(c.weights);
        CHECK_THAT(load_error(c), Catch::Contains("not a regular file"));
        fs::remove(c.weights);
        REQUIRE(::mkfifo(c.weights.c_str(), 0644) == 0);
        CHECK_THAT(load_error(c), Catch::Contains("not a regular file"));  // and does not block
        fs::remove(c.weights);
    }
    SECTION("empty") {
        std::ofstream(c.weights, std::ios::binary | std::ios::trunc);
        CHECK_THAT(load_error(c), Catch::Contains("too short"));
    }
    restore();
    CHECK(Model::load(c.library.string(), c.model.string(), 2)->weights_source().rfind("packed weights", 0) == 0);
}
