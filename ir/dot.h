// ir/dot.h - draws a Module as a Graphviz digraph (`dot -Tsvg`), for reading graphs.
//
// One box per node, labelled with its name, op, attributes and type; weights
// and values derived only from weights sit in a grey "weights" cluster; edges
// run from each operand to its user; the returned value is drawn in bold red
// and points at a "return" marker.
#pragma once

#include "ir/ir.h"

#include <string>

namespace gpt2c::ir {

std::string print_dot(const Module& module);

}  // namespace gpt2c::ir
