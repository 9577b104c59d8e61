// runtime/compiled_library.cpp - dlopen, ABI handshake, metadata parsing and CPU checks.
#include "runtime/compiled_library.h"

#include "support/error.h"
#include "support/json_limits.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace gpt2c {

namespace {

using nlohmann::json;

// Limits on sizes read from a library before allocating with them. Every
// weight's shape must also be the one its config implies, so raw weights are
// bounded by the config's own limits (frontend/config.cpp).
constexpr int64_t kMaxArenaBytes = int64_t(1) << 36;
constexpr int64_t kMaxTensorElements = int64_t(1) << 34;
constexpr int64_t kMaxPreparedBytes = int64_t(1) << 36;  // all prepared tensors together

std::string format_shape(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// A short rendering of a metadata value for "found ..." (depth is bounded before parsing).
std::string brief(const json& value) {
    std::string text = value.dump();
    return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

const json& require(const json& object, const char* key, const std::string& path, const std::string& where) {
    if (!object.is_object()) fail("{}: malformed metadata: {} is {}, expected a JSON object", path, where, brief(object));
    auto it = object.find(key);
    if (it == object.end()) fail("{}: malformed metadata: {} has no key \"{}\"", path, where, key);
    return *it;
}

int64_t require_int(const json& object, const char* key, const std::string& path, const std::string& where) {
    const json& value = require(object, key, path, where);
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
        fail("{}: metadata key \"{}\": expected a 64-bit integer, found {}", path, key, brief(value));
    return value.get<int64_t>();
}

std::string require_string(const json& object, const char* key, const std::string& path, const std::string& where) {
    const json& value = require(object, key, path, where);
    if (!value.is_string()) fail("{}: metadata key \"{}\": expected a string, found {}", path, key, brief(value));
    return value.get<std::string>();
}

// The shape a checkpoint tensor has under `c`, or nothing when `c` has no such tensor.
std::optional<std::vector<int64_t>> config_weight_shape(const ModelConfig& c, const std::string& name) {
    const int64_t E = c.n_embd, I = c.n_inner;
    if (name == "wte.weight") return std::vector<int64_t>{c.vocab_size, E};
    if (name == "wpe.weight") return std::vector<int64_t>{c.n_positions, E};
    if (name == "ln_f.weight" || name == "ln_f.bias") return std::vector<int64_t>{E};
    if (name == "lm_head.weight") {
        if (c.tie_word_embeddings) return std::nullopt;
        return std::vector<int64_t>{c.vocab_size, E};
    }
    if (name.rfind("h.", 0) != 0) return std::nullopt;
    const size_t dot = name.find('.', 2);
    if (dot == std::string::npos || dot == 2 || dot > 6) return std::nullopt;
    int64_t layer = 0;
    for (size_t i = 2; i < dot; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
        layer = layer * 10 + (name[i] - '0');
    }
    if (layer >= c.n_layer || (name[2] == '0' && dot > 3)) return std::nullopt;
    const std::string rest = name.substr(dot + 1);
    if (rest == "ln_1.weight" || rest == "ln_1.bias" || rest == "ln_2.weight" || rest == "ln_2.bias" ||
        rest == "attn.c_proj.bias" || rest == "mlp.c_proj.bias")
        return std::vector<int64_t>{E};
    if (rest == "attn.c_attn.weight") return std::vector<int64_t>{E, 3 * E};
    if (rest == "attn.c_attn.bias") return std::vector<int64_t>{3 * E};
    if (rest == "attn.c_proj.weight") return std::vector<int64_t>{E, E};
    if (rest == "mlp.c_fc.weight") return std::vector<int64_t>{E, I};
    if (rest == "mlp.c_fc.bias") return std::vector<int64_t>{I};
    if (rest == "mlp.c_proj.weight") return std::vector<int64_t>{I, E};
    return std::nullopt;
}

std::vector<TensorSpec> parse_tensor_list(const json& meta, const std::string& path, const char* key) {
    const json& list = require(meta, key, path, "the metadata");
    if (!list.is_array()) fail("{}: metadata key \"{}\" must be an array, found {}", path, key, brief(list));
    std::vector<TensorSpec> specs;
    for (size_t i = 0; i < list.size(); ++i) {
        const json& item = list[i];
        const std::string where = fmt::format("{}[{}]", key, i);
        TensorSpec spec;
        spec.name = require_string(item, "name", path, where);
        const json& shape = require(item, "shape", path, where);
        if (!shape.is_array())
            fail("{}: metadata tensor \"{}\": shape is {}, expected an array", path, spec.name, brief(shape));
        int64_t n = 1;
        for (const json& dim : shape) {
            int64_t d = 0;  // stays 0 (invalid) for non-integers and values above the limit
            if (dim.is_number_unsigned())
                d = dim.get<uint64_t>() <= uint64_t(kMaxTensorElements) ? dim.get<int64_t>() : 0;
            else if (dim.is_number_integer())
                d = dim.get<int64_t>();
            if (d <= 0 || d > kMaxTensorElements || n > kMaxTensorElements / d)
                fail("{}: metadata tensor \"{}\" has an invalid shape {}: expected positive dimensions and at most {} "
                     "elements",
                     path, spec.name, brief(shape), kMaxTensorElements);
            spec.shape.push_back(d);
            n *= d;
        }
        if (item.contains("used_by_forward")) {
            const json& used = item.at("used_by_forward");
            if (!used.is_boolean())
                fail("{}: metadata tensor \"{}\": used_by_forward is {}, expected true or false", path, spec.name,
                     brief(used));
            spec.used_by_forward = used.get<bool>();
        }
        // A storage size must fit the shape: between one byte and four bytes per element.
        spec.bytes = item.contains("bytes") ? require_int(item, "bytes", path, where) : n * 4;
        if (spec.bytes < n || spec.bytes > n * 4)
            fail("{}: metadata tensor \"{}\" has {} bytes for {} elements; expected {} to {}", path, spec.name,
                 spec.bytes, n, n, n * 4);
        specs.push_back(std::move(spec));
    }
    return specs;
}

// Reads each prepared tensor's "inputs": {"weights": [...], "prepared": [...]}. The
// runtime frees a tensor after its last listed use, so an index out of range, or a
// prepared input that is not computed earlier, would make prepare read freed memory.
void parse_prepare_inputs(const json& list, size_t n_weights, std::vector<TensorSpec>& prepared,
                          const std::string& path) {
    for (size_t p = 0; p < prepared.size(); ++p) {
        TensorSpec& spec = prepared[p];
        const json& inputs = require(list[p], "inputs", path, fmt::format("prepared[{}]", p));
        auto read = [&](const char* key, size_t limit, bool earlier_prepared, std::vector<int64_t>& out) {
            const json& ids = require(inputs, key, path, fmt::format("prepared[{}].inputs", p));
            if (!ids.is_array())
                fail("{}: metadata tensor \"{}\": inputs.{} is {}, expected an array", path, spec.name, key, brief(ids));
            for (const json& id : ids) {
                if (!id.is_number_integer() || id.get<int64_t>() < 0 || uint64_t(id.get<int64_t>()) >= limit)
                    fail("{}: metadata tensor \"{}\": inputs.{} holds {}, expected {}", path, spec.name, key, brief(id),
                         earlier_prepared ? fmt::format("an earlier prepared tensor (index below {})", p)
                                    : fmt::format("a weight index in 0..{}", int64_t(limit) - 1));
                out.push_back(id.get<int64_t>());
            }
        };
        read("weights", n_weights, false, spec.raw_inputs);
        read("prepared", p, true, spec.prepared_inputs);  // earlier tensors only
    }
}

// Every raw weight must be a checkpoint tensor of the library's own config, with
// the shape that config implies, listed once: the runtime allocates and fills
// each one, and the generated code reads exactly that many floats.
void check_weights_match_config(const std::vector<TensorSpec>& weights, const ModelConfig& config,
                                const std::string& path) {
    std::set<std::string> seen;
    for (const TensorSpec& spec : weights) {
        if (!seen.insert(spec.name).second)
            fail("{}: metadata tensor \"{}\" is listed twice in \"weights\"", path, spec.name);
        std::optional<std::vector<int64_t>> want = config_weight_shape(config, spec.name);
        if (!want) fail("{}: metadata tensor \"{}\" is not a weight of its config", path, spec.name);
        if (*want != spec.shape)
            fail("{}: metadata tensor \"{}\" has shape {}, but its config needs {}", path, spec.name,
                 format_shape(spec.shape), format_shape(*want));
    }
}

#if defined(__x86_64__) || defined(__i386__)
// An x86 feature as CPUID reports it: leaf, subleaf, register (0..3 = eax, ebx,
// ecx, edx), bit, and the XCR0 state components the OS must enable for it.
struct CpuidFeature {
    const char* llvm_name;
    uint32_t leaf, subleaf;
    int reg, bit;
    uint64_t xcr0;
};

constexpr uint64_t kAvxState = 0x6;       // SSE + AVX
constexpr uint64_t kAvx512State = 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
constexpr uint64_t kAmxState = 0x60006;   // + XTILECFG, XTILEDATA

constexpr CpuidFeature kCpuidFeatures[] = {
    {"sse3", 1, 0, 2, 0, 0},          {"pclmul", 1, 0, 2, 1, 0},        {"ssse3", 1, 0, 2, 9, 0},
    {"fma", 1, 0, 2, 12, kAvxState},  {"cx16", 1, 0, 2, 13, 0},         {"sse4.1", 1, 0, 2, 19, 0},
    {"sse4.2", 1, 0, 2, 20, 0},       {"movbe", 1, 0, 2, 22, 0},        {"popcnt", 1, 0, 2, 23, 0},
    {"aes", 1, 0, 2, 25, 0},          {"xsave", 1, 0, 2, 26, 0},        {"avx", 1, 0, 2, 28, kAvxState},
    {"f16c", 1, 0, 2, 29, kAvxState}, {"rdrnd", 1, 0, 2, 30, 0},        {"cx8", 1, 0, 3, 8, 0},
    {"cmov", 1, 0, 3, 15, 0},         {"mmx", 1, 0, 3, 23, 0},          {"fxsr", 1, 0, 3, 24, 0},
    {"sse", 1, 0, 3, 25, 0},          {"sse2", 1, 0, 3, 26, 0},
    {"fsgsbase", 7, 0, 1, 0, 0},      {"bmi", 7, 0, 1, 3, 0},           {"avx2", 7, 0, 1, 5, kAvxState},
    {"bmi2", 7, 0, 1, 8, 0},          {"invpcid", 7, 0, 1, 10, 0},      {"rtm", 7, 0, 1, 11, 0},
    {"avx512f", 7, 0, 1, 16, kAvx512State},     {"avx512dq", 7, 0, 1, 17, kAvx512State},
    {"rdseed", 7, 0, 1, 18, 0},       {"adx", 7, 0, 1, 19, 0},
    {"avx512ifma", 7, 0, 1, 21, kAvx512State},  {"clflushopt", 7, 0, 1, 23, 0},
    {"clwb", 7, 0, 1, 24, 0},         {"avx512cd", 7, 0, 1, 28, kAvx512State},
    {"sha", 7, 0, 1, 29, 0},          {"avx512bw", 7, 0, 1, 30, kAvx512State},
    {"avx512vl", 7, 0, 1, 31, kAvx512State},
    {"avx512vbmi", 7, 0, 2, 1, kAvx512State},   {"pku", 7, 0, 2, 3, 0},
    {"waitpkg", 7, 0, 2, 5, 0},       {"avx512vbmi2", 7, 0, 2, 6, kAvx512State},
    {"shstk", 7, 0, 2, 7, 0},         {"gfni", 7, 0, 2, 8, 0},          {"vaes", 7, 0, 2, 9, kAvxState},
    {"vpclmulqdq", 7, 0, 2, 10, kAvxState},     {"avx512vnni", 7, 0, 2, 11, kAvx512State},
    {"avx512bitalg", 7, 0, 2, 12, kAvx512State}, {"avx512vpopcntdq", 7, 0, 2, 14, kAvx512State},
    {"rdpid", 7, 0, 2, 22, 0},        {"cldemote", 7, 0, 2, 25, 0},     {"movdiri", 7, 0, 2, 27, 0},
    {"movdir64b", 7, 0, 2, 28, 0},    {"enqcmd", 7, 0, 2, 29, 0},
    {"uintr", 7, 0, 3, 5, 0},         {"avx512vp2intersect", 7, 0, 3, 8, kAvx512State},
    {"serialize", 7, 0, 3, 14, 0},    {"tsxldtrk", 7, 0, 3, 16, 0},     {"pconfig", 7, 0, 3, 18, 0},
    {"amx-bf16", 7, 0, 3, 22, kAmxState},       {"avx512fp16", 7, 0, 3, 23, kAvx512State},
    {"amx-tile", 7, 0, 3, 24, kAmxState},       {"amx-int8", 7, 0, 3, 25, kAmxState},
    {"avxvnni", 7, 1, 0, 4, kAvxState},         {"avx512bf16", 7, 1, 0, 5, kAvx512State},
    {"cmpccxadd", 7, 1, 0, 7, 0},     {"amx-fp16", 7, 1, 0, 21, kAmxState},
    {"hreset", 7, 1, 0, 22, 0},       {"avxifma", 7, 1, 0, 23, kAvxState},
    {"avxvnniint8", 7, 1, 3, 4, kAvxState},     {"avxneconvert", 7, 1, 3, 5, kAvxState},
    {"amx-complex", 7, 1, 3, 8, kAmxState},     {"avxvnniint16", 7, 1, 3, 10, kAvxState},
    {"prefetchi", 7, 1, 3, 14, 0},
    {"xsaveopt", 0xd, 1, 0, 0, 0},    {"xsavec", 0xd, 1, 0, 1, 0},      {"xsaves", 0xd, 1, 0, 3, 0},
    {"sahf", 0x80000001, 0, 2, 0, 0}, {"lzcnt", 0x80000001, 0, 2, 5, 0}, {"sse4a", 0x80000001, 0, 2, 6, 0},
    {"prfchw", 0x80000001, 0, 2, 8, 0}, {"xop", 0x80000001, 0, 2, 11, kAvxState},
    {"fma4", 0x80000001, 0, 2, 16, kAvxState},  {"tbm", 0x80000001, 0, 2, 21, 0},
    {"mwaitx", 0x80000001, 0, 2, 29, 0},        {"64bit", 0x80000001, 0, 3, 29, 0},
    {"clzero", 0x80000008, 0, 1, 0, 0}, {"rdpru", 0x80000008, 0, 1, 4, 0}, {"wbnoinvd", 0x80000008, 0, 1, 9, 0},
};

bool cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
    const uint32_t max_leaf = __get_cpuid_max(leaf & 0x80000000u, nullptr);
    if (max_leaf < leaf) return false;
    __cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
    return true;
}

// The state components the OS saves (XCR0), or 0 without OSXSAVE.
uint64_t os_xcr0() {
    uint32_t r[4];
    if (!cpuid(1, 0, r) || !(r[2] & (1u << 27))) return 0;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}
#endif

bool host_has_feature(const std::string& feature, bool& known) {
    known = false;
#if defined(__x86_64__) || defined(__i386__)
    for (const CpuidFeature& f : kCpuidFeatures) {
        if (feature != f.llvm_name) continue;
        known = true;
        uint32_t r[4];
        if (!cpuid(f.leaf, f.subleaf, r) || !(r[f.reg] & (1u << f.bit))) return false;
        return (os_xcr0() & f.xcr0) == f.xcr0;
    }
#endif
    return true;
}

// dlopen maps the segments a shared object's program headers describe, even
// past the end of a truncated file, and the loader then dies with SIGBUS when
// it touches them. So the program and section header tables and every segment
// are checked against the file size first. Anything that is not an ELF file of this machine's class is left to
// dlopen, which reports it cleanly.
void check_elf_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;  // dlopen says why
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return;
    if (!S_ISREG(st.st_mode)) fail("{}: cannot load the compiled library: not a regular file", path);
    const uint64_t size = uint64_t(st.st_size);
    ElfW(Ehdr) header{};
    if (::pread(fd, &header, sizeof header, 0) != ssize_t(sizeof header)) return;
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32)) return;
    auto truncated = [&](const std::string& what, uint64_t end) {
        fail("{}: cannot load the compiled library: truncated or corrupt ELF file: {} ends at byte {}, but the file "
             "has {} bytes",
             path, what, end, size);
    };
    if (header.e_phentsize != sizeof(ElfW(Phdr)))
        fail("{}: cannot load the compiled library: corrupt ELF file: program header size {}, expected {}", path,
             header.e_phentsize, sizeof(ElfW(Phdr)));
    const uint64_t table_end = uint64_t(header.e_phoff) + uint64_t(header.e_phnum) * sizeof(ElfW(Phdr));
    if (header.e_phoff > size || table_end > size) truncated("the program header table", table_end);
    std::vector<ElfW(Phdr)> segments(header.e_phnum);
    const ssize_t table_bytes = ssize_t(segments.size() * sizeof(ElfW(Phdr)));
    if (::pread(fd, segments.data(), size_t(table_bytes), off_t(header.e_phoff)) != table_bytes)
        fail("{}: cannot load the compiled library: cannot read its program headers", path);
    // The loader does not read section headers, but a section table past the end of the file
    // means the file was cut short (a partial copy): its code cannot be trusted either.
    const uint64_t sections_end = uint64_t(header.e_shoff) + uint64_t(header.e_shnum) * header.e_shentsize;
    if (header.e_shnum != 0 && (header.e_shoff > size || sections_end > size))
        truncated("the section header table", sections_end);
    for (size_t i = 0; i < segments.size(); ++i) {
        const uint64_t offset = segments[i].p_offset, bytes = segments[i].p_filesz;
        if (offset > size || bytes > size - offset)
            truncated(fmt::format("segment {}", i), offset + bytes < offset ? UINT64_MAX : offset + bytes);
    }
}

}  // namespace

int64_t TensorSpec::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::vector<std::string> missing_cpu_features(const std::string& llvm_features) {
    std::vector<std::string> missing;
    std::stringstream items(llvm_features);
    std::string item;
    while (std::getline(items, item, ',')) {
        if (item.size() < 2 || item[0] != '+') continue;
        bool known = false;
        if (!host_has_feature(item.substr(1), known) && known) missing.push_back(item.substr(1));
    }
    return missing;
}

CompiledLibrary CompiledLibrary::open(const std::string& path) {
    CompiledLibrary lib;
    lib.path_ = path;
    // A path without '/' would make dlopen search the library path: never load a different file.
    std::string load_path = path.find('/') == std::string::npos ? "./" + path : path;
    check_elf_file(load_path);
    lib.handle_ = dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle_) fail("{}: cannot load the compiled library: {}", path, dlerror());
    auto query = reinterpret_cast<gpt2c_library_query_fn>(dlsym(lib.handle_, GPT2C_LIBRARY_QUERY_SYMBOL));
    if (!query) fail("{}: not a gpt2c library (no {} symbol)", path, GPT2C_LIBRARY_QUERY_SYMBOL);
    lib.entry_ = query(GPT2C_ABI_VERSION);
    if (!lib.entry_)
        fail("{}: the library was built for another gpt2c ABI version (this runtime speaks version {}); recompile "
             "it with this gpt2c",
             path, GPT2C_ABI_VERSION);
    const gpt2c_library& entry = *lib.entry_;
    if (entry.abi_version != GPT2C_ABI_VERSION)
        fail("{}: malformed library descriptor: it says ABI version {}, expected {}", path, entry.abi_version,
             GPT2C_ABI_VERSION);
    if (entry.descriptor_size < sizeof(gpt2c_library))
        fail("{}: malformed library descriptor: descriptor_size is {}, expected at least {}", path,
             entry.descriptor_size, sizeof(gpt2c_library));
    for (auto [field, missing] : {std::pair{"metadata_json", !entry.metadata_json}, std::pair{"prepare", !entry.prepare},
                                  std::pair{"forward", !entry.forward}})
        if (missing) fail("{}: malformed library descriptor: {} is NULL", path, field);

    lib.metadata_json_ = entry.metadata_json;
    // Deep nesting would overflow the stack in dump() below; real metadata nests 3 levels.
    check_json_depth(lib.metadata_json_, path + ": malformed metadata");
    json meta;
    try {
        meta = json::parse(lib.metadata_json_);
    } catch (const json::exception& e) {
        fail("{}: malformed metadata: {}", path, e.what());
    }
    if (!meta.is_object()) fail("{}: malformed metadata: expected a JSON object, found {}", path, brief(meta));
    lib.config_ = parse_config(require(meta, "config", path, "the metadata").dump(), path + " (embedded config)");
    lib.weights_ = parse_tensor_list(meta, path, "weights");
    check_weights_match_config(lib.weights_, lib.config_, path);
    lib.prepared_ = parse_tensor_list(meta, path, "prepared");
    parse_prepare_inputs(require(meta, "prepared", path, "the metadata"), lib.weights_.size(), lib.prepared_, path);
    int64_t prepared_bytes = 0;
    for (const TensorSpec& spec : lib.prepared_) {
        prepared_bytes += spec.bytes;  // each at most 2^36: no overflow before the check below trips
        if (prepared_bytes > kMaxPreparedBytes)
            fail("{}: metadata: the prepared tensors need {} bytes in all, more than the limit of {}", path,
                 prepared_bytes, kMaxPreparedBytes);
    }
    lib.arena_bytes_ = require_int(meta, "arena_bytes", path, "the metadata");
    lib.kv_cache_floats_ = require_int(meta, "kv_cache_floats", path, "the metadata");
    const json& target = require(meta, "target", path, "the metadata");
    lib.target_cpu_ = require_string(target, "cpu", path, "metadata key \"target\"");
    const std::string features = require_string(target, "features", path, "metadata key \"target\"");
    if (meta.contains("pipeline")) lib.pipeline_ = require_string(meta, "pipeline", path, "the metadata");

    const ModelConfig& c = lib.config_;
    const int64_t want_kv = c.n_layer * 2 * c.n_positions * c.n_embd;  // validated config: no overflow
    if (lib.kv_cache_floats_ != want_kv)
        fail("{}: metadata kv_cache_floats {} does not match its config ({} expected)", path, lib.kv_cache_floats_,
             want_kv);
    if (lib.arena_bytes_ < 0 || lib.arena_bytes_ > kMaxArenaBytes)
        fail("{}: metadata arena_bytes {} is out of range; expected 0..{}", path, lib.arena_bytes_, kMaxArenaBytes);

    // Last, and before any of the library's code beyond the query runs.
    std::vector<std::string> missing = missing_cpu_features(features);
    if (!missing.empty()) {
        std::string list;
        for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
        fail("{}: compiled for CPU '{}' with features this CPU lacks: {}; recompile with --target-cpu=native "
             "(or a --target-features= this CPU has)",
             path, lib.target_cpu_, list);
    }
    return lib;
}

CompiledLibrary::CompiledLibrary(CompiledLibrary&& other) noexcept { *this = std::move(other); }

CompiledLibrary& CompiledLibrary::operator=(CompiledLibrary&& other) noexcept {
    if (this != &other) {
        if (handle_) dlclose(handle_);
        path_ = std::move(other.path_);
        handle_ = std::exchange(other.handle_, nullptr);
        entry_ = std::exchange(other.entry_, nullptr);
        config_ = other.config_;
        weights_ = std::move(other.weights_);
        prepared_ = std::move(other.prepared_);
        arena_bytes_ = other.arena_bytes_;
        kv_cache_floats_ = other.kv_cache_floats_;
        target_cpu_ = std::move(other.target_cpu_);
        pipeline_ = std::move(other.pipeline_);
        metadata_json_ = std::move(other.metadata_json_);
    }
    return *this;
}

CompiledLibrary::~CompiledLibrary() {
    if (handle_) dlclose(handle_);
}

}  // namespace gpt2c
