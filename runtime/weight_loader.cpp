// runtime/weight_loader.cpp - finds, checks and converts the tensors a library needs.
#include "runtime/weight_loader.h"

#include "runtime/safetensors.h"

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

std::vector<AlignedBuffer<float>> load_weights(const CompiledLibrary& library, const std::string& model_path) {
    SafetensorsFile file = SafetensorsFile::open(find_checkpoint(model_path));
    // Names and shapes first, before anything is allocated or converted: a checkpoint of
    // another config is reported by its first mis-shaped tensor (both shapes), which says
    // more than an extra layer would.
    std::vector<const TensorView*> tensors;
    tensors.reserve(library.weights().size());
    for (const TensorSpec& spec : library.weights()) {
        const TensorView* t = find_tensor(file, spec.name);
        if (t->shape != spec.shape)
            fail("{}: tensor \"{}\" has shape {}, but the compiled config needs {}", file.path(), t->name,
                 format_shape(t->shape), format_shape(spec.shape));
        tensors.push_back(t);
    }
    check_no_extra_layers(file, library.config().n_layer);
    std::vector<AlignedBuffer<float>> raw;
    raw.reserve(library.weights().size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        AlignedBuffer<float> buffer(size_t(library.weights()[i].numel()));
        // NaN or infinite weights would turn every logit into NaN: reject them here, naming the element.
        convert_to_f32(*tensors[i], file.path(), buffer.data(), /*require_finite=*/true);
        raw.push_back(std::move(buffer));
    }
    return raw;
}

}  // namespace gpt2c
