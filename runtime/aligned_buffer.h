// runtime/aligned_buffer.h - an owned, 64-byte aligned, zero-initialized array.
//
// Large buffers (the arena, the KV cache, prepared weights) come straight
// from mmap: the kernel hands out zero pages lazily, so nothing is touched
// (and nothing counts towards RSS) until it is first written, unless the
// buffer asks for its pages up front (populate).
#pragma once

#include "support/error.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace gpt2c {

template <typename T>
class AlignedBuffer {
public:
    AlignedBuffer() = default;
    // populate: map every page now (MAP_POPULATE), so the first writes do not each take a page
    // fault: for buffers whose first use is latency-critical (a context's KV cache and arena).
    explicit AlignedBuffer(size_t count, bool populate = false) : count_(count) {
        if (count == 0) return;
        if (count > (SIZE_MAX - 4096) / sizeof(T)) fail("allocation of {} elements is too large", count);
        bytes_ = (count * sizeof(T) + 4095) / 4096 * 4096;
        const int flags = MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0);
        void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, flags, -1, 0);
        if (p == MAP_FAILED) fail("out of memory allocating {} bytes", bytes_);
        data_ = static_cast<T*>(p);
    }
    AlignedBuffer(AlignedBuffer&& other) noexcept { *this = std::move(other); }
    AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
        if (this != &other) {
            release();
            data_ = std::exchange(other.data_, nullptr);
            count_ = std::exchange(other.count_, 0);
            bytes_ = std::exchange(other.bytes_, 0);
        }
        return *this;
    }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    ~AlignedBuffer() { release(); }

    T* data() { return data_; }
    const T* data() const { return data_; }
    size_t size() const { return count_; }

private:
    void release() {
        if (data_) munmap(data_, bytes_);
        data_ = nullptr;
    }
    T* data_ = nullptr;
    size_t count_ = 0;
    size_t bytes_ = 0;
};

}  // namespace gpt2c
