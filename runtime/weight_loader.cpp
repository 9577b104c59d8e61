// runtime/weight_loader.cpp - finds, checks and converts the tensors a library needs.
#include "runtime/weight_loader.h"

#include "runtime/safetensors.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <regex>

namespace gpt2c {

namespace {

std::string format_shape(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

const TensorView* find_tensor(const SafetensorsFile& file, const std::string& name) {
    const std::string prefixed = "transformer." + name;
    const TensorView* plain = file.find(name);
    const TensorView* with_prefix = name == "lm_head.weight" ? nullptr : file.find(prefixed);
    if (plain && with_prefix)
        fail("{}: tensor \"{}\" is stored twice, as \"{}\" and \"{}\"", file.path(), name, name, prefixed);
    if (!plain && !with_prefix) {
        if (name == "lm_head.weight")
            fail("{}: missing tensor \"lm_head.weight\": the config has tie_word_embeddings = false, so the model "
                 "needs its own LM head",
                 file.path());
        fail("{}: missing tensor \"{}\" (also looked for \"{}\")", file.path(), name, prefixed);
    }
    return plain ? plain : with_prefix;
}

// Tensors of layers the config does not have mean the checkpoint is for another model.
void check_no_extra_layers(const SafetensorsFile& file, int64_t n_layer) {
    static const std::regex layer_name(R"(^(transformer\.)?h\.(\d+)\.)");
    for (const TensorView& t : file.tensors()) {
        std::smatch match;
        if (!std::regex_search(t.name, match, layer_name)) continue;
        const std::string digits = match[2].str();  // may be longer than any int64
        const bool beyond = digits.size() > 9 || std::stoll(digits) >= n_layer;
        if (beyond)
            fail("{}: tensor \"{}\" belongs to layer {}, but the compiled config has n_layer = {}", file.path(), t.name,
                 digits, n_layer);
    }
}

}  // namespace

std::string find_checkpoint(const std::string& model_path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(model_path, ec)) {
        fs::path file = fs::path(model_path) / "model.safetensors";
        if (!fs::exists(file, ec)) fail("{}: no model.safetensors in this model directory", model_path);
        return file.string();
    }
    if (!fs::exists(model_path, ec)) fail("{}: no such model directory or checkpoint file", model_path);
    return model_path;
}

std::string find_checkpoint_if_any(const std::string& model_path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path file = fs::is_directory(model_path, ec) ? fs::path(model_path) / "model.safetensors" : fs::path(model_path);
    return fs::is_regular_file(file, ec) ? file.string() : std::string();
}

CheckpointWeights::CheckpointWeights(const CompiledLibrary& library, const std::string& model_path)
    : file_(SafetensorsFile::open(find_checkpoint(model_path))) {
    // Names and shapes first, before anything is allocated or converted: a checkpoint of
    // another config is reported by its first mis-shaped tensor (both shapes), which says
    // more than an extra layer would.
    tensors_.reserve(library.weights().size());
    for (const TensorSpec& spec : library.weights()) {
        const TensorView* t = find_tensor(file_, spec.name);
        if (t->shape != spec.shape)
            fail("{}: tensor \"{}\" has shape {}, but the compiled config needs {}", file_.path(), t->name,
                 format_shape(t->shape), format_shape(spec.shape));
        tensors_.push_back(t);
    }
    check_no_extra_layers(file_, library.config().n_layer);
}

const float* CheckpointWeights::view_f32(size_t i) const {
    const TensorView& tensor = *tensors_.at(i);
    if (tensor.dtype != DType::F32 || reinterpret_cast<uintptr_t>(tensor.data) % alignof(float) != 0) return nullptr;
    const float* data = reinterpret_cast<const float*>(tensor.data);
    const size_t n = size_t(tensor.numel());
    // Finite floats have an exponent below all ones; OR-ing a flag per element keeps the scan vectorized.
    uint32_t special = 0;
    for (size_t e = 0; e < n; ++e) {
        uint32_t bits;
        std::memcpy(&bits, data + e, 4);
        special |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (special)
        for (size_t e = 0; e < n; ++e)
            if (!std::isfinite(data[e]))
                fail("{}: tensor '{}': element {} is {}; expected finite weights (a NaN or infinity makes every logit NaN)",
                     file_.path(), tensor.name, e, data[e]);
    return data;
}

AlignedBuffer<float> CheckpointWeights::load(size_t i) const {
    const TensorView& tensor = *tensors_.at(i);
    AlignedBuffer<float> buffer(size_t(tensor.numel()));
    // NaN or infinite weights would turn every logit into NaN: reject them here, naming the element.
    convert_to_f32(tensor, file_.path(), buffer.data(), /*require_finite=*/true);
    return buffer;
}

void CheckpointWeights::prefetch_source(size_t i) const {
#ifdef MADV_POPULATE_READ
    const TensorView& tensor = *tensors_.at(i);
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = uintptr_t(tensor.data) / page * page;
    const uintptr_t end = uintptr_t(tensor.data) + tensor.nbytes;
    // Advice only (older kernels refuse it): reading faults the pages in anyway.
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);
#else
    (void)i;
#endif
}

void CheckpointWeights::release_source(size_t i) const {
    const TensorView& tensor = *tensors_.at(i);
    // Whole pages strictly inside the tensor: a neighbour sharing a page keeps it.
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(tensor.data) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(tensor.data) + tensor.nbytes) / page * page;
    // Advice only: a failure changes memory use, never results.
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace gpt2c
