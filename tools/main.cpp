// tools/main.cpp - the gpt2c command-line driver: dispatches to a subcommand, reports errors.
#include "support/error.h"
#include "tools/commands.h"

#include <cstring>
#include <iostream>

namespace {

const char* kUsage =
    "usage: gpt2c <command> [options]   (gpt2c <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  compile     compile a GPT-2 config into a native shared library\n"
    "  opt         run graph passes on an IR file and print the result\n"
    "  logits      write the logits of a token sequence to a .npy file\n"
    "  generate    greedily continue a token sequence\n"
    "  run         continue a text prompt (greedy or sampled), streaming the text\n"
    "  tokenize    print the token ids of the text on stdin\n"
    "  detokenize  write the text of the token ids (a JSON array) on stdin\n"
    "  bench       measure prefill and decode speed, load time and memory\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace gpt2c::tools;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    std::string command = argv[1];
    try {
        if (command == "compile") return cmd_compile(argc, argv);
        if (command == "opt") return cmd_opt(argc, argv);
        if (command == "logits") return cmd_logits(argc, argv);
        if (command == "generate") return cmd_generate(argc, argv);
        if (command == "run") return cmd_run(argc, argv);
        if (command == "tokenize") return cmd_tokenize(argc, argv);
        if (command == "detokenize") return cmd_detokenize(argc, argv);
        if (command == "bench") return cmd_bench(argc, argv);
        std::cerr << "gpt2c: unknown command '" << command << "'\n" << kUsage;
        return 2;
    } catch (const gpt2c::Error& e) {
        std::cerr << "gpt2c: error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "gpt2c: internal error: " << e.what() << "\n";
        return 1;
    }
}
