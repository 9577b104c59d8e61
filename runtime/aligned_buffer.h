// runtime/aligned_buffer.h - an owned, 64-byte aligned, zero-initialized array.
//
// Large buffers (the arena, the KV cache, prepared weights) come straight
// from mmap: the kernel hands out zero pages lazily, so nothing is touched
// (and nothing counts towards RSS) until it is first written, unless the
// buffer asks for its pages up front (populate). Buffers of 2 MiB and more use
// transparent huge pages where the kernel offers them (madvise mode).
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
    // populate: map every page now, so the first writes do not each take a page fault:
    // for buffers whose first use is latency-critical (a context's arena).
    explicit AlignedBuffer(size_t count, bool populate = false) : count_(count) {
        if (count == 0) return;
        if (count > (SIZE_MAX - 2 * kHugePage) / sizeof(T)) fail("allocation of {} elements is too large", count);
        bytes_ = (count * sizeof(T) + 4095) / 4096 * 4096;
        if (bytes_ < kHugePage) {
            void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
            if (p == MAP_FAILED) fail("out of memory allocating {} bytes", bytes_);
            data_ = static_cast<T*>(p);
            return;
        }
        // Big buffers start on a 2 MiB boundary and ask for transparent huge pages:
        // one fault (and one TLB entry) per 2 MiB instead of per 4 KiB. A KV cache
        // grows a position at a time in 24+ separate regions per sequence, and the
        // weights stream through every step. Where THP is off this changes nothing.
        bytes_ = (bytes_ + kHugePage - 1) / kHugePage * kHugePage;
        void* raw = mmap(nullptr, bytes_ + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED) fail("out of memory allocating {} bytes", bytes_);
        const auto start = (reinterpret_cast<uintptr_t>(raw) + kHugePage - 1) / kHugePage * kHugePage;
        const size_t head = start - reinterpret_cast<uintptr_t>(raw);
        if (head) munmap(raw, head);
        if (kHugePage - head) munmap(reinterpret_cast<char*>(start) + bytes_, kHugePage - head);
        data_ = reinterpret_cast<T*>(start);
        madvise(data_, bytes_, MADV_HUGEPAGE);
        if (populate) populate_pages();
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
    static constexpr size_t kHugePage = size_t(2) << 20;

    // Maps every page in now (the kernel's MADV_POPULATE_WRITE, or a write per page).
    void populate_pages() {
#ifdef MADV_POPULATE_WRITE
        if (madvise(data_, bytes_, MADV_POPULATE_WRITE) == 0) return;
#endif
        auto* bytes = reinterpret_cast<volatile char*>(data_);
        for (size_t i = 0; i < bytes_; i += 4096) bytes[i] = 0;
    }

    void release() {
        if (data_) munmap(data_, bytes_);
        data_ = nullptr;
    }
    T* data_ = nullptr;
    size_t count_ = 0;
    size_t bytes_ = 0;
};

}  // namespace gpt2c
