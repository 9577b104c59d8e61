// runtime/aligned_buffer.h - an owned, 64-byte aligned, zero-initialized array.
#pragma once

#include "support/error.h"

#include <cstdlib>
#include <cstring>
#include <memory>

namespace gpt2c {

template <typename T>
class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t count) : count_(count) {
        if (count == 0) return;
        if (count > SIZE_MAX / sizeof(T) - 64) fail("allocation of {} elements is too large", count);
        size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
        data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
        if (!data_) fail("out of memory allocating {} bytes", bytes);
        std::memset(data_.get(), 0, bytes);
    }
    T* data() { return data_.get(); }
    const T* data() const { return data_.get(); }
    size_t size() const { return count_; }

private:
    struct Free {
        void operator()(T* p) const { std::free(p); }
    };
    std::unique_ptr<T, Free> data_;
    size_t count_ = 0;
};

}  // namespace gpt2c
