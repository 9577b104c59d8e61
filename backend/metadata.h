// backend/metadata.h - the self-description a compiled library carries (JSON).
//
// The runtime reads it before running anything: the config the library was
// specialized for, the CPU features it needs, every weight it expects (name,
// shape) and the sizes of the buffers the host must provide.
#pragma once

#include "backend/buffer_plan.h"
#include "backend/target.h"
#include "ir/ir.h"

#include <string>
#include <vector>

namespace gpt2c::backend {

// `isa_features`: the instruction-set features the code may use (support/cpu_isa.h),
// the only ones the runtime checks.
std::string library_metadata_json(const ir::Module& module, const BufferPlan& plan, const TargetSpec& target,
                                  const std::vector<std::string>& isa_features, const std::string& pipeline);

}  // namespace gpt2c::backend
