// tests/unit/npy_test.cpp - .npy writing and reading.
#include "support/npy.h"

#include "support/error.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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
                ("gpt2c-npy-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
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
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename());
        return names;
    }

private:
    fs::path path_;
};

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A hand-built .npy file: version major.0, `dict` padded to a 64-byte boundary.
std::string npy_bytes(int major, std::string dict, const std::string& data) {
    size_t prelude = major == 1 ? 10 : 12;
    while ((prelude + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    for (size_t i = 0; i < prelude - 8; ++i) {
        out += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
    }
    return out + dict + data;
}

template <typename T>
std::string raw(const std::vector<T>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace

TEST_CASE("npy round trip", "[npy]") {
    TempDir dir;
    std::string path = dir.file("a.npy");
    std::vector<float> values = {1.0f, -2.0f, 3.5f, 0.0f, 1e-30f, -7.25f};
    write_npy_f32(path, values.data(), {2, 3});
    NpyArray array = read_npy_f32(path);
    CHECK(array.shape == std::vector<int64_t>{2, 3});
    CHECK(array.data == values);
    // Only the final file remains: the temporary was renamed.
    CHECK(dir.entries() == std::vector<std::string>{"a.npy"});

    SECTION("overwrite an existing file") {
        std::vector<float> other = {9.0f};
        write_npy_f32(path, other.data(), {1});
        NpyArray again = read_npy_f32(path);
        CHECK(again.shape == std::vector<int64_t>{1});
        CHECK(again.data == other);
    }
}

TEST_CASE("npy scalar and empty arrays", "[npy]") {
    TempDir dir;
    float scalar = 4.5f;
    write_npy_f32(dir.file("s.npy"), &scalar, {});
    NpyArray s = read_npy_f32(dir.file("s.npy"));
    CHECK(s.shape.empty());
    CHECK(s.data == std::vector<float>{4.5f});
    CHECK(read_bytes(dir.file("s.npy")).find("'shape': (), }") != std::string::npos);

    write_npy_f32(dir.file("e.npy"), nullptr, {0, 3});
    NpyArray e = read_npy_f32(dir.file("e.npy"));
    CHECK(e.shape == std::vector<int64_t>{0, 3});
    CHECK(e.data.empty());
}

TEST_CASE("npy header bytes are exact", "[npy]") {
    TempDir dir;
    std::string path = dir.file("h.npy");
    std::vector<float> values = {1.0f, 2.0f, 3.0f};
    write_npy_f32(path, values.data(), {3});
    std::string bytes = read_bytes(path);

    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    // numpy's own layout: 10-byte prelude + dict + spaces + '\n' = 128 bytes.
    std::string expected_header = dict + std::string(128 - 10 - dict.size() - 1, ' ') + "\n";
    REQUIRE(bytes.size() == 128 + 12);
    CHECK(bytes.substr(0, 6) == "\x93NUMPY");
    CHECK(bytes[6] == 1);
    CHECK(bytes[7] == 0);
    size_t header_len = static_cast<unsigned char>(bytes[8]) |
                        (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    CHECK(header_len == 118);
    CHECK((10 + header_len) % 64 == 0);
    CHECK(bytes.substr(10, header_len) == expected_header);
    CHECK(bytes.substr(128) == raw(values));

    SECTION("multi-dimensional shapes are spelled like numpy") {
        write_npy_f32(path, values.data(), {1, 3, 1});
        std::string b = read_bytes(path);
        CHECK(b.find("'shape': (1, 3, 1), }") != std::string::npos);
        size_t len = static_cast<unsigned char>(b[8]) |
                     (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
        CHECK((10 + len) % 64 == 0);
        CHECK(b[10 + len - 1] == '\n');
    }
}

TEST_CASE("npy reads '<f8' and version 2.0 files", "[npy]") {
    TempDir dir;
    std::vector<double> values = {1.5, -0.25, 1e300, 3.0};

    SECTION("version 1.0 '<f8'") {
        std::string path = dir.write(
            "d.npy", npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                               raw(values)));
        NpyArray array = read_npy_f32(path);
        CHECK(array.shape == std::vector<int64_t>{2, 2});
        REQUIRE(array.data.size() == 4);
        CHECK(array.data[0] == 1.5f);
        CHECK(array.data[1] == -0.25f);
        CHECK(std::isinf(array.data[2]));  // out of float range
        CHECK(array.data[3] == 3.0f);
    }
    SECTION("version 2.0 '<f4', keys in another order, no trailing comma") {
        std::vector<float> f = {1.0f, 2.0f};
        std::string dict = R"({"shape": (2,), "fortran_order": False, "descr": "<f4"})";
        std::string path = dir.write("v2.npy", npy_bytes(2, dict, raw(f)));
        NpyArray array = read_npy_f32(path);
        CHECK(array.shape == std::vector<int64_t>{2});
        CHECK(array.data == f);
    }
}

TEST_CASE("npy errors", "[npy]") {
    TempDir dir;
    const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    const std::string two_floats = raw(std::vector<float>{1.0f, 2.0f});

    SECTION("missing file") {
        std::string path = dir.file("missing.npy");
        REQUIRE_THROWS_AS(read_npy_f32(path), Error);
        REQUIRE_THROWS_WITH(read_npy_f32(path), StartsWith(path) && Contains("cannot open"));
    }
    SECTION("bad magic") {
        std::string path = dir.write("m.npy", "PK\x03\x04 not numpy at all");
        REQUIRE_THROWS_WITH(read_npy_f32(path), StartsWith(path) && Contains("bad magic"));
        std::string empty = dir.write("empty.npy", "");
        REQUIRE_THROWS_WITH(read_npy_f32(empty), StartsWith(empty) && Contains("bad magic"));
    }
    SECTION("unsupported version") {
        std::string bytes = npy_bytes(1, good_dict, two_floats);
        bytes[6] = 3;
        std::string path = dir.write("v.npy", bytes);
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("version 3.0") &&
                                Contains("expected 1.0 or 2.0"));
    }
    SECTION("header length beyond the file") {
        std::string path = dir.write("t.npy", std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 18));
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("truncated npy header"));
    }
    SECTION("unsupported dtype") {
        std::string path = dir.write(
            "i.npy", npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
                               two_floats));
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("unsupported dtype '<i4'") &&
                                Contains("expected '<f4' or '<f8'"));
        std::string big = dir.write(
            "b.npy", npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                               two_floats));
        REQUIRE_THROWS_WITH(read_npy_f32(big),
                            StartsWith(big) && Contains("unsupported dtype '>f4'"));
    }
    SECTION("fortran order") {
        std::string path = dir.write(
            "f.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
                               two_floats));
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("Fortran order") &&
                                Contains("expected C order"));
    }
    SECTION("truncated data") {
        std::string path = dir.write("d.npy", npy_bytes(1, good_dict, two_floats.substr(0, 6)));
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("truncated data") &&
                                Contains("2 elements of 4 bytes") && Contains("only 6 bytes"));
    }
    SECTION("extra data") {
        std::string path = dir.write("x.npy", npy_bytes(1, good_dict, two_floats + "junk"));
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("4 unexpected bytes"));
    }
    SECTION("malformed header dict") {
        std::string path = dir.write(
            "h.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }",
                               two_floats));
        REQUIRE_THROWS_WITH(read_npy_f32(path),
                            StartsWith(path) && Contains("malformed npy header") &&
                                Contains("expected '('"));
        std::string missing = dir.write(
            "k.npy", npy_bytes(1, "{'descr': '<f4', 'shape': (2,)}", two_floats));
        REQUIRE_THROWS_WITH(read_npy_f32(missing),
                            StartsWith(missing) && Contains("missing key"));
    }
    SECTION("write rejects negative dimensions") {
        std::string path = dir.file("neg.npy");
        float v = 0;
        REQUIRE_THROWS_WITH(write_npy_f32(path, &v, {2, -1}),
                            StartsWith(path) && Contains("shape[1] is -1"));
        CHECK(dir.entries().empty());
    }
    SECTION("write into a missing directory") {
        std::string path = dir.file("no/such/dir/a.npy");
        float v = 0;
        REQUIRE_THROWS_WITH(write_npy_f32(path, &v, {1}),
                            StartsWith(path) && Contains("cannot create temporary file"));
        CHECK(dir.entries().empty());
    }
    SECTION("a failed rename removes the temporary") {
        // The target is a directory, so renaming a file onto it fails.
        fs::create_directory(dir.file("target.npy"));
        float v = 1;
        REQUIRE_THROWS_WITH(write_npy_f32(dir.file("target.npy"), &v, {1}),
                            StartsWith(dir.file("target.npy")) && Contains("cannot rename"));
        CHECK(dir.entries() == std::vector<std::string>{"target.npy"});
    }
}
