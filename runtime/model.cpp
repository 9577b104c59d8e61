// runtime/model.cpp - loading and preparing weights; running forward passes.
#include "runtime/model.h"

#include "runtime/weight_loader.h"
#include "support/error.h"

#include <chrono>

namespace gpt2c {

std::shared_ptr<Model> Model::load(const std::string& library_path, const std::string& model_path, int threads) {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<Model> model(new Model(CompiledLibrary::open(library_path)));
    model->pool_ = std::make_unique<ThreadPool>(threads);
    model->raw_ = load_weights(model->library_, model_path);
    for (const auto& buffer : model->raw_) model->raw_ptrs_.push_back(buffer.data());
    std::vector<float*> prepared_out;
    for (const TensorSpec& spec : model->library_.prepared()) {
        model->prepared_.emplace_back(size_t((spec.bytes + 3) / 4));
        prepared_out.push_back(model->prepared_.back().data());
        model->prepared_ptrs_.push_back(model->prepared_.back().data());
    }
    gpt2c_prepare_args args{model->raw_ptrs_.data(), prepared_out.data(), model->pool_->host()};
    model->library_.entry().prepare(&args);
    // Tensors that only fed prepare (raw weights now folded and packed, and
    // intermediate transforms) are dropped: forward never reads them.
    for (size_t i = 0; i < model->raw_.size(); ++i) {
        if (!model->library_.weights()[i].used_by_forward) {
            model->raw_[i] = AlignedBuffer<float>();
            model->raw_ptrs_[i] = nullptr;
        }
    }
    for (size_t i = 0; i < model->prepared_.size(); ++i) {
        if (!model->library_.prepared()[i].used_by_forward) {
            model->prepared_[i] = AlignedBuffer<float>();
            model->prepared_ptrs_[i] = nullptr;
        }
    }
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
