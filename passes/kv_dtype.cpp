// passes/kv_dtype.cpp - stores the KV cache in the element type --kv-dtype asks for.
//
// Every kv_append gets dtype = "bf16" or "int8" (and that result type), or
// loses the attribute for f32. Attention widens what it reads back to float32,
// so only the storage and the bytes each step reads change: a bf16 cache holds
// twice the positions in the same memory and long-context decode reads half as
// much; int8 (a float32 scale per position of each head) about a quarter.
#include "passes/pass.h"

#include "support/error.h"

namespace gpt2c::passes {

void run_kv_dtype(ir::Module& module, const PassContext& context) {
    const std::string& dtype = context.kv_dtype;
    if (dtype != "f32" && dtype != "bf16" && dtype != "int8") fail("--kv-dtype={}: expected f32, bf16 or int8", dtype);
    for (ir::Node& node : module.nodes) {
        if (node.kind != ir::OpKind::KvAppend) continue;
        if (dtype == "f32") node.attrs.erase("dtype");
        else node.attrs["dtype"] = dtype;
        node.type.elem = dtype == "bf16" ? ir::ElemType::BF16 : dtype == "int8" ? ir::ElemType::I8 : ir::ElemType::F32;
    }
}

}  // namespace gpt2c::passes
