// tests/unit/safetensors_test.cpp - SafetensorsFile validation and dtype conversion.
#include "runtime/safetensors.h"

#include "support/error.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

using namespace gpt2c;
using Catch::Contains;
using Catch::StartsWith;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() /
                ("gpt2c-st-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    std::string write(const std::string& name, const std::string& bytes) const {
        std::string p = file(name);
        std::ofstream out(p, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        REQUIRE(out.good());
        return p;
    }

private:
    fs::path path_;
};

std::string le64(uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return s;
}

// The bytes of a safetensors file: u64 header length, header, data section.
std::string st_bytes(const std::string& header, const std::string& data) {
    return le64(header.size()) + header + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
    std::string s;
    for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return s;
}

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

// Reference F16 decoding through ldexp, independent of the bit tricks.
uint32_t reference_f16_bits(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h >> 15) << 31;
    int exponent = (h >> 10) & 31;
    int mantissa = h & 1023;
    if (exponent == 31) return sign | 0x7f800000u | (static_cast<uint32_t>(mantissa) << 13);
    if (exponent == 0) return sign | bits(std::ldexp(static_cast<float>(mantissa), -24));
    return sign | bits(std::ldexp(static_cast<float>(1024 + mantissa), exponent - 25));
}

const std::vector<uint16_t> kF16Values = {
    0x0001,  // smallest subnormal, 2^-24
    0x03ff,  // largest subnormal
    0x0400,  // smallest normal, 2^-14
    0x3c00,  // 1.0
    0xc000,  // -2.0
    0x7bff,  // 65504, largest finite
    0x7c00,  // +inf
    0xfc00,  // -inf
    0x7e00,  // quiet NaN
    0x8000,  // -0.0
};

// A good file: F32, F16, BF16, I64, a scalar and zero-element tensors.
// The header is padded to an odd length so the data section is unaligned.
std::string good_file(const TempDir& dir) {
    std::string data;
    data += raw<float>({1.0f, -2.5f, 3.25f, 1e30f});                     // f32   [0, 16)
    for (uint16_t h : kF16Values) data += raw<uint16_t>({h});            // f16   [16, 36)
    data += raw<uint16_t>({0x3f80, 0xc040, 0x7f80});                     // bf16  [36, 42)
    data += raw<int64_t>({7, -8, 1LL << 40});                            // i64   [42, 66)
    data += raw<float>({42.0f});                                         // scalar [66, 70)
    std::string header = R"({"__metadata__": {"format": "pt", "note": "test"},
        "f32": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "f16": {"dtype": "F16", "shape": [2, 5], "data_offsets": [16, 36]},
        "bf16": {"dtype": "BF16", "shape": [3], "data_offsets": [36, 42]},
        "i64": {"dtype": "I64", "shape": [3, 1], "data_offsets": [42, 66]},
        "scalar": {"dtype": "F32", "shape": [], "data_offsets": [66, 70]},
        "empty": {"dtype": "F32", "shape": [0, 4], "data_offsets": [4, 4]},
        "empty_end": {"dtype": "F16", "shape": [3, 0], "data_offsets": [70, 70]}})";
    if ((header.size() + 8) % 2 == 0) header += ' ';
    return dir.write("good.safetensors", st_bytes(header, data));
}

// Writes a file with `header` and a 16-byte data section (unless given).
std::string bad_file(const TempDir& dir, const std::string& header,
                     const std::string& data = std::string(16, '\0')) {
    return dir.write("bad.safetensors", st_bytes(header, data));
}

std::string f32_entry(const std::string& name, const std::string& shape,
                      const std::string& offsets) {
    return "\"" + name + "\": {\"dtype\": \"F32\", \"shape\": " + shape +
           ", \"data_offsets\": " + offsets + "}";
}

// A JSON object of the given "name": {...} entries.
std::string object(std::initializer_list<std::string> entries) {
    std::string json = "{";
    for (const std::string& entry : entries) {
        if (json.size() > 1) json += ", ";
        json += entry;
    }
    return json + "}";
}

}  // namespace

TEST_CASE("dtype names and sizes", "[safetensors]") {
    CHECK(dtype_name(DType::BF16) == "BF16");
    CHECK(dtype_name(DType::F8_E4M3) == "F8_E4M3");
    CHECK(dtype_size(DType::F16) == 2);
    CHECK(dtype_size(DType::F32) == 4);
    CHECK(dtype_size(DType::I64) == 8);
    CHECK(dtype_size(DType::BOOL) == 1);
    CHECK(dtype_size(DType::F8_E5M2) == 1);
}

TEST_CASE("TensorView::numel", "[safetensors]") {
    TensorView scalar{"s", DType::F32, {}, nullptr, 4};
    CHECK(scalar.numel() == 1);
    TensorView matrix{"m", DType::F32, {3, 4, 5}, nullptr, 240};
    CHECK(matrix.numel() == 60);
    TensorView empty{"e", DType::F32, {3, 0}, nullptr, 0};
    CHECK(empty.numel() == 0);
}

TEST_CASE("a good file opens with the right tensors", "[safetensors]") {
    TempDir dir;
    std::string path = good_file(dir);
    SafetensorsFile file = SafetensorsFile::open(path);
    CHECK(file.path() == path);

    const auto& tensors = file.tensors();
    REQUIRE(tensors.size() == 7);  // __metadata__ is not a tensor
    std::vector<std::string> names;
    for (const auto& t : tensors) names.push_back(t.name);
    CHECK(names == std::vector<std::string>{"f32", "f16", "bf16", "i64", "scalar", "empty",
                                            "empty_end"});
    CHECK(file.find("__metadata__") == nullptr);
    CHECK(file.find("missing") == nullptr);

    const TensorView* f32 = file.find("f32");
    const TensorView* f16 = file.find("f16");
    const TensorView* bf16 = file.find("bf16");
    const TensorView* i64 = file.find("i64");
    REQUIRE(f32);
    REQUIRE(f16);
    REQUIRE(bf16);
    REQUIRE(i64);
    CHECK(f32->dtype == DType::F32);
    CHECK(f32->shape == std::vector<int64_t>{2, 2});
    CHECK(f32->nbytes == 16);
    CHECK(f16->dtype == DType::F16);
    CHECK(f16->shape == std::vector<int64_t>{2, 5});
    CHECK(f16->numel() == 10);
    CHECK(bf16->shape == std::vector<int64_t>{3});
    CHECK(i64->dtype == DType::I64);
    CHECK(i64->nbytes == 24);

    // Views point into the data section at their offsets.
    CHECK(f16->data - f32->data == 16);
    CHECK(bf16->data - f32->data == 36);
    CHECK(i64->data - f32->data == 42);
    CHECK(reinterpret_cast<uintptr_t>(f32->data) % 2 == 1);  // deliberately unaligned
    int64_t i64_values[3];
    std::memcpy(i64_values, i64->data, sizeof i64_values);
    CHECK(i64_values[0] == 7);
    CHECK(i64_values[1] == -8);
    CHECK(i64_values[2] == (1LL << 40));

    const TensorView* empty = file.find("empty");
    REQUIRE(empty);
    CHECK(empty->numel() == 0);
    CHECK(empty->nbytes == 0);
    const TensorView* scalar = file.find("scalar");
    REQUIRE(scalar);
    CHECK(scalar->shape.empty());
    CHECK(scalar->numel() == 1);
}

TEST_CASE("convert_to_f32 handles F32, F16 and BF16", "[safetensors]") {
    TempDir dir;
    std::string path = good_file(dir);
    SafetensorsFile file = SafetensorsFile::open(path);

    SECTION("F32 is copied from unaligned data") {
        float out[4];
        convert_to_f32(*file.find("f32"), path, out);
        CHECK(out[0] == 1.0f);
        CHECK(out[1] == -2.5f);
        CHECK(out[2] == 3.25f);
        CHECK(out[3] == 1e30f);
        float scalar = 0;
        convert_to_f32(*file.find("scalar"), path, &scalar);
        CHECK(scalar == 42.0f);
    }

    SECTION("F16 special values are exact") {
        float out[10];
        convert_to_f32(*file.find("f16"), path, out);
        CHECK(out[0] == std::ldexp(1.0f, -24));
        CHECK(out[1] == 1023 * std::ldexp(1.0f, -24));
        CHECK(out[2] == std::ldexp(1.0f, -14));
        CHECK(out[3] == 1.0f);
        CHECK(out[4] == -2.0f);
        CHECK(out[5] == 65504.0f);
        CHECK(out[6] == std::numeric_limits<float>::infinity());
        CHECK(out[7] == -std::numeric_limits<float>::infinity());
        CHECK(std::isnan(out[8]));
        CHECK(out[9] == 0.0f);
        CHECK(std::signbit(out[9]));
        for (size_t i = 0; i < kF16Values.size(); ++i) {
            CHECK(bits(out[i]) == reference_f16_bits(kF16Values[i]));
        }
    }

    SECTION("BF16 is the high half of F32") {
        float out[3];
        convert_to_f32(*file.find("bf16"), path, out);
        CHECK(out[0] == 1.0f);
        CHECK(out[1] == -3.0f);
        CHECK(out[2] == std::numeric_limits<float>::infinity());
    }

    SECTION("zero-element tensors convert to nothing") {
        float sentinel = 123.0f;
        convert_to_f32(*file.find("empty"), path, &sentinel);
        convert_to_f32(*file.find("empty_end"), path, &sentinel);
        CHECK(sentinel == 123.0f);
    }

    SECTION("other dtypes are rejected") {
        float out[3];
        REQUIRE_THROWS_AS(convert_to_f32(*file.find("i64"), path, out), Error);
        REQUIRE_THROWS_WITH(convert_to_f32(*file.find("i64"), path, out),
                            StartsWith(path) && Contains("'i64'") && Contains("I64") &&
                                Contains("F32, F16 and BF16"));
    }
}

TEST_CASE("F16 conversion matches a reference for all 65536 values", "[safetensors]") {
    // Offset by one byte so the input is unaligned too.
    std::vector<std::byte> buffer(1 + 2 * 65536);
    for (uint32_t h = 0; h < 65536; ++h) {
        buffer[1 + 2 * h] = static_cast<std::byte>(h & 0xff);
        buffer[2 + 2 * h] = static_cast<std::byte>(h >> 8);
    }
    TensorView view{"all", DType::F16, {65536}, buffer.data() + 1, 2 * 65536};
    std::vector<float> out(65536);
    convert_to_f32(view, "memory", out.data());
    int mismatches = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        if (bits(out[h]) != reference_f16_bits(static_cast<uint16_t>(h))) ++mismatches;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("unreadable and truncated files are errors", "[safetensors]") {
    TempDir dir;

    SECTION("missing file") {
        std::string path = dir.file("nope.safetensors");
        REQUIRE_THROWS_AS(SafetensorsFile::open(path), Error);
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("cannot open") &&
                                Contains("No such file"));
    }
    SECTION("a directory") {
        std::string path = dir.file("");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("not a regular file"));
    }
    SECTION("zero bytes") {
        std::string path = dir.write("empty.safetensors", "");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("empty (0 bytes)") &&
                                Contains("expected an 8-byte header length"));
    }
    SECTION("shorter than 8 bytes") {
        std::string path = dir.write("short.safetensors", "12345");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("file is 5 bytes") &&
                                Contains("expected at least 8"));
    }
    SECTION("header length larger than the file") {
        std::string path = dir.write("long.safetensors", le64(1000) + "{}");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("header length 1000") &&
                                Contains("only 2 bytes follow") && Contains("file size 10"));
    }
    SECTION("header length of 2^64-1") {
        std::string path = dir.write("huge.safetensors", le64(~0ULL) + "{}");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("18446744073709551615") &&
                                Contains("larger than the file"));
    }
    SECTION("absurd header length inside a large (sparse) file") {
        std::string path = dir.write("absurd.safetensors", le64(150'000'000) + "{}");
        fs::resize_file(path, 150'000'008);
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("header length 150000000 is absurd") &&
                                Contains("at most 100000000"));
    }
}

TEST_CASE("malformed headers are errors", "[safetensors]") {
    TempDir dir;

    SECTION("not JSON") {
        std::string path = bad_file(dir, R"({"w": {"dtype": )");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("not valid JSON"));
    }
    SECTION("invalid UTF-8 in a name") {
        std::string path = bad_file(dir, "{\"\xff\": {}}");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("not valid JSON"));
    }
    SECTION("trailing garbage after the object") {
        std::string path = bad_file(dir, std::string("{}\0\0", 4));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("not valid JSON") &&
                                Contains("NUL byte at header offset 2"));
        std::string path2 = bad_file(dir, "{} []");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path2),
                            StartsWith(path2) && Contains("not valid JSON"));
    }
    SECTION("not an object") {
        std::string path = bad_file(dir, "[1, 2]");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("JSON array") &&
                                Contains("expected an object"));
    }
    SECTION("entry not an object") {
        std::string path = bad_file(dir, R"({"w": 5})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("entry is a JSON number") &&
                                Contains("expected an object"));
    }
    SECTION("missing dtype") {
        std::string path = bad_file(dir, R"({"w": {"shape": [4], "data_offsets": [0, 16]}})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("missing key 'dtype'"));
    }
    SECTION("missing shape") {
        std::string path = bad_file(dir, R"({"w": {"dtype": "F32", "data_offsets": [0, 16]}})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("missing key 'shape'"));
    }
    SECTION("missing data_offsets") {
        std::string path = bad_file(dir, R"({"w": {"dtype": "F32", "shape": [4]}})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("missing key 'data_offsets'"));
    }
    SECTION("dtype not a string") {
        std::string path =
            bad_file(dir, R"({"w": {"dtype": 5, "shape": [4], "data_offsets": [0, 16]}})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("'dtype' is a JSON number, expected a string"));
    }
    SECTION("shape not an array") {
        std::string path = bad_file(dir, object({f32_entry("w", "\"4\"", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("'shape' is a JSON string") &&
                                Contains("expected an array"));
    }
    SECTION("shape element not an integer") {
        std::string path = bad_file(dir, object({f32_entry("w", "[2, \"2\"]", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("shape[1] is a JSON string") &&
                                Contains("expected a non-negative integer"));
    }
    SECTION("shape element a float") {
        std::string path = bad_file(dir, object({f32_entry("w", "[4.0]", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("shape[0] is a JSON number") &&
                                Contains("expected a non-negative integer"));
    }
    SECTION("metadata not an object") {
        std::string path = bad_file(dir, R"({"__metadata__": ["a"]})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("'__metadata__' is a JSON array") &&
                                Contains("expected an object of strings"));
    }
    SECTION("metadata value not a string") {
        std::string path = bad_file(dir, R"({"__metadata__": {"format": "pt", "step": 3}})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("'__metadata__' key 'step'") &&
                                Contains("JSON number, expected a string"));
    }
    SECTION("unknown dtype") {
        std::string path =
            bad_file(dir, R"({"w": {"dtype": "F33", "shape": [4], "data_offsets": [0, 16]}})");
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("unknown dtype 'F33'") &&
                                Contains("expected one of BOOL, U8,") &&
                                Contains("F32, U64, I64, F64, F8_E4M3, F8_E5M2"));
    }
    SECTION("duplicate tensor names") {
        std::string path = bad_file(dir, object({f32_entry("w", "[2]", "[0, 8]"),
                                                 f32_entry("v", "[1]", "[8, 12]"),
                                                 f32_entry("w", "[2]", "[8, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w' appears more than once") &&
                                Contains("expected unique"));
    }
}

TEST_CASE("shapes and offsets inconsistent with the data are errors", "[safetensors]") {
    TempDir dir;

    SECTION("negative dimension") {
        std::string path = bad_file(dir, object({f32_entry("w", "[-2, 2]", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("shape[0] is -2") &&
                                Contains("expected a non-negative dimension"));
    }
    SECTION("element count overflow") {
        std::string path = bad_file(
            dir, object({f32_entry("w", "[4294967296, 4294967296]", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("element count of shape [4294967296, 4294967296]") &&
                                Contains("overflows int64"));
    }
    SECTION("dimension beyond int64") {
        std::string path =
            bad_file(dir, object({f32_entry("w", "[18446744073709551615]", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("does not fit in int64"));
    }
    SECTION("byte size overflow") {
        std::string path =
            bad_file(dir, object({f32_entry("w", "[4611686018427387904]", "[0, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("byte size") && Contains("overflows"));
    }
    SECTION("data_offsets not an array of two") {
        std::string path = bad_file(dir, object({f32_entry("w", "[4]", "[16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("'data_offsets' is [16]") &&
                                Contains("expected an array of two non-negative integers"));
    }
    SECTION("data_offsets negative") {
        std::string path = bad_file(dir, object({f32_entry("w", "[4]", "[-4, 12]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("[-4,12]") && Contains("non-negative integers"));
    }
    SECTION("data_offsets not integers") {
        std::string path = bad_file(dir, object({f32_entry("w", "[4]", "[0, \"16\"]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("non-negative integers"));
    }
    SECTION("begin after end") {
        std::string path = bad_file(dir, object({f32_entry("w", "[0]", "[8, 4]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("[8, 4] have begin > end") &&
                                Contains("expected begin <= end"));
    }
    SECTION("end beyond the data section") {
        std::string path = bad_file(dir, object({f32_entry("w", "[5]", "[0, 20]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("end 20 is beyond the data section of 16 bytes"));
    }
    SECTION("byte size differs from the range") {
        std::string path = bad_file(dir, object({f32_entry("w", "[2]", "[0, 12]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("tensor 'w'") &&
                                Contains("shape [2] need 8 bytes") &&
                                Contains("[0, 12] span 12 bytes"));
    }
    SECTION("overlapping neighbours") {
        std::string path = bad_file(dir, object({f32_entry("a", "[4]", "[0, 16]"),
                                                 f32_entry("b", "[2]", "[8, 16]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("'a' [0, 16)") &&
                                Contains("'b' [8, 16)") && Contains("overlap"));
    }
    SECTION("overlap among three ranges listed out of order") {
        std::string path = bad_file(dir, object({f32_entry("c", "[1]", "[12, 16]"),
                                                 f32_entry("a", "[3]", "[0, 12]"),
                                                 f32_entry("b", "[1]", "[4, 8]")}));
        REQUIRE_THROWS_WITH(SafetensorsFile::open(path),
                            StartsWith(path) && Contains("'a' [0, 12)") &&
                                Contains("'b' [4, 8)") && Contains("overlap"));
    }
    SECTION("zero-element tensors inside another range do not overlap") {
        std::string path = bad_file(dir, object({f32_entry("a", "[4]", "[0, 16]"),
                                                 f32_entry("z", "[0]", "[8, 8]"),
                                                 f32_entry("y", "[2, 0, 3]", "[16, 16]")}));
        SafetensorsFile file = SafetensorsFile::open(path);
        CHECK(file.tensors().size() == 3);
        CHECK(file.find("y")->numel() == 0);
    }
    SECTION("an empty header object is a file with no tensors") {
        std::string path = bad_file(dir, "{}  ", "");
        SafetensorsFile file = SafetensorsFile::open(path);
        CHECK(file.tensors().empty());
    }
}

TEST_CASE("SafetensorsFile moves transfer the mapping", "[safetensors]") {
    TempDir dir;
    std::string path = good_file(dir);

    SafetensorsFile a = SafetensorsFile::open(path);
    const std::byte* data = a.find("f32")->data;

    SafetensorsFile b(std::move(a));
    CHECK(a.tensors().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
    CHECK(a.find("f32") == nullptr);
    REQUIRE(b.find("f32"));
    CHECK(b.find("f32")->data == data);
    CHECK(b.path() == path);

    std::string other_header = R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
    std::string other_path =
        dir.write("other.safetensors", st_bytes(other_header, raw<float>({5.0f})));
    {
        SafetensorsFile c = SafetensorsFile::open(other_path);
        c = std::move(b);  // c's old mapping is released, b's taken over
        CHECK(b.tensors().empty());  // NOLINT(bugprone-use-after-move)
        CHECK(c.find("x") == nullptr);
        REQUIRE(c.find("f32"));
        CHECK(c.find("f32")->data == data);
        SafetensorsFile d = SafetensorsFile::open(other_path);
        d = std::move(c);
        // c is gone from scope after this block; d still reads the data.
        float out[4];
        convert_to_f32(*d.find("f32"), d.path(), out);
        CHECK(out[1] == -2.5f);
    }
    // Destroying moved-from files must not unmap anything.
    SafetensorsFile e = SafetensorsFile::open(path);
    SafetensorsFile f(std::move(e));
    float out[4];
    convert_to_f32(*f.find("f32"), path, out);
    CHECK(out[3] == 1e30f);
}

TEST_CASE("the tiny-shakespeare checkpoint opens and converts", "[safetensors]") {
    const std::string path =
        GPT2C_TEST_DATA_DIR "/../../examples/tiny-shakespeare/model.safetensors";
    SafetensorsFile file = SafetensorsFile::open(path);
    CHECK(file.tensors().size() > 10);

    const TensorView* wte = file.find("wte.weight");
    REQUIRE(wte);
    CHECK(wte->dtype == DType::F16);
    CHECK(wte->shape == std::vector<int64_t>{50257, 128});
    CHECK(wte->nbytes == 50257u * 128u * 2u);

    const TensorView* wpe = file.find("wpe.weight");
    REQUIRE(wpe);
    CHECK(wpe->shape == std::vector<int64_t>{256, 128});

    const TensorView* c_attn = file.find("h.0.attn.c_attn.weight");
    REQUIRE(c_attn);
    CHECK(c_attn->shape == std::vector<int64_t>{128, 384});
    const TensorView* ln = file.find("h.0.ln_1.weight");
    REQUIRE(ln);
    CHECK(ln->shape == std::vector<int64_t>{128});

    for (const TensorView* t : {wte, c_attn, ln}) {
        std::vector<float> out(static_cast<size_t>(t->numel()));
        convert_to_f32(*t, path, out.data());
        size_t non_finite = 0, non_zero = 0;
        for (float v : out) {
            if (!std::isfinite(v)) ++non_finite;
            if (v != 0.0f) ++non_zero;
        }
        INFO(t->name);
        CHECK(non_finite == 0);
        CHECK(non_zero > 0);
    }
}
