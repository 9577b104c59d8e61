// gpt2c/runtime.hpp - a header-only C++ wrapper over the C API of libgpt2c_runtime (gpt2c/runtime.h).
//
// Only the C API is used, so an application needs just the installed headers
// and libgpt2c_runtime.so. C++17 or later. Failures throw gpt2c::api::Error,
// which carries the gpt2c_status and the runtime's message.
//
//     gpt2c::api::Model model = gpt2c::api::Model::load("model.so", "model-dir");
//     gpt2c::api::Sampling sampling = model.sampling_defaults();
//     sampling.greedy = 1;
//     model.generate("ROMEO:", 48, [](int32_t, std::string_view text) {
//         std::cout << text << std::flush;
//         return true;  // false stops
//     }, &sampling);
#ifndef GPT2C_RUNTIME_HPP
#define GPT2C_RUNTIME_HPP

#include <gpt2c/runtime.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gpt2c {
namespace api {

// A failed call: what() is gpt2c_last_error() at the time of the failure.
class Error : public std::runtime_error {
public:
    Error(gpt2c_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    gpt2c_status status() const noexcept { return status_; }

private:
    gpt2c_status status_;
};

// Throws Error for any status but GPT2C_OK.
inline void check(gpt2c_status status) {
    if (status != GPT2C_OK) throw Error(status, gpt2c_last_error());
}

using Sampling = gpt2c_sampling;
using Event = gpt2c_event;  // its pointers are valid during the callback only
using EngineOptions = gpt2c_engine_options;
using EngineStats = gpt2c_engine_stats;

// Called for each event of a sequence (tokens, then the final one); return false to cancel.
using EventCallback = std::function<bool(const Event& event)>;

// What one generation asks for (gpt2c_generate_options, owning its stop strings).
struct GenerateOptions {
    Sampling sampling{};
    int32_t max_new_tokens = 16;
    std::vector<std::string> stop;
    int32_t logprobs = -1;  // -1: none; 0: the chosen token's; 1..20: also that many of the most likely
    bool ignore_eos = false;
};
using GenerationStats = gpt2c_generation_stats;

// Called for each new token with the text that became complete (whole UTF-8
// characters, possibly empty). Return false to stop generating. An exception
// thrown here stops generation and is rethrown by Model::generate.
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

namespace detail {
// The C view of GenerateOptions; valid while `options` lives.
struct CGenerateOptions {
    explicit CGenerateOptions(const GenerateOptions& options) {
        for (const std::string& s : options.stop) stops.push_back(s.c_str());
        raw.sampling = options.sampling;
        raw.max_new_tokens = options.max_new_tokens;
        raw.stop = stops.data();
        raw.n_stop = stops.size();
        raw.logprobs = options.logprobs;
        raw.ignore_eos = options.ignore_eos ? 1 : 0;
    }
    std::vector<const char*> stops;
    gpt2c_generate_options raw{};
};

// Calls an EventCallback from C; an exception is kept (and cancels the sequence).
struct EventTarget {
    EventCallback callback;
    std::exception_ptr error;
    static int call(void* user_data, const gpt2c_event* event) {
        auto* target = static_cast<EventTarget*>(user_data);
        try {
            return target->callback(*event) ? 0 : 1;
        } catch (...) {
            target->error = std::current_exception();
            return 1;
        }
    }
};

struct ModelDeleter {
    void operator()(gpt2c_model* model) const noexcept { gpt2c_model_free(model); }
};
struct FreeDeleter {
    void operator()(void* pointer) const noexcept { gpt2c_free(pointer); }
};
struct ContextDeleter {
    void operator()(gpt2c_context* context) const noexcept { gpt2c_context_free(context); }
};
struct SessionDeleter {
    void operator()(gpt2c_session* session) const noexcept { gpt2c_session_free(session); }
};
struct EngineDeleter {
    void operator()(gpt2c_engine* engine) const noexcept { gpt2c_engine_free(engine); }
};
}  // namespace detail

// A loaded model (a compiled library plus its model directory). Move-only.
// tokenize/detokenize may be called from several threads; generate calls on
// one Model are serialized by the runtime.
class Model {
public:
    // Loads a library made by `gpt2c compile` and the model directory it was
    // compiled for. threads <= 0: one per hardware thread.
    static Model load(const std::string& library_path, const std::string& model_dir, int threads = 0) {
        gpt2c_model* raw = nullptr;
        check(gpt2c_model_load(library_path.c_str(), model_dir.c_str(), threads, &raw));
        return Model(raw);
    }

    Model() noexcept = default;  // empty: every call fails with GPT2C_ERROR_INVALID_ARGUMENT
    // Takes ownership of a model loaded through the C API.
    explicit Model(gpt2c_model* model) noexcept : model_(model) {}

    gpt2c_model* get() const noexcept { return model_.get(); }
    explicit operator bool() const noexcept { return model_ != nullptr; }

    int32_t vocab_size() const { return gpt2c_model_vocab_size(model_.get()); }
    int32_t context_length() const { return gpt2c_model_context_length(model_.get()); }
    std::string weights_source() const { return gpt2c_model_weights_source(model_.get()); }

    std::vector<int32_t> tokenize(std::string_view text) const {
        int32_t* ids = nullptr;
        size_t count = 0;
        check(gpt2c_tokenize(model_.get(), text.data(), text.size(), &ids, &count));
        std::unique_ptr<int32_t, detail::FreeDeleter> owned(ids);
        return std::vector<int32_t>(ids, ids + count);
    }

    // The bytes of the tokens (possibly incomplete UTF-8 at the end).
    std::string detokenize(const int32_t* ids, size_t count) const {
        char* text = nullptr;
        size_t length = 0;
        check(gpt2c_detokenize(model_.get(), ids, count, &text, &length));
        std::unique_ptr<char, detail::FreeDeleter> owned(text);
        return std::string(text, length);
    }
    std::string detokenize(const std::vector<int32_t>& ids) const { return detokenize(ids.data(), ids.size()); }

    // The sampling defaults, 16 new tokens, no stop strings, no logprobs.
    GenerateOptions generate_options() const {
        GenerateOptions options;
        options.sampling = sampling_defaults();
        return options;
    }

    // The model's generation_config.json where present, else temperature 1, no filters, seed 0.
    Sampling sampling_defaults() const {
        Sampling sampling{};
        gpt2c_sampling_defaults(model_.get(), &sampling);
        return sampling;
    }

    // Generates up to max_new_tokens after `prompt`, stopping at <|endoftext|>
    // or when `callback` returns false. sampling == nullptr: the defaults.
    GenerationStats generate(const std::string& prompt, int32_t max_new_tokens, const TokenCallback& callback = {},
                             const Sampling* sampling = nullptr) {
        struct Context {
            const TokenCallback* callback;
            std::exception_ptr error;
        } context{&callback, nullptr};
        gpt2c_token_callback trampoline = nullptr;
        if (callback) {
            trampoline = [](void* user_data, int32_t token, const char* text, size_t length) -> int {
                auto* ctx = static_cast<Context*>(user_data);
                try {
                    return (*ctx->callback)(token, std::string_view(text, length)) ? 0 : 1;
                } catch (...) {
                    ctx->error = std::current_exception();
                    return 1;
                }
            };
        }
        GenerationStats stats{};
        gpt2c_status status =
            gpt2c_generate(model_.get(), prompt.c_str(), max_new_tokens, sampling, trampoline, &context, &stats);
        if (context.error) std::rethrow_exception(context.error);
        check(status);
        return stats;
    }

    GenerationStats generate(const std::string& prompt, int32_t max_new_tokens, const Sampling& sampling,
                             const TokenCallback& callback = {}) {
        return generate(prompt, max_new_tokens, callback, &sampling);
    }

    // Convenience: the whole generated text.
    std::string generate_text(const std::string& prompt, int32_t max_new_tokens, const Sampling* sampling = nullptr,
                              GenerationStats* stats = nullptr) {
        std::string text;
        GenerationStats s = generate(
            prompt, max_new_tokens,
            [&text](int32_t, std::string_view piece) {
                text.append(piece.data(), piece.size());
                return true;
            },
            sampling);
        if (stats) *stats = s;
        return text;
    }

private:
    std::unique_ptr<gpt2c_model, detail::ModelDeleter> model_;
};

using BatchRow = gpt2c_batch_row;

// Several sequences over one Model, run together in batched steps (gpt2c_context_*).
// Move-only; one thread at a time per Context; the Model must outlive it.
//
//     gpt2c::api::Context context(model, 4);               // 4 slots of the full context
//     std::vector<float> logits;
//     context.step({{token, slot, position, 1}, ...}, logits);  // rows wanting logits x vocab_size
class Context {
public:
    Context(const Model& model, int32_t n_slots, int32_t context_length = 0) : vocab_size_(model.vocab_size()) {
        gpt2c_context* raw = nullptr;
        check(gpt2c_context_create(model.get(), n_slots, context_length, &raw));
        context_.reset(raw);
    }

    // Runs `rows` as one step; `logits` becomes the logits of the rows that want them, in row order.
    void step(const std::vector<BatchRow>& rows, std::vector<float>& logits) {
        size_t wanted = 0;
        for (const BatchRow& row : rows) wanted += row.want_logits != 0;
        logits.resize(wanted * size_t(vocab_size_));
        check(gpt2c_context_step(context_.get(), rows.data(), rows.size(), wanted ? logits.data() : nullptr));
    }

    // Positions the sequence in `slot` holds (-1: no such slot).
    int32_t length(int32_t slot) const { return gpt2c_context_length(context_.get(), slot); }
    void clear(int32_t slot) { check(gpt2c_context_clear(context_.get(), slot)); }
    void truncate(int32_t slot, int32_t length) { check(gpt2c_context_truncate(context_.get(), slot, length)); }
    void copy_prefix(int32_t from, int32_t to, int32_t length) {
        check(gpt2c_context_copy_prefix(context_.get(), from, to, length));
    }
    gpt2c_context* get() const noexcept { return context_.get(); }

private:
    int32_t vocab_size_;
    std::unique_ptr<gpt2c_context, detail::ContextDeleter> context_;
};

// A multi-turn conversation with its KV cache kept between turns (gpt2c_session_*).
// Move-only; one thread at a time per Session; free it before its Model.
//
//     gpt2c::api::Session chat(model);
//     chat.append("ROMEO:\n");
//     chat.generate(options, [](const gpt2c::api::Event& e) { std::cout << std::string_view(e.text, e.length); return true; });
//     chat.append("\nJULIET:\n");  // the next turn runs only these tokens
class Session {
public:
    explicit Session(const Model& model, int32_t context_length = 0) {
        gpt2c_session* raw = nullptr;
        check(gpt2c_session_create(model.get(), context_length, &raw));
        session_.reset(raw);
    }

    void append(std::string_view text) { check(gpt2c_session_append_text(session_.get(), text.data(), text.size())); }
    void append(const std::vector<int32_t>& ids) {
        check(gpt2c_session_append_tokens(session_.get(), ids.data(), ids.size()));
    }
    // An exception thrown by `callback` cancels the turn and is rethrown here.
    GenerationStats generate(const GenerateOptions& options, const EventCallback& callback = {}) {
        detail::CGenerateOptions c(options);
        detail::EventTarget target{callback, nullptr};
        GenerationStats stats{};
        const gpt2c_status status = gpt2c_session_generate(session_.get(), &c.raw, callback ? &detail::EventTarget::call : nullptr,
                                                           &target, &stats);
        if (target.error) std::rethrow_exception(target.error);
        check(status);
        return stats;
    }
    int32_t length() const { return gpt2c_session_length(session_.get()); }
    std::vector<int32_t> tokens() const {
        int32_t* ids = nullptr;
        size_t count = 0;
        check(gpt2c_session_tokens(session_.get(), &ids, &count));
        std::unique_ptr<int32_t, detail::FreeDeleter> owned(ids);
        return std::vector<int32_t>(ids, ids + count);
    }
    void truncate(int32_t length) { check(gpt2c_session_truncate(session_.get(), length)); }
    gpt2c_session* get() const noexcept { return session_.get(); }

private:
    std::unique_ptr<gpt2c_session, detail::SessionDeleter> session_;
};

// Continuous batching over one Model (gpt2c_engine_*): submit from any thread,
// drive step() from one. Callbacks run on the stepping thread; one that throws
// cancels its own request. Free the Engine before its Model.
class Engine {
public:
    static EngineOptions default_options() {
        EngineOptions options{};
        gpt2c_engine_options_defaults(&options);
        return options;
    }

    explicit Engine(const Model& model, const EngineOptions& options = default_options()) {
        gpt2c_engine* raw = nullptr;
        check(gpt2c_engine_create(model.get(), &options, &raw));
        engine_.reset(raw);
    }
    ~Engine() { engine_.reset(); }  // first: no event may reach a freed callback

    // Thread-safe. Throws Error (status GPT2C_ERROR_BUSY when the queue is full).
    uint64_t submit(const std::vector<int32_t>& prompt, const GenerateOptions& options, EventCallback callback) {
        detail::CGenerateOptions c(options);
        Callback* target = nullptr;
        {
            std::lock_guard<std::mutex> lock(pending_->mutex);
            pending_->list.push_front(Callback{std::move(callback), pending_.get(), {}});
            target = &pending_->list.front();
            target->self = pending_->list.begin();
        }
        uint64_t id = 0;
        const gpt2c_status status =
            gpt2c_engine_submit(engine_.get(), prompt.data(), prompt.size(), &c.raw, &Callback::call, target, &id);
        if (status != GPT2C_OK) {
            std::string message = gpt2c_last_error();
            std::lock_guard<std::mutex> lock(pending_->mutex);
            pending_->list.erase(target->self);
            throw Error(status, message);
        }
        return id;
    }
    void cancel(uint64_t request) { check(gpt2c_engine_cancel(engine_.get(), request)); }
    void close() { check(gpt2c_engine_close(engine_.get())); }
    void wake() { check(gpt2c_engine_wake(engine_.get())); }
    // Runs one step (waiting up to wait_ms for work); returns the rows run.
    int32_t step(int32_t wait_ms = 0) {
        int32_t rows = 0;
        check(gpt2c_engine_step(engine_.get(), wait_ms, &rows));
        return rows;
    }
    EngineStats stats() const {
        EngineStats s{};
        check(gpt2c_engine_stats_get(engine_.get(), &s));
        return s;
    }
    gpt2c_engine* get() const noexcept { return engine_.get(); }

private:
    struct Pending;
    struct Callback {
        EventCallback callback;
        Pending* owner;
        std::list<Callback>::iterator self;
        static int call(void* user_data, const gpt2c_event* event) {
            auto* c = static_cast<Callback*>(user_data);
            int result = 1;
            try {
                result = !c->callback || c->callback(*event) ? 0 : 1;
            } catch (...) {
            }
            if (event->finish != GPT2C_FINISH_NONE) {  // the last event: the callback is done
                std::lock_guard<std::mutex> lock(c->owner->mutex);
                c->owner->list.erase(c->self);
            }
            return result;
        }
    };
    struct Pending {
        std::mutex mutex;
        std::list<Callback> list;  // the callbacks of requests not finished yet
    };
    std::unique_ptr<Pending> pending_ = std::make_unique<Pending>();
    std::unique_ptr<gpt2c_engine, detail::EngineDeleter> engine_;
};

}  // namespace api
}  // namespace gpt2c

#endif  // GPT2C_RUNTIME_HPP
