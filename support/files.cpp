// support/files.cpp - whole-file reads and atomic writes.
#include "support/files.h"

#include "support/error.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gpt2c {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) fail("{}: read failed", path);
    return content.str();
}

std::string temporary_path_for(const std::string& path) {
    static int counter = 0;
    return fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter++);
}

void write_file_atomically(const std::string& path, const std::string& content) {
    std::string tmp = temporary_path_for(path);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail("{}: cannot write: {}", path, std::strerror(errno));
        out.write(content.data(), std::streamsize(content.size()));
        out.close();
        if (!out) {
            std::remove(tmp.c_str());
            fail("{}: write failed", path);
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(tmp.c_str());
        fail("{}: cannot replace: {}", path, std::strerror(err));
    }
}

}  // namespace gpt2c
