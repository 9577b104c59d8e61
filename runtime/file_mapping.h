// runtime/file_mapping.h - a read-only mapping of a whole file, unmapped when its owner goes.
//
// What the checkpoint (safetensors.cpp) and the packed weights (packed_weights.cpp)
// map: move-only, so the classes that hold one need no hand-written moves.
#pragma once

#include "support/error.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <utility>

namespace gpt2c {

class FileMapping {
public:
    FileMapping() = default;
    // Maps `bytes` of the open file `fd` read-only (extra_flags: e.g. MAP_POPULATE).
    // Throws gpt2c::Error naming `path`.
    static FileMapping map(int fd, size_t bytes, int sharing, int extra_flags, const std::string& path) {
        FileMapping m;
        void* p = ::mmap(nullptr, bytes, PROT_READ, sharing | extra_flags, fd, 0);
        if (p == MAP_FAILED) fail("{}: cannot mmap file: {}", path, std::strerror(errno));
        m.data_ = p;
        m.bytes_ = bytes;
        return m;
    }
    FileMapping(FileMapping&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
    FileMapping& operator=(FileMapping&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            bytes_ = std::exchange(other.bytes_, 0);
        }
        return *this;
    }
    FileMapping(const FileMapping&) = delete;
    FileMapping& operator=(const FileMapping&) = delete;
    ~FileMapping() { release(); }

    const void* data() const { return data_; }
    size_t size() const { return bytes_; }

private:
    void release() {
        if (data_) ::munmap(data_, bytes_);
        data_ = nullptr;
    }
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace gpt2c
