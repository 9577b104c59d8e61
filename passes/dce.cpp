// passes/dce.cpp - dead-value elimination.
//
// A value is live when the returned logits depend on it. Everything else is
// dropped, weights included, so a compiled library never asks for a tensor
// it does not read. kv_append nodes have a side effect (they fill the KV
// cache), but they are always read by their layer's attention, so liveness
// through uses keeps exactly the ones that matter.
#include "passes/pass.h"

namespace gpt2c::passes {

void run_dce(ir::Module& module, const PassContext&) { module.compact(); }

}  // namespace gpt2c::passes
