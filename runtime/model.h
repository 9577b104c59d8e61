// runtime/model.h - a compiled library with its weights prepared, and sessions that run it.
//
// Model owns what sessions share: the library, the prepared weights and the
// thread pool. A Context (runtime/context.h) owns the KV cache of several
// sequences and runs them in batched steps; a Session is one sequence: prefill
// is one forward() over many tokens, decode is forward() over one token at a time.
#pragma once

#include "runtime/aligned_buffer.h"
#include "runtime/compiled_library.h"
#include "runtime/packed_weights.h"
#include "runtime/thread_pool.h"
#include "runtime/weight_loader.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gpt2c {

// Where a model's weights come from.
enum class WeightsSource {
    automatic,   // LIB.weights beside the library when it is current, else the checkpoint
    checkpoint,  // always the checkpoint (what `gpt2c pack-weights` packs from)
};

class Model {
public:
    // Loads `library_path`, then the weights: the packed LIB.weights beside it
    // when it was made by this library from this checkpoint (runtime/packed_weights.h),
    // else from `model_path` (a directory with model.safetensors, or the file),
    // preparing them. threads <= 0: one per hardware thread.
    static std::shared_ptr<Model> load(const std::string& library_path, const std::string& model_path, int threads = 0,
                                       WeightsSource source = WeightsSource::automatic);

    const CompiledLibrary& library() const { return library_; }
    const ModelConfig& config() const { return library_.config(); }
    ThreadPool& pool() { return *pool_; }
    const float* const* raw_weight_table() const { return raw_ptrs_.data(); }
    const float* const* prepared_table() const { return prepared_ptrs_.data(); }
    double load_seconds() const { return load_seconds_; }
    // Where the weights came from, for a log line: "packed weights LIB.weights",
    // or "checkpoint FILE" with why a LIB.weights beside the library was not used.
    const std::string& weights_source() const { return weights_source_; }
    // The tensors forward reads, for write_packed_weights.
    ForwardWeights forward_weights() const;
    // The checkpoint file these weights came from or were packed from ("" if none).
    const std::string& checkpoint_path() const { return checkpoint_path_; }

private:
    explicit Model(CompiledLibrary library) : library_(std::move(library)) {}
    void prepare_weights();
    bool use_packed(const std::string& library_path);
    const float* acquire_raw(size_t i);

    CompiledLibrary library_;
    std::unique_ptr<ThreadPool> pool_;
    std::optional<PackedWeights> packed_;            // when loaded from LIB.weights: backs every pointer below
    std::unique_ptr<CheckpointWeights> checkpoint_;  // otherwise its mapping backs the float32 weights used in place
    std::vector<AlignedBuffer<float>> converted_;    // raw weights the file does not store as float32
    AlignedBuffer<std::byte> prepared_storage_;      // every prepared tensor forward reads, back to back
    std::vector<AlignedBuffer<std::byte>> temporaries_;  // prepared tensors only prepare reads
    std::vector<const float*> raw_ptrs_;
    std::vector<const float*> prepared_ptrs_;
    double load_seconds_ = 0;
    std::string weights_source_;
    std::string checkpoint_path_;
};

class Context;

// One sequence: a Context with one slot (runtime/context.h).
class Session {
public:
    // `context` positions (0: the model's n_positions).
    explicit Session(std::shared_ptr<Model> model, int64_t context = 0);
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    // Runs `tokens` after the n_past() already seen and writes the logits of
    // the last n_logits of them to `logits` ([n_logits, vocab_size]).
    // Throws gpt2c::Error (and changes nothing) for an empty call, an id out
    // of range, or a context that would overflow n_positions.
    void forward(std::span<const int32_t> tokens, int64_t n_logits, float* logits);

    // Convenience: logits of the last token only.
    std::vector<float> next_logits(std::span<const int32_t> tokens);

    int64_t n_past() const;
    int64_t capacity() const;
    void reset();
    void truncate(int64_t length);  // keeps the first `length` positions
    const Model& model() const;

private:
    std::unique_ptr<Context> context_;
};

}  // namespace gpt2c
