// tools/cmd_pack_weights.cpp - `gpt2c pack-weights`: write LIB.weights, the prepared weights for instant load.
#include "runtime/model.h"
#include "runtime/packed_weights.h"
#include "support/error.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/driver.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <iostream>

namespace gpt2c::tools {

void pack_weights(const std::string& library, const std::string& model_path, int threads, const std::string& output) {
    const auto start = std::chrono::steady_clock::now();
    auto model = Model::load(library, model_path, threads, WeightsSource::checkpoint);
    write_packed_weights(model->library(), model->checkpoint_path(), model->forward_weights(), output, model->pool());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << fmt::format("{}: packed the weights of {} for {} -> {} ({:.1f} MB, {:.2f} s)\n", program_name(),
                             model->checkpoint_path(), library, output,
                             double(std::filesystem::file_size(output)) / 1e6, seconds);
}

std::shared_ptr<Model> load_model_noting_pack(const std::string& library, const std::string& model_path, int threads) {
    auto model = Model::load(library, model_path, threads);
    const std::string& source = model->weights_source();
    if (const size_t open = source.find(" ("); open != std::string::npos && source.rfind("checkpoint ", 0) == 0)
        std::cerr << fmt::format("{}: note: loaded the {}; re-run `{} pack-weights --lib {} --model {}` to load in "
                                 "place again\n",
                                 program_name(), source, program_name(), library, model_path);
    return model;
}

int cmd_pack_weights(int argc, char** argv) {
    Args args("pack-weights",
              {
                  {"--lib", true, "the compiled library (from gpt2c compile)"},
                  {"--model", true, "the model directory (with model.safetensors) or the checkpoint file"},
                  {"-o", true, "where to write (default: LIB.weights beside the library, where loading looks)"},
                  {"--threads", true, "worker threads (default: one per hardware thread)"},
              },
              argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: " << program_name()
                  << " pack-weights --lib LIB.so --model MODEL [-o LIB.weights]\n"
                     "Prepares the checkpoint's weights for LIB.so (folded, packed, quantized) and writes them\n"
                     "in the layout forward reads. Loading LIB.so then maps LIB.weights in place instead of\n"
                     "preparing, as long as the library and the checkpoint are the ones it was made from.\n"
                     "Run it on a machine that can run LIB.so.\n\n"
                  << args.usage();
        return 0;
    }
    const std::string library = args.require("--lib");
    pack_weights(library, args.require("--model"), int(args.get_int("--threads", 0, 0, 1024)),
                 args.get("-o").value_or(packed_weights_path(library)));
    return 0;
}

}  // namespace gpt2c::tools
