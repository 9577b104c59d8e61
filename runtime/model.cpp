// runtime/model.cpp - loading and preparing weights; running forward passes.
#include "runtime/model.h"

#include "runtime/weight_loader.h"
#include "support/error.h"

#include <chrono>

namespace gpt2c {

// Weights are prepared one prepared tensor at a time (gpt2c_prepare_args.only):
// each raw weight is converted just before the first step that reads it, and
// every tensor forward does not read is freed after the last step that does.
// Peak memory is then the prepared weights plus the few raw tensors of one
// step, not the raw checkpoint, its float32 copy and the prepared weights at once.
std::shared_ptr<Model> Model::load(const std::string& library_path, const std::string& model_path, int threads) {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<Model> model(new Model(CompiledLibrary::open(library_path)));
    const std::vector<TensorSpec>& weights = model->library_.weights();
    const std::vector<TensorSpec>& prepared = model->library_.prepared();
    model->pool_ = std::make_unique<ThreadPool>(threads);
    const CheckpointWeights checkpoint(model->library_, model_path);

    model->raw_.resize(weights.size());
    model->raw_ptrs_.assign(weights.size(), nullptr);
    model->prepared_.resize(prepared.size());
    model->prepared_ptrs_.assign(prepared.size(), nullptr);
    std::vector<float*> prepared_out(prepared.size(), nullptr);
    auto load_raw = [&](size_t i) {
        if (model->raw_ptrs_[i]) return;
        model->raw_[i] = checkpoint.load(i);
        checkpoint.release_source(i);
        model->raw_ptrs_[i] = model->raw_[i].data();
    };

    // The last step that reads each tensor.
    std::vector<int64_t> raw_last_use(weights.size(), -1), prepared_last_use(prepared.size(), -1);
    for (size_t p = 0; p < prepared.size(); ++p) {
        for (int64_t i : prepared[p].raw_inputs) raw_last_use[size_t(i)] = int64_t(p);
        for (int64_t j : prepared[p].prepared_inputs) prepared_last_use[size_t(j)] = int64_t(p);
    }

    for (size_t p = 0; p < prepared.size(); ++p) {
        for (int64_t i : prepared[p].raw_inputs) load_raw(size_t(i));
        model->prepared_[p] = AlignedBuffer<float>(size_t((prepared[p].bytes + 3) / 4));
        prepared_out[p] = model->prepared_[p].data();
        model->prepared_ptrs_[p] = prepared_out[p];
        gpt2c_prepare_args args{model->raw_ptrs_.data(), prepared_out.data(), model->pool_->host(), int64_t(p)};
        model->library_.entry().prepare(&args);
        for (int64_t i : prepared[p].raw_inputs)
            if (raw_last_use[size_t(i)] == int64_t(p) && !weights[size_t(i)].used_by_forward) {
                model->raw_[size_t(i)] = AlignedBuffer<float>();
                model->raw_ptrs_[size_t(i)] = nullptr;
            }
        for (int64_t j : prepared[p].prepared_inputs)
            if (prepared_last_use[size_t(j)] == int64_t(p) && !prepared[size_t(j)].used_by_forward) {
                model->prepared_[size_t(j)] = AlignedBuffer<float>();
                model->prepared_ptrs_[size_t(j)] = prepared_out[size_t(j)] = nullptr;
            }
    }
    for (size_t i = 0; i < weights.size(); ++i)
        if (weights[i].used_by_forward) load_raw(i);
    model->load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return model;
}

Session::Session(std::shared_ptr<Model> model)
    : model_(std::move(model)),
      kv_cache_(size_t(model_->library().kv_cache_floats())),
      arena_(size_t(model_->library().arena_bytes())) {}

void Session::forward(std::span<const int32_t> tokens, int64_t n_logits, float* logits) {
    const ModelConfig& c = model_->config();
    const int64_t n = int64_t(tokens.size());
    if (n == 0) fail("forward: no tokens to run");
    if (n_logits < 1 || n_logits > n) fail("forward: n_logits must be in 1..{}, got {}", n, n_logits);
    if (n_past_ + n > c.n_positions)
        fail("context overflow: {} tokens already in the context plus {} new exceed n_positions = {}", n_past_, n,
             c.n_positions);
    for (int64_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
            fail("token id {} at position {} is out of range: the vocabulary has {} tokens (0..{})", tokens[i], i,
                 c.vocab_size, c.vocab_size - 1);
    gpt2c_forward_args args{};
    args.raw_weights = model_->raw_weight_table();
    args.prepared = model_->prepared_table();
    args.kv_cache = kv_cache_.data();
    args.arena = arena_.data();
    args.tokens = tokens.data();
    args.n_tokens = n;
    args.n_past = n_past_;
    args.n_logits = n_logits;
    args.logits = logits;
    args.host = model_->pool().host();
    model_->library().entry().forward(&args);
    n_past_ += n;
}

std::vector<float> Session::next_logits(std::span<const int32_t> tokens) {
    std::vector<float> logits(size_t(model_->config().vocab_size));
    forward(tokens, 1, logits.data());
    return logits;
}

}  // namespace gpt2c
