// runtime/engine.h - continuous batching: many sequences, each with its own options, in shared steps.
//
// An Engine owns a Context of n_slots sequence slots. Requests (a prompt and
// GenerateOptions) are submitted from any thread and wait in a bounded queue
// for a free slot; one thread drives step(). Each step runs, as one forward
// call, one decode row for every sequence that is generating plus chunks of
// the prompts still being read (up to max_step_rows rows in all), so a long
// prompt is read over several steps while the other sequences keep producing
// a token per step. A request joins at the next step after a slot frees up,
// and a cancelled one frees its slot at the next step.
//
// Every request's events (runtime/sequence.h) are delivered by step(), on the
// stepping thread: one per token, then exactly one final event (token -1)
// that says how it ended. Because a sequence's logits do not depend on the
// rest of the step, and sampling is per sequence with its own seed, a request
// gets the same tokens as generate() with the same prompt and options.
#pragma once

#include "runtime/context.h"
#include "runtime/sequence.h"
#include "runtime/tokenizer.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

namespace gpt2c {

struct EngineOptions {
    int n_slots = 4;            // sequences generating at once
    int64_t context = 0;        // positions per slot; 0: the model's n_positions
    int64_t max_step_rows = 0;  // rows per step, decode rows and prompt chunks; 0: 64 (at least n_slots)
    size_t max_queue = 64;      // requests waiting for a slot (beyond the free ones); beyond it submit() refuses
};

// submit() when the queue is full, or after close().
struct EngineBusy : Error {
    using Error::Error;
};

struct EngineStats {
    size_t queued = 0;            // waiting for a slot
    size_t active = 0;            // holding a slot
    uint64_t steps = 0;           // steps run so far
    uint64_t rows = 0;            // rows run so far (prompt and decode)
    uint64_t prompt_tokens = 0;   // prompt rows run so far
    uint64_t generated_tokens = 0;
    int64_t last_step_rows = 0;
    int64_t last_step_sequences = 0;  // sequences with a row in the last step
};

class Engine {
public:
    // `tokenizer` must outlive the engine. eos_token_id < 0: no end-of-text token.
    Engine(std::shared_ptr<Model> model, const Tokenizer& tokenizer, int32_t eos_token_id, EngineOptions options = {});
    ~Engine();

    // Queues a request; thread-safe. An empty prompt starts from the
    // end-of-text token. Throws gpt2c::Error for a request that can never run
    // (a prompt that leaves no room in a slot's context, a token out of range,
    // bad options), EngineBusy when the queue is full or the engine is closed.
    // Returns the request's id.
    uint64_t submit(std::vector<int32_t> prompt, const GenerateOptions& options, EventCallback callback);
    // Ends a request (queued or running) at the next step with a cancelled
    // final event; an unknown or finished id is ignored. Thread-safe.
    void cancel(uint64_t id);
    // Refuses new requests from now on (running and queued ones go on). Thread-safe.
    void close();

    // Runs one step when there is work, delivering its events; with nothing to
    // do, waits up to `wait` for a request first. Returns the rows run (0 when
    // idle). One thread at a time. A failure of the forward call ends every
    // sequence in the step with an error event and is not thrown.
    int64_t step(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
    // Makes a step() that is waiting return now. Thread-safe.
    void wake();

    EngineStats stats() const;  // thread-safe
    bool idle() const;          // nothing queued or running; thread-safe
    const Context& context() const { return context_; }

private:
    // A request, queued or holding a slot.
    struct Sequence {
        uint64_t id = 0;
        EventCallback callback;
        std::unique_ptr<SequenceGenerator> generator;
        std::vector<int32_t> pending;  // rows still to run: the prompt, then each token sampled
        size_t next = 0;               // index in `pending` of the next row to run
    };

    void apply_cancellations();
    void admit();
    void build_rows();
    int64_t run_rows();  // returns the tokens generated
    void end(Sequence& s, FinishReason reason, std::string error = {});  // stop it and send its final event
    void finish_slot(int slot);                                        // the final event was sent: free the slot
    void deliver(Sequence& s, const TokenEvent& event);

    std::shared_ptr<Model> model_;
    const Tokenizer& tokenizer_;
    int32_t eos_;
    EngineOptions options_;
    Context context_;

    mutable std::mutex mutex_;  // guards the members below it up to stats_
    std::condition_variable work_;
    std::deque<Sequence> queue_;
    std::unordered_set<uint64_t> cancelled_;
    uint64_t next_id_ = 1;
    bool closed_ = false;
    bool woken_ = false;
    size_t active_count_ = 0;
    EngineStats stats_;

    std::vector<std::optional<Sequence>> slots_;  // the stepping thread's only
    std::vector<uint64_t> admitted_;              // slot -> admission order (prompts are read first come, first served)
    uint64_t admissions_ = 0;
    std::vector<BatchRow> rows_;
    std::vector<int> row_slot_;  // the slot of each row that wants logits
    std::vector<float> logits_;
};

}  // namespace gpt2c
