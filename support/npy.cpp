// support/npy.cpp - reads and writes NumPy .npy float arrays.
#include "support/npy.h"

#include "support/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

namespace gpt2c {

namespace {

static_assert(std::endian::native == std::endian::little, "npy '<f4' I/O assumes little-endian");

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kPreludeV1 = 10;  // magic(6) + version(2) + u16 header length
constexpr size_t kPreludeV2 = 12;  // magic(6) + version(2) + u32 header length

// Element count of `shape`, failing on negative dimensions or overflow.
int64_t checked_numel(const std::string& path, const std::vector<int64_t>& shape) {
    int64_t numel = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] < 0) {
            fail("{}: shape[{}] is {}, expected a non-negative dimension", path, i, shape[i]);
        }
        if (__builtin_mul_overflow(numel, shape[i], &numel)) {
            fail("{}: element count of the shape overflows int64", path);
        }
    }
    return numel;
}

// ---- writing ----------------------------------------------------------------

std::string shape_tuple(const std::vector<int64_t>& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

// The full prelude: magic, version 1.0, length, and the dict padded with
// spaces and ended by '\n' so the data starts on a 64-byte boundary.
std::string make_header(const std::string& path, const std::vector<int64_t>& shape) {
    std::string dict = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}",
                                   shape_tuple(shape));
    size_t total = kPreludeV1 + dict.size() + 1;
    size_t padded = (total + 63) / 64 * 64;
    dict.append(padded - total, ' ');
    dict.push_back('\n');
    if (dict.size() > 0xffff) {
        fail("{}: npy header of {} bytes does not fit format version 1.0 (at most 65535)", path,
             dict.size());
    }
    std::string header(kMagic);
    header.push_back('\x01');
    header.push_back('\x00');
    header.push_back(static_cast<char>(dict.size() & 0xff));
    header.push_back(static_cast<char>(dict.size() >> 8));
    return header + dict;
}

// A file created next to the final path; removed unless commit() renames it.
class TempFile {
public:
    explicit TempFile(const std::string& target) : target_(target) {
        static std::atomic<unsigned> counter{0};
        for (int attempt = 0; attempt < 100; ++attempt) {
            path_ = fmt::format("{}.tmp.{}.{}", target, ::getpid(), counter++);
            fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd_ >= 0 || errno != EEXIST) break;
        }
        if (fd_ < 0) {
            fail("{}: cannot create temporary file {}: {}", target, path_, std::strerror(errno));
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }

    void write(const void* data, size_t size) {
        const char* p = static_cast<const char*>(data);
        while (size > 0) {
            ssize_t n = ::write(fd_, p, size);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("{}: cannot write {}: {}", target_, path_, std::strerror(errno));
            p += n;
            size -= static_cast<size_t>(n);
        }
    }

    void commit() {
        int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) {
            fail("{}: cannot close {}: {}", target_, path_, std::strerror(errno));
        }
        if (::rename(path_.c_str(), target_.c_str()) != 0) {
            fail("{}: cannot rename {} into place: {}", target_, path_, std::strerror(errno));
        }
        committed_ = true;
    }

private:
    std::string target_;
    std::string path_;
    int fd_ = -1;
    bool committed_ = false;
};

// ---- reading ----------------------------------------------------------------

std::string read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("{}: cannot open file: {}", path, std::strerror(errno));
    std::string bytes;
    char buffer[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            fail("{}: cannot read file: {}", path, std::strerror(err));
        }
        if (n == 0) break;
        bytes.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return bytes;
}

struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
};

// A parser for the Python dict literal numpy writes, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
    HeaderParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

    NpyHeader parse() {
        NpyHeader header;
        bool have_descr = false, have_order = false, have_shape = false;
        expect('{');
        while (!consume('}')) {
            std::string key = parse_string();
            expect(':');
            if (key == "descr") {
                header.descr = parse_string();
                have_descr = true;
            } else if (key == "fortran_order") {
                header.fortran_order = parse_bool();
                have_order = true;
            } else if (key == "shape") {
                header.shape = parse_shape();
                have_shape = true;
            } else {
                fail("{}: npy header has unexpected key '{}'; expected descr, fortran_order, shape",
                     path_, key);
            }
            if (!consume(',')) {
                expect('}');
                break;
            }
        }
        skip_space();
        if (pos_ != text_.size()) bad("trailing characters after the header dict");
        if (!have_descr || !have_order || !have_shape) {
            bad("missing key; expected descr, fortran_order and shape");
        }
        return header;
    }

private:
    [[noreturn]] void bad(std::string_view what) {
        fail("{}: malformed npy header at offset {}: {} (header: {})", path_, pos_, what,
             text_.substr(0, 200));
    }

    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
    }

    bool consume(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    void expect(char c) {
        if (!consume(c)) bad(fmt::format("expected '{}'", c));
    }

    std::string parse_string() {
        skip_space();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
            bad("expected a quoted string");
        }
        char quote = text_[pos_++];
        size_t end = text_.find(quote, pos_);
        if (end == std::string_view::npos) bad("unterminated string");
        std::string value(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return value;
    }

    bool parse_bool() {
        skip_space();
        for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
            if (text_.substr(pos_).starts_with(word)) {
                pos_ += std::strlen(word);
                return value;
            }
        }
        bad("expected True or False for fortran_order");
    }

    int64_t parse_int() {
        skip_space();
        int64_t value = 0;
        size_t start = pos_;
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
            int digit = text_[pos_++] - '0';
            if (__builtin_mul_overflow(value, 10, &value) ||
                __builtin_add_overflow(value, digit, &value)) {
                bad("dimension overflows int64");
            }
        }
        if (pos_ == start) bad("expected a non-negative integer dimension");
        if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long suffix
        return value;
    }

    std::vector<int64_t> parse_shape() {
        std::vector<int64_t> shape;
        expect('(');
        while (!consume(')')) {
            shape.push_back(parse_int());
            if (!consume(',')) {
                expect(')');
                break;
            }
        }
        return shape;
    }

    const std::string& path_;
    std::string_view text_;
    size_t pos_ = 0;
};

uint32_t load_le(const std::string& bytes, size_t offset, size_t width) {
    uint32_t value = 0;
    for (size_t i = width; i-- > 0;) {
        value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
    }
    return value;
}

// Splits the file into header dict text and data offset; checks magic/version.
std::pair<std::string_view, size_t> split_header(const std::string& path,
                                                 const std::string& bytes) {
    if (bytes.size() < kPreludeV1 || std::string_view(bytes).substr(0, 6) != kMagic) {
        fail("{}: bad magic; expected a .npy file starting with \"\\x93NUMPY\"", path);
    }
    int major = static_cast<unsigned char>(bytes[6]);
    int minor = static_cast<unsigned char>(bytes[7]);
    if ((major != 1 && major != 2) || minor != 0) {
        fail("{}: unsupported npy format version {}.{}; expected 1.0 or 2.0", path, major, minor);
    }
    size_t prelude = major == 1 ? kPreludeV1 : kPreludeV2;
    if (bytes.size() < prelude) fail("{}: truncated npy header", path);
    size_t header_len = load_le(bytes, 8, major == 1 ? 2 : 4);
    if (header_len > bytes.size() - prelude) {
        fail("{}: truncated npy header: header length {} but only {} bytes follow", path,
             header_len, bytes.size() - prelude);
    }
    return {std::string_view(bytes).substr(prelude, header_len), prelude + header_len};
}

}  // namespace

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
    size_t numel = static_cast<size_t>(checked_numel(path, shape));
    if (numel > SIZE_MAX / sizeof(float)) fail("{}: array of {} floats is too large", path, numel);
    std::string header = make_header(path, shape);
    TempFile temp(path);
    temp.write(header.data(), header.size());
    if (numel > 0) temp.write(data, numel * sizeof(float));
    temp.commit();
}

NpyArray read_npy_f32(const std::string& path) {
    std::string bytes = read_file(path);
    auto [header_text, data_offset] = split_header(path, bytes);
    NpyHeader header = HeaderParser(path, header_text).parse();
    if (header.descr != "<f4" && header.descr != "<f8") {
        fail("{}: unsupported dtype '{}'; expected '<f4' or '<f8'", path, header.descr);
    }
    if (header.fortran_order) {
        fail("{}: array is in Fortran order; expected C order (fortran_order False)", path);
    }
    size_t numel = static_cast<size_t>(checked_numel(path, header.shape));
    size_t item = header.descr == "<f4" ? 4 : 8;
    size_t available = bytes.size() - data_offset;
    if (numel > available / item) {
        fail("{}: truncated data: shape needs {} elements of {} bytes but only {} bytes follow "
             "the header",
             path, numel, item, available);
    }
    if (numel * item != available) {
        fail("{}: {} unexpected bytes after the {} bytes of array data", path,
             available - numel * item, numel * item);
    }
    NpyArray array{header.shape, std::vector<float>(numel)};
    const char* src = bytes.data() + data_offset;
    if (item == 4) {
        if (numel) std::memcpy(array.data.data(), src, numel * 4);
    } else {
        for (size_t i = 0; i < numel; ++i) {
            double value;
            std::memcpy(&value, src + 8 * i, 8);
            array.data[i] = static_cast<float>(value);
        }
    }
    return array;
}

}  // namespace gpt2c
