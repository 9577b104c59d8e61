// tests/fuzz/fuzz_ir_parser.cpp - libFuzzer target: the textual IR parser, verifier and printer.
//
// Arbitrary text must parse or throw gpt2c::Error. A parsed module must print
// (verified or not) and verify or throw gpt2c::Error. A module that verifies
// must round-trip: print -> parse -> print gives the same text (trap otherwise).
#include "ir/ir.h"
#include "ir/text.h"
#include "ir/verifier.h"
#include "support/error.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using namespace gpt2c;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::optional<ir::Module> module;
    try {
        module = ir::parse_module(text, "fuzz");
    } catch (const Error&) {
        return 0;
    }
    const std::string printed = ir::print_module(*module);
    try {
        ir::verify(*module);
    } catch (const Error&) {
        return 0;
    }
    // Outside any try: printed text of a valid module must parse back, and print the same.
    const ir::Module reparsed = ir::parse_module(printed, "fuzz-reprint");
    if (ir::print_module(reparsed) != printed) __builtin_trap();
    return 0;
}
