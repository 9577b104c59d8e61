// tools/pipeline_options.h - the options compile and opt share: -O, --passes and the IR inspection flags.
#pragma once

#include "passes/pass_manager.h"
#include "tools/args.h"

#include <vector>

namespace gpt2c::tools {

std::vector<OptionSpec> pipeline_option_specs();

struct PipelineChoice {
    std::vector<std::string> passes;
    passes::Instrumentation instrumentation;
    passes::PassContext context;
};

PipelineChoice pipeline_from_args(const Args& args, int default_level);

}  // namespace gpt2c::tools
