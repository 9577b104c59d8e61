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

#include <string>
#include <vector>

namespace gpt2c {

// The checkpoint file for MODEL: a directory's model.safetensors, or the file itself.
std::string find_checkpoint(const std::string& model_path);

// raw[i] holds library.weights()[i] as float32. Throws gpt2c::Error naming
// the file and tensor for anything missing, duplicated or mis-shaped.
std::vector<AlignedBuffer<float>> load_weights(const CompiledLibrary& library, const std::string& model_path);

}  // namespace gpt2c
