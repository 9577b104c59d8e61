// backend/kernel_call.h - which kernel computes a node, with which buffers and scalars.
//
// The one table from graph ops to kernels (backend/kernels/). Codegen turns a
// KernelCall into a specialized task function plus a parallel_for call.
#pragma once

#include "ir/ir.h"

#include <string>
#include <vector>

namespace gpt2c::backend {

struct Scalar {
    enum class Kind { Int, Float, T, S, L };
    Kind kind = Kind::Int;
    int64_t i = 0;
    double f = 0.0;

    static Scalar integer(int64_t v) { return {Kind::Int, v, 0.0}; }
    static Scalar real(double v) { return {Kind::Float, 0, v}; }
    static Scalar of(ir::Dim d);
};

struct KernelCall {
    std::string kernel;         // "linear" -> gpt2c_k_linear and gpt2c_k_linear_tasks
    std::vector<int> pointers;  // p[i]: a node's buffer, or -1 for null
    std::vector<Scalar> scalars;
};

KernelCall describe_kernel_call(const ir::Module& module, int node);

int64_t activation_code(const std::string& name);

}  // namespace gpt2c::backend
