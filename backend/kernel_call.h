// backend/kernel_call.h - which kernel computes a node, with which buffers and scalars.
//
// The one table from graph ops to kernels (backend/kernels/). Codegen turns a
// KernelCall into a specialized task function plus a parallel_for call.
#pragma once

#include "ir/ir.h"
#include "passes/pass.h"

#include <string>
#include <vector>

namespace gpt2c::backend {

struct Scalar {
    // Int and Float are compile-time constants the task function is specialized
    // for; T, S, L are the runtime sizes; Layer is an integer known at compile
    // time but passed at run time (KernelArgs.layer), so that the 12-48 layers'
    // attention and KV appends share one task function instead of one each
    // (most of the compile time otherwise). At most one per call.
    enum class Kind { Int, Float, T, S, L, Layer };
    Kind kind = Kind::Int;
    int64_t i = 0;
    double f = 0.0;

    static Scalar integer(int64_t v) { return {Kind::Int, v, 0.0}; }
    static Scalar layer(int64_t v) { return {Kind::Layer, v, 0.0}; }
    static Scalar real(double v) { return {Kind::Float, 0, v}; }
    static Scalar of(ir::Dim d);
};

struct KernelCall {
    std::string kernel;         // "linear" -> gpt2c_k_linear and gpt2c_k_linear_tasks
    std::vector<int> pointers;  // p[i]: a node's buffer, or -1 for null
    std::vector<Scalar> scalars;
};

// `target` picks among kernels written for CPU features (the integer dot
// product's register width); the graph already says which storage each op reads.
KernelCall describe_kernel_call(const ir::Module& module, int node, const passes::TargetInfo& target);

int64_t activation_code(const std::string& name);

}  // namespace gpt2c::backend
