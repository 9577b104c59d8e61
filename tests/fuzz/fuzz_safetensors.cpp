// tests/fuzz/fuzz_safetensors.cpp - libFuzzer target: SafetensorsFile::open and convert_to_f32.
//
// The input bytes become the file (an in-memory memfd, opened through
// /proc/self/fd, so the real open + fstat + mmap path runs and nothing touches
// the disk). Opening must succeed or throw gpt2c::Error; for every F32, F16 or
// BF16 tensor of at most 1<<20 elements, convert_to_f32 runs into a buffer of
// exactly numel floats (heap-allocated, so ASan sees any overrun), once
// plainly and once with require_finite (which may throw gpt2c::Error).
#include "runtime/safetensors.h"
#include "support/error.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

using namespace gpt2c;

namespace {

struct MemFile {
    int fd = -1;
    std::string path;
};

const MemFile& mem_file() {
    static const MemFile file = [] {
        MemFile f;
        f.fd = ::memfd_create("fuzz.safetensors", MFD_CLOEXEC);
        if (f.fd < 0) {
            std::perror("fuzz_safetensors: memfd_create");
            std::abort();
        }
        f.path = "/proc/self/fd/" + std::to_string(f.fd);
        return f;
    }();
    return file;
}

void write_all(int fd, const uint8_t* data, size_t size) {
    if (::ftruncate(fd, 0) != 0) std::abort();
    size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        if (n <= 0) std::abort();
        done += static_cast<size_t>(n);
    }
}

constexpr int64_t kMaxElements = int64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const MemFile& file = mem_file();
    write_all(file.fd, data, size);
    try {
        const SafetensorsFile st = SafetensorsFile::open(file.path);
        for (const TensorView& t : st.tensors()) {
            if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16) continue;
            const int64_t numel = t.numel();
            if (numel < 0 || numel > kMaxElements) continue;
            if (t.nbytes != static_cast<size_t>(numel) * dtype_size(t.dtype)) __builtin_trap();
            // new[] of exactly numel floats (not a rounded-up vector capacity): overruns are reported.
            const std::unique_ptr<float[]> out(new float[static_cast<size_t>(numel)]);
            convert_to_f32(t, st.path(), out.get());
            try {
                convert_to_f32(t, st.path(), out.get(), /*require_finite=*/true);
            } catch (const Error&) {
            }
        }
    } catch (const Error&) {
    }
    return 0;
}
