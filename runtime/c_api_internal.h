// runtime/c_api_internal.h - what the C API's translation units share: errors as statuses.
//
// Every entry point is a wall: no C++ exception crosses it (see guarded()). The
// message of a failure goes to a thread_local string that gpt2c_last_error() returns.
#pragma once

#pragma GCC visibility push(default)
#include <gpt2c/runtime.h>
#pragma GCC visibility pop

#include "support/error.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

namespace gpt2c::c_api {

// Records `message` as the calling thread's last error; returns `status`.
gpt2c_status set_error(gpt2c_status status, std::string message);

// A failure whose code is decided by the step that raised it.
struct StepError {
    gpt2c_status status;
    std::string message;
};

// Runs `body` (returning gpt2c_status), turning every exception into a status.
// gpt2c::Error maps to `error_status`; a gpt2c::Error about memory to OUT_OF_MEMORY.
template <typename Body>
gpt2c_status guarded(const char* function, gpt2c_status error_status, Body&& body) noexcept {
    try {
        return body();
    } catch (const StepError& e) {
        return set_error(e.status, e.message);
    } catch (const gpt2c::Error& e) {
        std::string_view what = e.what();
        // AlignedBuffer reports a failed allocation as gpt2c::Error("out of memory ...").
        if (what.find("out of memory") != std::string_view::npos)
            return set_error(GPT2C_ERROR_OUT_OF_MEMORY, std::string(what));
        return set_error(error_status, std::string(what));
    } catch (const std::bad_alloc&) {
        return set_error(GPT2C_ERROR_OUT_OF_MEMORY, std::string(function) + ": out of memory");
    } catch (const std::exception& e) {
        return set_error(GPT2C_ERROR_INTERNAL, std::string(function) + ": internal error: " + e.what());
    } catch (...) {
        return set_error(GPT2C_ERROR_INTERNAL, std::string(function) + ": internal error: unknown exception");
    }
}

[[noreturn]] inline void step_fail(gpt2c_status status, std::string message) {
    throw StepError{status, std::move(message)};
}

// Copies `values` into a malloc'ed array (never NULL on success, even when empty).
template <typename T>
T* malloc_copy(const T* values, size_t count, size_t extra = 0) {
    size_t n = count + extra;
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    T* out = static_cast<T*>(std::malloc(n ? n * sizeof(T) : 1));
    if (!out) throw std::bad_alloc();
    if (count) std::memcpy(out, values, count * sizeof(T));
    return out;
}

inline gpt2c_status null_argument(const char* function, const char* argument) {
    return set_error(GPT2C_ERROR_INVALID_ARGUMENT, std::string(function) + ": " + argument + " is NULL");
}

}  // namespace gpt2c::c_api
