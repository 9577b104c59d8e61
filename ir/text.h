// ir/text.h - the textual form of the IR: print, and parse back to the same module.
//
//   module @name {n_layer = 2, ...} {
//     %tokens = input : i32[T]
//     %wte = weight {tensor = "wte.weight", layout = "nk"} : f32[97,32]
//     %x = embed %tokens, %wte, %wpe : f32[T,32]
//     ...
//     return %logits
//   }
//
// Lines starting with '//' are comments. print(parse(text)) == text for any
// printed module, and parse(print(m)) equals m.
#pragma once

#include "ir/ir.h"

#include <string>
#include <string_view>

namespace gpt2c::ir {

std::string print_module(const Module& module);

// Throws gpt2c::Error "<source>:<line>:<col>: ..." on malformed text. Does not
// verify; call verify() for the semantic checks.
Module parse_module(std::string_view text, const std::string& source = "<ir>");

std::string format_attr_value(const AttrValue& value);

}  // namespace gpt2c::ir
