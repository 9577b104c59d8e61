// runtime/weight_loader.h - a checkpoint's tensors, matched to what a compiled library expects.
//
// Names are accepted with or without the "transformer." prefix (lm_head.weight
// never has it); attn.bias / attn.masked_bias buffers are ignored; an untied
// model needs lm_head.weight, a tied one uses wte. Shapes must equal the
// library's (Conv1D weights in their [in, out] layout). F32, F16 and BF16 are
// converted to float32; a NaN or infinity in a weight is an error naming the
// tensor and element (attn.bias / masked_bias are never read, so theirs are fine).
#pragma once

#include "runtime/aligned_buffer.h"
#include "runtime/compiled_library.h"
#include "runtime/safetensors.h"

#include <string>
#include <vector>

namespace gpt2c {

// The checkpoint file for MODEL: a directory's model.safetensors, or the file itself.
std::string find_checkpoint(const std::string& model_path);
// The same, or "" when there is none (a directory without model.safetensors, a missing path).
std::string find_checkpoint_if_any(const std::string& model_path);

// The checkpoint tensors a compiled library needs. Opening checks every name
// and shape (and that no layer beyond the config is present) before anything is
// converted. A float32 tensor is used in place, straight from the mapping
// (view_f32); others are converted to float32 on demand (load), so a loader
// holds only the few it is preparing (see Model::load). The mapping lives as
// long as this object.
class CheckpointWeights {
public:
    // Throws gpt2c::Error naming the file and tensor for anything missing,
    // duplicated or mis-shaped.
    CheckpointWeights(const CompiledLibrary& library, const std::string& model_path);

    size_t size() const { return tensors_.size(); }
    // Weight i in place when the file stores it as aligned float32, else null.
    // Checks every element is finite first (a gpt2c::Error names the element).
    const float* view_f32(size_t i) const;
    // library.weights()[i] converted to float32; a NaN or infinity is a gpt2c::Error.
    AlignedBuffer<float> load(size_t i) const;
    // Bytes of weight i in the file.
    size_t source_bytes(size_t i) const { return tensors_.at(i)->nbytes; }
    // Maps in the file pages behind weight i in one call, ahead of reading it
    // all (cheaper than a page fault per few pages).
    void prefetch_source(size_t i) const;
    // Drops the file pages behind weight i from this process's memory (they
    // stay in the page cache, and a later read maps them back): once a weight
    // is converted or prepared, its pages only cost RSS.
    void release_source(size_t i) const;

private:
    SafetensorsFile file_;
    std::vector<const TensorView*> tensors_;  // into file_, library.weights() order
};

}  // namespace gpt2c
