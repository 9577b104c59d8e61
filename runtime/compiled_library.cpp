// runtime/compiled_library.cpp - dlopen, ABI handshake, metadata parsing and CPU checks.
#include "runtime/compiled_library.h"

#include "runtime/host_cpu.h"
#include "support/cpu_isa.h"
#include "support/error.h"
#include "support/json_limits.h"
#include "support/kv_layout.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <utility>


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
        // A storage size must fit the shape: between half a byte (q4) and four bytes per element.
        spec.bytes = item.contains("bytes") ? require_int(item, "bytes", path, where) : n * 4;
        if (spec.bytes < (n + 1) / 2 || spec.bytes > n * 4)
            fail("{}: metadata tensor \"{}\" has {} bytes for {} elements; expected {} to {}", path, spec.name,
                 spec.bytes, n, (n + 1) / 2, n * 4);
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

#if defined(__x86_64__)
constexpr uint16_t kHostElfMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostElfMachine = EM_AARCH64;
#else
#error "gpt2c's runtime supports x86-64 and AArch64 hosts"
#endif

std::string elf_machine_name(uint16_t machine) {
    switch (machine) {
    case EM_X86_64: return arch_name(CpuArch::X86_64);
    case EM_AARCH64: return arch_name(CpuArch::AArch64);
    case EM_386: return "i386";
    case EM_ARM: return "32-bit ARM";
    case EM_RISCV: return "RISC-V";
    case EM_PPC64: return "POWER";
    case EM_S390: return "s390x";
    default: return fmt::format("ELF machine {}", machine);
    }
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
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return;
    // A library for another architecture: say which, before dlopen gives a terse "wrong ELF class".
    const bool same_class = header.e_ident[EI_CLASS] == (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32);
    if (!same_class || header.e_machine != kHostElfMachine)
        fail("{}: cannot load the compiled library: it was compiled for {}, but this runtime runs on {}; recompile "
             "it with --target={}-linux-gnu",
             path, same_class ? elf_machine_name(header.e_machine) : "a 32-bit machine", arch_name(build_arch()),
             arch_name(build_arch()));
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

int64_t CompiledLibrary::decode_weight_bytes() const {
    // A tied LM head reads wte whole unless a prepared (packed) copy stands in for it.
    bool wte_prepared = false;
    int64_t total = 0;
    for (const TensorSpec& t : prepared_) {
        if (!t.used_by_forward) continue;
        total += t.bytes;
        for (int64_t i : t.raw_inputs) wte_prepared |= weights_[size_t(i)].name == "wte.weight";
    }
    for (const TensorSpec& t : weights_) {  // raw tensors forward reads as they are
        if (!t.used_by_forward || t.name == "wpe.weight") continue;
        if (t.name == "wte.weight" && (wte_prepared || !config_.tie_word_embeddings)) continue;
        total += t.bytes;
    }
    return total;
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
    lib.kv_cache_bytes_ = require_int(meta, "kv_cache_bytes", path, "the metadata");
    lib.kv_dtype_ = require_string(meta, "kv_dtype", path, "the metadata");
    if (lib.kv_dtype_ != "f32" && lib.kv_dtype_ != "bf16" && lib.kv_dtype_ != "int8")
        fail("{}: metadata kv_dtype \"{}\": expected \"f32\", \"bf16\" or \"int8\"", path, lib.kv_dtype_);
    const json& target = require(meta, "target", path, "the metadata");
    lib.target_cpu_ = require_string(target, "cpu", path, "metadata key \"target\"");
    const std::string arch = require_string(target, "arch", path, "metadata key \"target\"");
    const json& isa = require(target, "isa_features", path, "metadata key \"target\"");
    if (!isa.is_array() || !std::all_of(isa.begin(), isa.end(), [](const json& f) { return f.is_string(); }))
        fail("{}: metadata key \"isa_features\": expected an array of feature names, found {}", path, brief(isa));
    lib.isa_features_ = isa.get<std::vector<std::string>>();
    if (meta.contains("pipeline")) lib.pipeline_ = require_string(meta, "pipeline", path, "the metadata");

    const ModelConfig& c = lib.config_;
    // A validated config: no overflow.
    const int64_t want_kv = gpt2c::kv_cache_bytes(lib.kv_dtype_, c.n_layer, c.n_positions, c.n_embd, c.n_head);
    if (lib.kv_cache_bytes_ != want_kv)
        fail("{}: metadata kv_cache_bytes {} does not match its config and kv_dtype {} ({} expected)", path,
             lib.kv_cache_bytes_, lib.kv_dtype_, want_kv);
    if (lib.arena_bytes_ < 0 || lib.arena_bytes_ > kMaxArenaBytes)
        fail("{}: metadata arena_bytes {} is out of range; expected 0..{}", path, lib.arena_bytes_, kMaxArenaBytes);

    // Last, and before any of the library's code beyond the query runs. Only instruction-set
    // features count: a VM that hides invpcid or rtm still runs every instruction of the library.
    if (arch_from_name(arch) != build_arch())
        fail("{}: metadata says the library is for {}, but this runtime runs on {}", path, arch, arch_name(build_arch()));
    std::vector<std::string> missing = missing_isa_features(build_arch(), lib.isa_features_, host_isa_features());
    if (!missing.empty()) {
        std::string list;
        for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
        fail("{}: compiled for CPU '{}' with instruction-set features this CPU lacks: {}; recompile with "
             "--target-cpu=native, or a portable level this CPU runs (x86-64-v2, x86-64-v3, x86-64-v4 on x86)",
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
        kv_cache_bytes_ = other.kv_cache_bytes_;
        kv_dtype_ = std::move(other.kv_dtype_);
        target_cpu_ = std::move(other.target_cpu_);
        isa_features_ = std::move(other.isa_features_);
        pipeline_ = std::move(other.pipeline_);
        metadata_json_ = std::move(other.metadata_json_);
    }
    return *this;
}

CompiledLibrary::~CompiledLibrary() {
    if (handle_) dlclose(handle_);
}

}  // namespace gpt2c
