// support/files.cpp - whole-file reads and atomic writes.
#include "support/files.h"

#include "support/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gpt2c {

std::string read_file(const std::string& path, size_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) fail("{}: is a directory, expected a file", path);
    std::string content;
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("{}: cannot read: {}", path, std::strerror(errno));
        if (n == 0) break;
        if (size_t(n) > max_bytes - content.size())
            fail("{}: larger than {} bytes; expected a smaller file", path, max_bytes);
        content.append(buffer, size_t(n));
    }
    return content;
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
