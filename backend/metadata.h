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

namespace gpt2c::backend {

std::string library_metadata_json(const ir::Module& module, const BufferPlan& plan, const TargetSpec& target,
                                  const std::string& pipeline);

}  // namespace gpt2c::backend
