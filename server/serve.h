// server/serve.h - `gpt2c serve`: the command's entry point (registered in tools/runtime_commands.cpp).
#pragma once

namespace gpt2c::server {

// Parses the options, listens, loads the model, serves until SIGTERM/SIGINT, drains, returns 0.
int cmd_serve(int argc, char** argv);

}  // namespace gpt2c::server
