// runtime/safetensors.cpp - maps a .safetensors file and validates its header.
#include "runtime/safetensors.h"

#include "support/error.h"
#include "support/json_limits.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <utility>

namespace gpt2c {

namespace {

// Plain (std::map) json: ordered_json inserts in linear time, which a hostile
// header with millions of keys would turn quadratic. File order is kept
// separately in Header::names.
using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeInfo {
    DType dtype;
    std::string_view name;
    size_t size;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::BOOL, "BOOL", 1},
    {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},
    {DType::U16, "U16", 2},
    {DType::I16, "I16", 2},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::U32, "U32", 4},
    {DType::I32, "I32", 4},
    {DType::F32, "F32", 4},
    {DType::U64, "U64", 8},
    {DType::I64, "I64", 8},
    {DType::F64, "F64", 8},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
}};

const DTypeInfo& dtype_info(DType dtype) {
    for (const DTypeInfo& info : kDTypes) {
        if (info.dtype == dtype) return info;
    }
    fail("internal error: unknown DType value {}", static_cast<int>(dtype));
}

std::string known_dtype_list() {
    std::string list;
    for (const DTypeInfo& info : kDTypes) {
        if (!list.empty()) list += ", ";
        list += info.name;
    }
    return list;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

// Closes a file descriptor on every exit path of open().
struct FdGuard {
    int fd;
    ~FdGuard() {
        if (fd >= 0) ::close(fd);
    }
};

// Reads a little-endian u64 regardless of host byte order or alignment.
uint64_t load_le_u64(const unsigned char* p) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
    return value;
}

struct Header {
    Json json;
    std::vector<std::string> names;  // top-level keys in file order
};

// A SAX pass over the header that records top-level keys in order and the
// first duplicate. nlohmann's DOM parser silently keeps the last duplicate,
// and its callback parser rescans the parent object after every nested
// object (quadratic on a hostile header), so keys are checked here instead.
class KeyScanner : public nlohmann::json_sax<Json> {
public:
    std::vector<std::string> names;
    std::string duplicate;
    std::string error;

    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
        ++depth_;
        return true;
    }
    bool end_object() override {
        --depth_;
        return true;
    }
    bool start_array(std::size_t) override {
        ++depth_;
        return true;
    }
    bool end_array() override {
        --depth_;
        return true;
    }
    bool key(string_t& key) override {
        if (depth_ == 1 && duplicate.empty()) {
            if (seen_.insert(key).second) {
                names.push_back(key);
            } else {
                duplicate = key;
            }
        }
        return true;
    }
    bool parse_error(std::size_t, const std::string&,
                     const nlohmann::detail::exception& e) override {
        error = e.what();
        return false;
    }

private:
    int depth_ = 0;
    std::set<std::string> seen_;
};

Header parse_header(const std::string& path, const char* begin, const char* end) {
    // nlohmann stops at a NUL byte as if the input ended, so "{}\0junk" would
    // pass; valid JSON text never contains one.
    if (const void* nul = std::memchr(begin, 0, static_cast<size_t>(end - begin))) {
        fail("{}: header is not valid JSON: NUL byte at header offset {}; expected JSON text",
             path, static_cast<const char*>(nul) - begin);
    }
    // Before any parse: deep nesting would overflow the stack when a message dumps a value.
    check_json_depth(std::string_view(begin, static_cast<size_t>(end - begin)), path);
    KeyScanner scanner;
    if (!Json::sax_parse(begin, end, &scanner)) {
        fail("{}: header is not valid JSON: {}", path, scanner.error);
    }
    Json header;
    try {
        header = Json::parse(begin, end);
    } catch (const Json::exception& e) {
        fail("{}: header is not valid JSON: {}", path, e.what());
    }
    if (!header.is_object()) {
        fail("{}: header is a JSON {}, expected an object mapping tensor names to entries", path,
             header.type_name());
    }
    if (!scanner.duplicate.empty()) {
        fail("{}: tensor '{}' appears more than once in the header; expected unique tensor names",
             path, scanner.duplicate);
    }
    return {std::move(header), std::move(scanner.names)};
}

void check_metadata(const std::string& path, const Json& metadata) {
    if (!metadata.is_object()) {
        fail("{}: '__metadata__' is a JSON {}, expected an object of strings", path,
             metadata.type_name());
    }
    for (const auto& [key, value] : metadata.items()) {
        if (!value.is_string()) {
            fail("{}: '__metadata__' key '{}' is a JSON {}, expected a string", path, key,
                 value.type_name());
        }
    }
}

const Json& require_key(const std::string& path, const std::string& name, const Json& entry,
                        const char* key) {
    auto it = entry.find(key);
    if (it == entry.end()) {
        fail("{}: tensor '{}': missing key '{}'; expected dtype, shape and data_offsets", path,
             name, key);
    }
    return *it;
}

DType parse_dtype(const std::string& path, const std::string& name, const Json& value) {
    if (!value.is_string()) {
        fail("{}: tensor '{}': 'dtype' is a JSON {}, expected a string", path, name,
             value.type_name());
    }
    const std::string& text = value.get_ref<const std::string&>();
    for (const DTypeInfo& info : kDTypes) {
        if (info.name == text) return info.dtype;
    }
    fail("{}: tensor '{}': unknown dtype '{}'; expected one of {}", path, name, text,
         known_dtype_list());
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& name,
                                 const Json& value) {
    if (!value.is_array()) {
        fail("{}: tensor '{}': 'shape' is a JSON {}, expected an array of non-negative integers",
             path, name, value.type_name());
    }
    std::vector<int64_t> shape;
    for (size_t i = 0; i < value.size(); ++i) {
        const Json& dim = value[i];
        if (dim.is_number_unsigned()) {
            uint64_t v = dim.get<uint64_t>();
            if (v > static_cast<uint64_t>(INT64_MAX)) {
                fail("{}: tensor '{}': shape[{}] is {}, which does not fit in int64", path, name,
                     i, v);
            }
            shape.push_back(static_cast<int64_t>(v));
        } else if (dim.is_number_integer()) {
            fail("{}: tensor '{}': shape[{}] is {}, expected a non-negative dimension", path,
                 name, i, dim.get<int64_t>());
        } else {
            fail("{}: tensor '{}': shape[{}] is a JSON {} ({}), expected a non-negative integer",
                 path, name, i, dim.type_name(), dim.dump());
        }
    }
    return shape;
}

int64_t checked_numel(const std::string& path, const std::string& name,
                      const std::vector<int64_t>& shape) {
    int64_t numel = 1;
    for (int64_t dim : shape) {
        if (__builtin_mul_overflow(numel, dim, &numel)) {
            fail("{}: tensor '{}': element count of shape {} overflows int64", path, name,
                 shape_string(shape));
        }
    }
    return numel;
}

struct Range {
    uint64_t begin;
    uint64_t end;
};

Range parse_offsets(const std::string& path, const std::string& name, const Json& value,
                    uint64_t data_size) {
    bool ok = value.is_array() && value.size() == 2 && value[0].is_number_unsigned() &&
              value[1].is_number_unsigned();
    if (!ok) {
        fail("{}: tensor '{}': 'data_offsets' is {}, expected an array of two non-negative "
             "integers [begin, end]",
             path, name, value.dump());
    }
    Range range{value[0].get<uint64_t>(), value[1].get<uint64_t>()};
    if (range.begin > range.end) {
        fail("{}: tensor '{}': data_offsets [{}, {}] have begin > end; expected begin <= end",
             path, name, range.begin, range.end);
    }
    if (range.end > data_size) {
        fail("{}: tensor '{}': data_offsets end {} is beyond the data section of {} bytes", path,
             name, range.end, data_size);
    }
    return range;
}

struct ParsedEntry {
    TensorView view;
    Range range;
};

ParsedEntry parse_entry(const std::string& path, const std::string& name, const Json& entry,
                        const std::byte* data_section, uint64_t data_size) {
    if (!entry.is_object()) {
        fail("{}: tensor '{}': entry is a JSON {}, expected an object with dtype, shape and "
             "data_offsets",
             path, name, entry.type_name());
    }
    DType dtype = parse_dtype(path, name, require_key(path, name, entry, "dtype"));
    std::vector<int64_t> shape = parse_shape(path, name, require_key(path, name, entry, "shape"));
    Range range = parse_offsets(path, name, require_key(path, name, entry, "data_offsets"),
                                data_size);
    int64_t numel = checked_numel(path, name, shape);
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), dtype_size(dtype), &nbytes)) {
        fail("{}: tensor '{}': byte size of shape {} with dtype {} overflows", path, name,
             shape_string(shape), dtype_name(dtype));
    }
    if (nbytes != range.end - range.begin) {
        fail("{}: tensor '{}': dtype {} and shape {} need {} bytes, but data_offsets [{}, {}] "
             "span {} bytes",
             path, name, dtype_name(dtype), shape_string(shape), nbytes, range.begin, range.end,
             range.end - range.begin);
    }
    TensorView view{name, dtype, std::move(shape), data_section + range.begin,
                    static_cast<size_t>(nbytes)};
    return {std::move(view), range};
}

// Empty ranges hold no bytes, so they cannot overlap anything.
void check_no_overlap(const std::string& path, const std::vector<ParsedEntry>& entries) {
    std::vector<const ParsedEntry*> sorted;
    for (const ParsedEntry& e : entries) {
        if (e.range.begin != e.range.end) sorted.push_back(&e);
    }
    std::sort(sorted.begin(), sorted.end(), [](const ParsedEntry* a, const ParsedEntry* b) {
        return a->range.begin < b->range.begin;
    });
    // Comparing against the range reaching furthest so far catches every overlap.
    const ParsedEntry* reach = nullptr;
    for (const ParsedEntry* e : sorted) {
        if (reach && e->range.begin < reach->range.end) {
            fail("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap; expected disjoint byte "
                 "ranges",
                 path, reach->view.name, reach->range.begin, reach->range.end, e->view.name,
                 e->range.begin, e->range.end);
        }
        if (!reach || e->range.end > reach->range.end) reach = e;
    }
}

std::vector<TensorView> parse_tensors(const std::string& path, const Header& header,
                                      const std::byte* data_section, uint64_t data_size) {
    std::vector<ParsedEntry> entries;
    for (const std::string& name : header.names) {
        const Json& entry = header.json.at(name);
        if (name == "__metadata__") {
            check_metadata(path, entry);
            continue;
        }
        entries.push_back(parse_entry(path, name, entry, data_section, data_size));
    }
    check_no_overlap(path, entries);
    std::vector<TensorView> views;
    views.reserve(entries.size());
    for (ParsedEntry& e : entries) views.push_back(std::move(e.view));
    return views;
}

// Exact binary16 -> binary32 on raw bits. Selects with masks instead of
// branches so the loop over a whole tensor vectorizes.
inline uint32_t f16_bits_to_f32_bits(uint32_t h) {
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    // Normal numbers: move exponent/mantissa into place and rebias 15 -> 127.
    uint32_t normal = (em << 13) + ((127 - 15) << 23);
    // Inf/NaN: bump the exponent the rest of the way to all-ones, keeping the
    // mantissa (NaN payload).
    uint32_t special_mask = 0u - static_cast<uint32_t>(em >= 0x7c00u);
    normal += special_mask & ((128 - 16) << 23);
    // Zero/subnormal: the value is mantissa * 2^-24, exact in float.
    uint32_t subnormal_mask = 0u - static_cast<uint32_t>(em < 0x0400u);
    uint32_t subnormal =
        std::bit_cast<uint32_t>(static_cast<float>(static_cast<int32_t>(em)) * 0x1p-24f);
    return sign | (subnormal & subnormal_mask) | (normal & ~subnormal_mask);
}

// The converters return nonzero when they saw a NaN or an infinity: a branch-free flag
// computed in the same pass as the copy, which costs nothing measurable (a separate
// scan of the output cost ~15% of the conversion time on a 124M checkpoint).
int32_t convert_f32(const unsigned char* in, size_t n, float* out) {
    int32_t special = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, in + 4 * i, 4);  // unaligned-safe; compiles to a vector load
        out[i] = std::bit_cast<float>(bits);
        special |= -static_cast<int32_t>(static_cast<int32_t>(bits & 0x7fffffffu) > 0x7f7fffff);
    }
    return special;
}

int32_t convert_f16(const unsigned char* in, size_t n, float* out) {
    int32_t special = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t h = static_cast<uint32_t>(in[2 * i]) | (static_cast<uint32_t>(in[2 * i + 1]) << 8);
        out[i] = std::bit_cast<float>(f16_bits_to_f32_bits(h));
        special |= -static_cast<int32_t>((h & 0x7c00u) == 0x7c00u);
    }
    return special;
}

int32_t convert_bf16(const unsigned char* in, size_t n, float* out) {
    int32_t special = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t h = static_cast<uint32_t>(in[2 * i]) | (static_cast<uint32_t>(in[2 * i + 1]) << 8);
        out[i] = std::bit_cast<float>(h << 16);
        special |= -static_cast<int32_t>((h & 0x7f80u) == 0x7f80u);
    }
    return special;
}

}  // namespace

std::string_view dtype_name(DType dtype) { return dtype_info(dtype).name; }

size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }

int64_t TensorView::numel() const {
    int64_t n = 1;
    for (int64_t dim : shape) n *= dim;
    return n;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
    FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) fail("{}: cannot open file: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.fd, &st) != 0) fail("{}: cannot stat file: {}", path, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("{}: not a regular file; expected a .safetensors file", path);
    uint64_t file_size = static_cast<uint64_t>(st.st_size);
    if (file_size == 0) {
        fail("{}: file is empty (0 bytes); expected an 8-byte header length and a JSON header",
             path);
    }
    if (file_size < 8) {
        fail("{}: file is {} bytes, shorter than the 8-byte header length; expected at least 8",
             path, file_size);
    }

    SafetensorsFile file;  // owns the mapping from here on, so errors unmap it
    file.path_ = path;
    file.mapping_ = FileMapping::map(fd.fd, file_size, MAP_PRIVATE, 0, path);
    const void* mapping = file.mapping_.data();

    const auto* bytes = static_cast<const unsigned char*>(mapping);
    uint64_t header_size = load_le_u64(bytes);
    if (header_size > file_size - 8) {
        fail("{}: header length {} is larger than the file: only {} bytes follow the 8-byte "
             "length field (file size {})",
             path, header_size, file_size - 8, file_size);
    }
    if (header_size > kMaxHeaderBytes) {
        fail("{}: header length {} is absurd; expected at most {} bytes", path, header_size,
             kMaxHeaderBytes);
    }
    const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
    Header header = parse_header(path, header_begin, header_begin + header_size);
    const std::byte* data_section = static_cast<const std::byte*>(mapping) + 8 + header_size;
    file.tensors_ = parse_tensors(path, header, data_section, file_size - 8 - header_size);
    return file;
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
    for (const TensorView& t : tensors_) {
        if (t.name == name) return &t;
    }
    return nullptr;
}

void convert_to_f32(const TensorView& tensor, const std::string& file, float* out,
                    bool require_finite) {
    static_assert(std::endian::native == std::endian::little, "F32 copy assumes little-endian");
    const size_t n = static_cast<size_t>(tensor.numel());
    const auto* in = reinterpret_cast<const unsigned char*>(tensor.data);
    int32_t (*convert)(const unsigned char*, size_t, float*) = nullptr;
    switch (tensor.dtype) {
    case DType::F32:
        convert = convert_f32;
        break;
    case DType::F16:
        convert = convert_f16;
        break;
    case DType::BF16:
        convert = convert_bf16;
        break;
    default:
        fail("{}: tensor '{}': cannot convert dtype {} to F32; supported dtypes are F32, F16 "
             "and BF16",
             file, tensor.name, dtype_name(tensor.dtype));
    }
    if (convert(in, n, out) == 0 || !require_finite) return;
    for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(out[i])) {
            fail("{}: tensor '{}': element {} is {}; expected finite weights (a NaN or infinity "
                 "makes every logit NaN)",
                 file, tensor.name, i, out[i]);
        }
    }
}

}  // namespace gpt2c
