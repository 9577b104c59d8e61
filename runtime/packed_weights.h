// runtime/packed_weights.h - LIB.weights: a model's prepared weights, in the layout forward reads.
//
// Loading from a checkpoint runs the library's prepare (fold layer norms, pack
// panels, quantize): seconds for 124M in f32, half a minute for XL. A packed
// file holds the result, so a later load maps it read-only and uses it in
// place (no copy, no prepare; several processes share its page-cache pages).
// The format is in docs/PACKED_WEIGHTS.md. A pack is used only for the
// library it was made by (a checksum of the .so file) and the checkpoint it
// was made from (size, modification time and sampled bytes: cheap to check);
// anything else makes it stale and the checkpoint is loaded instead. A pack
// that is damaged (truncated, a bad header, data whose checksum differs) is an
// error naming the file, and nothing of it is used.
#pragma once

#include "runtime/compiled_library.h"
#include "runtime/file_mapping.h"
#include "runtime/thread_pool.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gpt2c {

// LIB.so -> LIB.weights (any other name: NAME.weights).
std::string packed_weights_path(const std::string& library_path);

// What forward reads: raw weights [i] with used_by_forward, prepared tensors [p]
// with used_by_forward; null for the others.
struct ForwardWeights {
    std::vector<const float*> raw;
    std::vector<const float*> prepared;
};

// Writes `weights` (of a model loaded from `checkpoint_path` with `library`) to
// `path` atomically: a temporary file beside it, renamed at the end. The
// checksums are computed on `pool`'s threads.
void write_packed_weights(const CompiledLibrary& library, const std::string& checkpoint_path,
                          const ForwardWeights& weights, const std::string& path, ThreadPool& pool);

class PackedWeights {
public:
    // The pack at `path` if it exists and was made by `library` from the
    // checkpoint at `checkpoint_path` (empty: there is none to compare with).
    // Absent or stale: nullopt, and *why_not says why (empty when absent).
    // Damaged: throws gpt2c::Error naming the file and what is wrong. The data
    // checksums are verified on `pool`'s threads, which also maps every page in.
    static std::optional<PackedWeights> open(const std::string& path, const CompiledLibrary& library,
                                             const std::string& checkpoint_path, ThreadPool& pool,
                                             std::string* why_not);
    // Moves keep every pointer in weights() valid: the mapping moves, its address does not.
    PackedWeights(PackedWeights&&) noexcept = default;
    PackedWeights& operator=(PackedWeights&&) noexcept = default;
    PackedWeights(const PackedWeights&) = delete;
    PackedWeights& operator=(const PackedWeights&) = delete;

    const ForwardWeights& weights() const { return weights_; }
    const std::string& path() const { return path_; }

private:
    PackedWeights() = default;
    std::string path_;
    FileMapping mapping_;
    ForwardWeights weights_;
};

}  // namespace gpt2c
