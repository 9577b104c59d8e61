// runtime/compiled_library.cpp - dlopen, ABI handshake, metadata parsing and CPU checks.
#include "runtime/compiled_library.h"

#include "support/error.h"

#include <dlfcn.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <utility>

namespace gpt2c {

namespace {

// Limits on sizes read from a library before allocating with them.
constexpr int64_t kMaxArenaBytes = int64_t(1) << 36;
constexpr int64_t kMaxTensorElements = int64_t(1) << 34;

std::vector<TensorSpec> parse_tensor_list(const nlohmann::json& list, const std::string& path, const char* key) {
    if (!list.is_array()) fail("{}: metadata key \"{}\" must be an array", path, key);
    std::vector<TensorSpec> specs;
    for (const auto& item : list) {
        TensorSpec spec;
        spec.name = item.at("name").get<std::string>();
        spec.shape = item.at("shape").get<std::vector<int64_t>>();
        spec.used_by_forward = item.value("used_by_forward", true);
        spec.bytes = item.value("bytes", int64_t(-1));
        int64_t n = 1;
        for (int64_t d : spec.shape) {
            if (d <= 0 || d > kMaxTensorElements || n > kMaxTensorElements / d)
                fail("{}: metadata tensor \"{}\" has an invalid shape", path, spec.name);
            n *= d;
        }
        // A storage size must fit the shape: between one byte and four bytes per element.
        if (spec.bytes < 0) spec.bytes = n * 4;
        if (spec.bytes < n || spec.bytes > n * 4)
            fail("{}: metadata tensor \"{}\" has {} bytes for {} elements", path, spec.name, spec.bytes, n);
        specs.push_back(std::move(spec));
    }
    return specs;
}

bool host_has_feature(const std::string& feature, bool& known) {
    known = true;
    __builtin_cpu_init();
#define GPT2C_FEATURE(llvm_name, builtin_name) \
    if (feature == llvm_name) return __builtin_cpu_supports(builtin_name);
    GPT2C_FEATURE("sse4.1", "sse4.1")
    GPT2C_FEATURE("sse4.2", "sse4.2")
    GPT2C_FEATURE("avx", "avx")
    GPT2C_FEATURE("avx2", "avx2")
    GPT2C_FEATURE("fma", "fma")
    GPT2C_FEATURE("f16c", "f16c")
    GPT2C_FEATURE("avx512f", "avx512f")
    GPT2C_FEATURE("avx512bw", "avx512bw")
    GPT2C_FEATURE("avx512dq", "avx512dq")
    GPT2C_FEATURE("avx512vl", "avx512vl")
    GPT2C_FEATURE("avx512cd", "avx512cd")
    GPT2C_FEATURE("avx512vnni", "avx512vnni")
    GPT2C_FEATURE("avx512bf16", "avx512bf16")
    GPT2C_FEATURE("avxvnni", "avxvnni")
    GPT2C_FEATURE("amx-tile", "amx-tile")
    GPT2C_FEATURE("amx-bf16", "amx-bf16")
    GPT2C_FEATURE("amx-int8", "amx-int8")
#undef GPT2C_FEATURE
    known = false;
    return true;
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
    lib.handle_ = dlopen(load_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib.handle_) fail("{}: cannot load the compiled library: {}", path, dlerror());
    auto query = reinterpret_cast<gpt2c_library_query_fn>(dlsym(lib.handle_, GPT2C_LIBRARY_QUERY_SYMBOL));
    if (!query) fail("{}: not a gpt2c library (no {} symbol)", path, GPT2C_LIBRARY_QUERY_SYMBOL);
    lib.entry_ = query(GPT2C_ABI_VERSION);
    if (!lib.entry_)
        fail("{}: the library was built for another gpt2c ABI version (this runtime speaks version {}); recompile "
             "it with this gpt2c",
             path, GPT2C_ABI_VERSION);
    if (lib.entry_->abi_version != GPT2C_ABI_VERSION || !lib.entry_->metadata_json || !lib.entry_->forward ||
        !lib.entry_->prepare)
        fail("{}: malformed library descriptor (ABI version {})", path, lib.entry_->abi_version);

    lib.metadata_json_ = lib.entry_->metadata_json;
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(lib.metadata_json_);
        lib.config_ = parse_config(meta.at("config").dump(), path + " (embedded config)");
        lib.weights_ = parse_tensor_list(meta.at("weights"), path, "weights");
        lib.prepared_ = parse_tensor_list(meta.at("prepared"), path, "prepared");
        lib.arena_bytes_ = meta.at("arena_bytes").get<int64_t>();
        lib.kv_cache_floats_ = meta.at("kv_cache_floats").get<int64_t>();
        lib.target_cpu_ = meta.at("target").at("cpu").get<std::string>();
        lib.pipeline_ = meta.value("pipeline", "");
        std::string features = meta.at("target").at("features").get<std::string>();
        std::vector<std::string> missing = missing_cpu_features(features);
        if (!missing.empty()) {
            std::string list;
            for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
            fail("{}: compiled for CPU '{}' with features this CPU lacks: {}; recompile with --target-cpu=native "
                 "(or a --target-features= this CPU has)",
                 path, lib.target_cpu_, list);
        }
    } catch (const nlohmann::json::exception& e) {
        fail("{}: malformed metadata: {}", path, e.what());
    }
    const ModelConfig& c = lib.config_;
    int64_t want_kv = c.n_layer * 2 * c.n_positions * c.n_embd;
    if (lib.kv_cache_floats_ != want_kv)
        fail("{}: metadata kv_cache_floats {} does not match its config ({} expected)", path, lib.kv_cache_floats_, want_kv);
    if (lib.arena_bytes_ < 0 || lib.arena_bytes_ > kMaxArenaBytes)
        fail("{}: metadata arena_bytes {} is out of range", path, lib.arena_bytes_);
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
