// passes/pass_manager.h - named passes, -O pipelines, and LLVM-style inspection flags.
#pragma once

#include "passes/pass.h"

#include <iosfwd>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gpt2c::passes {

struct PassInfo {
    std::string_view name;
    std::string_view summary;
    void (*run)(ir::Module&, const PassContext&);
};

const std::vector<PassInfo>& registered_passes();
const PassInfo* find_pass(std::string_view name);

// The passes of -O0 .. -O3 (level outside 0..3 is a gpt2c::Error).
std::vector<std::string> pipeline_for_level(int level);

// "a,b,c" -> names; an unknown name is a gpt2c::Error listing the known ones.
std::vector<std::string> parse_pass_list(std::string_view list);

struct Instrumentation {
    bool print_before_all = false;
    bool print_after_all = false;
    std::set<std::string> print_before;
    std::set<std::string> print_after;
    std::string dump_dir;  // one file per pass: NN-passname.ir (00-input.ir first)
    bool verify_each = false;
    bool time_passes = false;
    std::ostream* log = nullptr;  // where print-* and time-passes go (stderr when null)
};

// Runs `pipeline` on `module`. The module is verified before the first pass
// and after the last (after every pass with verify_each); a failure names the
// pass that broke it.
void run_pipeline(ir::Module& module, const std::vector<std::string>& pipeline, const PassContext& context,
                  const Instrumentation& instrumentation = {});

std::string describe_pipeline(const std::vector<std::string>& pipeline);

}  // namespace gpt2c::passes
