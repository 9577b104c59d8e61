// runtime/engine.cpp - see engine.h.
#include "runtime/engine.h"

#include "runtime/generator.h"

#include <algorithm>
#include <numeric>

namespace gpt2c {

namespace {

constexpr int64_t kDefaultStepRows = 64;

int64_t step_rows(const EngineOptions& o, const ModelConfig& config) {
    const int64_t wanted = o.max_step_rows > 0 ? o.max_step_rows : std::max<int64_t>(kDefaultStepRows, o.n_slots);
    if (wanted < o.n_slots)
        fail("engine: max_step_rows ({}) must be at least n_slots ({}): every sequence decodes in every step",
             wanted, o.n_slots);
    return std::min<int64_t>(wanted, config.n_positions);  // a step's arena holds n_positions rows
}

}  // namespace

Engine::Engine(std::shared_ptr<Model> model, const Tokenizer& tokenizer, int32_t eos_token_id, EngineOptions options)
    : model_(model),
      tokenizer_(tokenizer),
      eos_(eos_token_id),
      options_(options),
      context_(std::move(model), options.n_slots, options.context) {
    options_.max_step_rows = step_rows(options_, context_.model().config());
    slots_.resize(size_t(context_.n_slots()));
    admitted_.assign(slots_.size(), 0);
}

Engine::~Engine() = default;

uint64_t Engine::submit(std::vector<int32_t> prompt, const GenerateOptions& options, EventCallback callback) {
    if (prompt.empty()) {
        if (eos_ < 0) fail("the prompt is empty and the model has no end-of-text token to start from");
        prompt.push_back(eos_);
    }
    const int64_t vocab = context_.model().config().vocab_size;
    for (size_t i = 0; i < prompt.size(); ++i)
        if (prompt[i] < 0 || prompt[i] >= vocab)
            fail("prompt token {} is id {}, out of range: the vocabulary has {} tokens", i, prompt[i], vocab);
    const int64_t max_new = plan_new_tokens(int64_t(prompt.size()), 0, context_.context(), options.max_new_tokens);
    Sequence s;
    s.callback = std::move(callback);
    s.generator = std::make_unique<SequenceGenerator>(tokenizer_, prompt, options, eos_, max_new);
    s.pending = std::move(prompt);
    {
        std::lock_guard lock(mutex_);
        if (closed_) throw EngineBusy("the engine takes no new requests: it is shutting down");
        // Queued requests that free slots will take at the next step are not waiting for one: only
        // those beyond the free slots count against max_queue. (Counting them refused a request that
        // arrived together with another on an idle engine, and everything with max_queue = 0.)
        const size_t free_slots = slots_.size() - active_count_;
        if (queue_.size() >= options_.max_queue + free_slots)
            throw EngineBusy(fmt::format("{} requests are already waiting for a slot (the queue's limit)",
                                         queue_.size() - free_slots));
        s.id = next_id_++;
        queue_.push_back(std::move(s));
        stats_.queued = queue_.size();
        work_.notify_one();
        return queue_.back().id;
    }
}

void Engine::cancel(uint64_t id) {
    std::lock_guard lock(mutex_);
    cancelled_.insert(id);
    work_.notify_one();
}

void Engine::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

void Engine::wake() {
    std::lock_guard lock(mutex_);
    woken_ = true;
    work_.notify_all();
}

EngineStats Engine::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool Engine::idle() const {
    std::lock_guard lock(mutex_);
    return queue_.empty() && active_count_ == 0;
}

void Engine::deliver(Sequence& s, const TokenEvent& event) {
    bool go_on = false;
    try {
        TokenEvent tagged = event;
        tagged.request = s.id;
        go_on = !s.callback || s.callback(tagged);
    } catch (...) {
        go_on = false;  // a throwing callback cancels its own request, nothing else
    }
    if (!go_on) s.generator->stop(FinishReason::cancelled);
}

void Engine::end(Sequence& s, FinishReason reason, std::string error) {
    s.generator->stop(reason, std::move(error));
    TokenEvent last = s.generator->final_event();
    last.request = s.id;
    try {
        if (s.callback) s.callback(last);
    } catch (...) {
    }
}

void Engine::finish_slot(int slot) {
    context_.clear(slot);
    slots_[size_t(slot)].reset();
    std::lock_guard lock(mutex_);
    --active_count_;
    stats_.active = active_count_;
}

void Engine::apply_cancellations() {
    std::vector<Sequence> dropped;  // queued ones: their final events go out after the lock is released
    std::unordered_set<uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        if (cancelled_.empty()) return;
        ids.swap(cancelled_);
        for (auto it = queue_.begin(); it != queue_.end();) {
            if (ids.count(it->id)) {
                dropped.push_back(std::move(*it));
                it = queue_.erase(it);
            } else {
                ++it;
            }
        }
        stats_.queued = queue_.size();
    }
    for (Sequence& s : dropped) end(s, FinishReason::cancelled);
    for (size_t slot = 0; slot < slots_.size(); ++slot)
        if (slots_[slot] && ids.count(slots_[slot]->id)) {
            end(*slots_[slot], FinishReason::cancelled);
            finish_slot(int(slot));
        }
}

void Engine::admit() {
    std::vector<Sequence> done;  // nothing to generate (max_new_tokens 0): only a final event
    {
        std::lock_guard lock(mutex_);
        for (size_t slot = 0; slot < slots_.size() && !queue_.empty(); ++slot) {
            if (slots_[slot]) continue;
            while (!queue_.empty() && queue_.front().generator->finished()) {
                done.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            if (queue_.empty()) break;
            slots_[slot] = std::move(queue_.front());
            queue_.pop_front();
            admitted_[slot] = admissions_++;
            ++active_count_;
        }
        stats_.queued = queue_.size();
        stats_.active = active_count_;
    }
    for (Sequence& s : done) end(s, FinishReason::length);
}

void Engine::build_rows() {
    rows_.clear();
    row_slot_.clear();
    auto add_rows = [&](int slot, size_t count) {
        Sequence& s = *slots_[size_t(slot)];
        const auto start = int32_t(context_.length(slot));
        for (size_t k = 0; k < count; ++k) {
            const bool last = s.next + 1 == s.pending.size();
            rows_.push_back({s.pending[s.next], slot, start + int32_t(k), last});
            if (last) row_slot_.push_back(slot);
            ++s.next;
        }
    };
    // Every sequence with one row left (a decode token, or a prompt's last) runs it now.
    std::vector<int> prefilling;
    for (size_t slot = 0; slot < slots_.size(); ++slot) {
        if (!slots_[slot]) continue;
        const size_t left = slots_[slot]->pending.size() - slots_[slot]->next;
        if (left == 1) {
            add_rows(int(slot), 1);
        } else if (left > 1) {
            prefilling.push_back(int(slot));
        }
    }
    // Prompt chunks fill the rest of the step, first come first served.
    std::sort(prefilling.begin(), prefilling.end(), [&](int a, int b) { return admitted_[size_t(a)] < admitted_[size_t(b)]; });
    for (int slot : prefilling) {
        const auto budget = size_t(options_.max_step_rows) - rows_.size();
        if (budget == 0) break;
        const Sequence& s = *slots_[size_t(slot)];
        add_rows(slot, std::min(budget, s.pending.size() - s.next));
    }
}

int64_t Engine::run_rows() {
    const auto vocab = size_t(context_.model().config().vocab_size);
    logits_.resize(row_slot_.size() * vocab);
    try {
        context_.step(rows_, logits_.data());
    } catch (const std::exception& e) {
        // Every sequence with a row in the failed step ends; the others go on.
        std::vector<int> failed;
        for (const BatchRow& row : rows_)
            if (std::find(failed.begin(), failed.end(), row.slot) == failed.end()) failed.push_back(row.slot);
        for (int slot : failed) {
            end(*slots_[size_t(slot)], FinishReason::error, e.what());
            finish_slot(slot);
        }
        return 0;
    }
    int64_t tokens = 0;
    for (size_t i = 0; i < row_slot_.size(); ++i) {
        const int slot = row_slot_[i];
        Sequence& s = *slots_[size_t(slot)];
        try {
            const TokenEvent* event = s.generator->accept({&logits_[i * vocab], vocab});
            if (event) {
                ++tokens;
                deliver(s, *event);
            }
        } catch (const std::exception& e) {
            s.generator->stop(FinishReason::error, e.what());
        }
        if (s.generator->finished()) {
            end(s, s.generator->reason());
            finish_slot(slot);
        } else {
            s.pending.assign(1, s.generator->last_token());
            s.next = 0;
        }
    }
    return tokens;
}

int64_t Engine::step(std::chrono::milliseconds wait) {
    {
        std::unique_lock lock(mutex_);
        if (queue_.empty() && active_count_ == 0 && cancelled_.empty() && wait.count() > 0)
            work_.wait_for(lock, wait, [&] { return !queue_.empty() || !cancelled_.empty() || woken_; });
        woken_ = false;
    }
    apply_cancellations();
    admit();
    build_rows();
    if (rows_.empty()) return 0;
    int64_t prompt_rows = 0, sequences = 0;
    for (size_t i = 0; i < rows_.size(); ++i) {
        const Sequence& s = *slots_[size_t(rows_[i].slot)];
        if (s.generator->generated() == 0) ++prompt_rows;
        if (i == 0 || rows_[i].slot != rows_[i - 1].slot) ++sequences;  // a slot's rows are adjacent
    }
    const auto n_rows = int64_t(rows_.size());
    const int64_t tokens = run_rows();
    std::lock_guard lock(mutex_);
    ++stats_.steps;
    stats_.rows += uint64_t(n_rows);
    stats_.prompt_tokens += uint64_t(prompt_rows);
    stats_.last_step_rows = n_rows;
    stats_.last_step_sequences = sequences;
    stats_.generated_tokens += uint64_t(tokens);
    return n_rows;
}

}  // namespace gpt2c
