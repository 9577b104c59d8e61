// runtime/model.cpp - loading and preparing weights; running forward passes.
#include "runtime/model.h"

#include "runtime/context.h"
#include "runtime/weight_loader.h"
#include "support/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace gpt2c {

namespace {

// The order in which to compute prepared tensors: each after the prepared
// tensors it reads, and among those ready, the one with the biggest raw
// input first (ties: metadata order). GPT-2's tied LM head reads the whole
// embedding table; preparing it first means the table's pages are dropped
// again before most other prepared tensors exist, so the peak is never the
// table plus all prepared weights.
std::vector<size_t> prepare_order(const std::vector<TensorSpec>& prepared, const CheckpointWeights& checkpoint) {
    std::vector<size_t> biggest_input(prepared.size(), 0);
    for (size_t p = 0; p < prepared.size(); ++p)
        for (int64_t i : prepared[p].raw_inputs)
            biggest_input[p] = std::max(biggest_input[p], checkpoint.source_bytes(size_t(i)));
    std::vector<bool> done(prepared.size(), false);
    std::vector<size_t> order;
    while (order.size() < prepared.size()) {
        size_t best = prepared.size();
        for (size_t p = 0; p < prepared.size(); ++p) {
            if (done[p]) continue;
            bool ready = std::all_of(prepared[p].prepared_inputs.begin(), prepared[p].prepared_inputs.end(),
                                     [&](int64_t j) { return bool(done[size_t(j)]); });
            if (ready && (best == prepared.size() || biggest_input[p] > biggest_input[best])) best = p;
        }
        // Prepared inputs always come earlier in the metadata (the library checks it), so one is ready.
        if (best == prepared.size()) fail("internal error: prepared tensors depend on each other in a cycle");
        done[best] = true;
        order.push_back(best);
    }
    return order;
}

size_t round_up(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }

}  // namespace

std::shared_ptr<Model> Model::load(const std::string& library_path, const std::string& model_path, int threads,
                                   WeightsSource source) {
    auto start = std::chrono::steady_clock::now();
    std::shared_ptr<Model> model(new Model(CompiledLibrary::open(library_path)));
    model->pool_ = std::make_unique<ThreadPool>(threads);
    // No checkpoint is fine when LIB.weights sits beside the library: the pack is all forward reads.
    model->checkpoint_path_ = find_checkpoint_if_any(model_path);
    if (source == WeightsSource::checkpoint || !model->use_packed(library_path)) {
        if (model->checkpoint_path_.empty()) find_checkpoint(model_path);  // throws, naming what is missing
        model->checkpoint_ = std::make_unique<CheckpointWeights>(model->library_, model_path);
        model->prepare_weights();
        model->weights_source_ = fmt::format("checkpoint {}{}", model->checkpoint_path_,
                                             model->weights_source_.empty() ? "" : " (" + model->weights_source_ + ")");
    }
    model->load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return model;
}

// Takes the weights from LIB.weights when it is current. Stale: false, and
// weights_source_ says why. Damaged: throws (nothing of it is used).
bool Model::use_packed(const std::string& library_path) {
    std::string why_not;
    const std::string path = packed_weights_path(library_path);
    packed_ = PackedWeights::open(path, library_, checkpoint_path_, *pool_, &why_not);
    if (!packed_) {
        weights_source_ = why_not;
        return false;
    }
    raw_ptrs_ = packed_->weights().raw;
    prepared_ptrs_ = packed_->weights().prepared;
    weights_source_ = "packed weights " + path;
    return true;
}

ForwardWeights Model::forward_weights() const {
    ForwardWeights w{raw_ptrs_, prepared_ptrs_};
    for (size_t i = 0; i < w.raw.size(); ++i)
        if (!library_.weights()[i].used_by_forward) w.raw[i] = nullptr;
    for (size_t p = 0; p < w.prepared.size(); ++p)
        if (!library_.prepared()[p].used_by_forward) w.prepared[p] = nullptr;
    return w;
}

// Raw weight i as float32: in place in the mapping when the file has it so, else converted.
const float* Model::acquire_raw(size_t i) {
    if (raw_ptrs_[i]) return raw_ptrs_[i];
    checkpoint_->prefetch_source(i);
    if (const float* view = checkpoint_->view_f32(i)) return raw_ptrs_[i] = view;
    converted_[i] = checkpoint_->load(i);
    checkpoint_->release_source(i);  // the converted copy is what is read from now on
    return raw_ptrs_[i] = converted_[i].data();
}

// Runs the library's prepare one prepared tensor at a time (gpt2c_prepare_args.only),
// in prepare_order. A raw weight is mapped in or converted just before its first
// reader and its file pages dropped after its last; a tensor forward does not
// read is freed after its last reader. Peak memory is the prepared weights plus
// the inputs of one step, not the checkpoint, a converted copy and the prepared
// weights at once.
void Model::prepare_weights() {
    const std::vector<TensorSpec>& weights = library_.weights();
    const std::vector<TensorSpec>& prepared = library_.prepared();
    converted_.resize(weights.size());
    raw_ptrs_.assign(weights.size(), nullptr);
    temporaries_.resize(prepared.size());
    prepared_ptrs_.assign(prepared.size(), nullptr);

    // One allocation (on huge pages) for everything forward reads; 64-byte aligned slots.
    std::vector<size_t> offset(prepared.size(), 0);
    size_t total = 0;
    for (size_t p = 0; p < prepared.size(); ++p)
        if (prepared[p].used_by_forward) {
            offset[p] = total;
            total += round_up(size_t(prepared[p].bytes), 64);
        }
    prepared_storage_ = AlignedBuffer<std::byte>(total);

    const std::vector<size_t> order = prepare_order(prepared, *checkpoint_);
    std::vector<int64_t> raw_last_use(weights.size(), -1), prepared_last_use(prepared.size(), -1);
    for (size_t step = 0; step < order.size(); ++step) {
        for (int64_t i : prepared[order[step]].raw_inputs) raw_last_use[size_t(i)] = int64_t(step);
        for (int64_t j : prepared[order[step]].prepared_inputs) prepared_last_use[size_t(j)] = int64_t(step);
    }

    std::vector<float*> prepared_out(prepared.size(), nullptr);
    for (size_t step = 0; step < order.size(); ++step) {
        const size_t p = order[step];
        for (int64_t i : prepared[p].raw_inputs) acquire_raw(size_t(i));
        if (prepared[p].used_by_forward) {
            prepared_out[p] = reinterpret_cast<float*>(prepared_storage_.data() + offset[p]);
        } else {
            temporaries_[p] = AlignedBuffer<std::byte>(size_t(prepared[p].bytes));
            prepared_out[p] = reinterpret_cast<float*>(temporaries_[p].data());
        }
        prepared_ptrs_[p] = prepared_out[p];
        gpt2c_prepare_args args{raw_ptrs_.data(), prepared_out.data(), pool_->host(), int64_t(p)};
        library_.entry().prepare(&args);
        for (int64_t i : prepared[p].raw_inputs) {
            if (raw_last_use[size_t(i)] != int64_t(step)) continue;
            checkpoint_->release_source(size_t(i));
            if (!weights[size_t(i)].used_by_forward) {
                converted_[size_t(i)] = AlignedBuffer<float>();
                raw_ptrs_[size_t(i)] = nullptr;
            }
        }
        for (int64_t j : prepared[p].prepared_inputs)
            if (prepared_last_use[size_t(j)] == int64_t(step) && !prepared[size_t(j)].used_by_forward) {
                temporaries_[size_t(j)] = AlignedBuffer<std::byte>();
                prepared_ptrs_[size_t(j)] = prepared_out[size_t(j)] = nullptr;
            }
    }
    for (size_t i = 0; i < weights.size(); ++i)
        if (weights[i].used_by_forward) acquire_raw(i);
}

Session::Session(std::shared_ptr<Model> model, int64_t context)
    : context_(std::make_unique<Context>(std::move(model), 1, context)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::forward(std::span<const int32_t> tokens, int64_t n_logits, float* logits) {
    const int64_t n = int64_t(tokens.size());
    if (n == 0) fail("forward: no tokens to run");
    if (n_logits < 1 || n_logits > n) fail("forward: n_logits must be in 1..{}, got {}", n, n_logits);
    const int64_t past = context_->length(0);
    if (past + n > context_->context())
        fail("context overflow: {} tokens already in the context plus {} new exceed n_positions = {}", past, n,
             context_->context());
    std::vector<BatchRow> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        rows[size_t(i)] = BatchRow{tokens[size_t(i)], 0, int32_t(past + i), i >= n - n_logits};
    context_->step(rows, logits);
}

std::vector<float> Session::next_logits(std::span<const int32_t> tokens) {
    std::vector<float> logits(size_t(model().config().vocab_size));
    forward(tokens, 1, logits.data());
    return logits;
}

int64_t Session::n_past() const { return context_->length(0); }
int64_t Session::capacity() const { return context_->context(); }
void Session::reset() { context_->clear(0); }
void Session::truncate(int64_t length) { context_->truncate(0, length); }
const Model& Session::model() const { return context_->model(); }

}  // namespace gpt2c
