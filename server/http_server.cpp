// server/http_server.cpp - routes, authentication, limits and completions (see http_server.h).
#include "server/http_server.h"

#include "server/connection_pool.h"
#include "server/openai_json.h"
#include "support/error.h"

#include <httplib.h>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <random>

namespace gpt2c::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kOverflowThreads = 32;  // connections beyond the limit being refused at once

// What the request log line reports, filled in on the connection's thread as the request runs.
struct RequestLog {
    Clock::time_point start;
    int64_t prompt_tokens = -1;
    int64_t generated_tokens = -1;
    const char* note = "";
};
thread_local RequestLog t_log;

void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
    res.set_content(dump_json(error_json(e)), "application/json");
}

void send_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(dump_json(body), "application/json");
}

bool same_secret(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() != b.size();
    for (size_t i = 0; i < a.size(); ++i) diff |= (unsigned char)(a[i] ^ b[i < b.size() ? i : 0]);
    return diff == 0;
}

// One choice's text, token count and log-probabilities as its events arrive.
struct ChoiceState {
    std::string text;
    int64_t tokens = 0;
    int64_t offset = 0;  // text_offset of the next token
    LogprobsBuilder logprobs;
    gpt2c_finish_reason finish = GPT2C_FINISH_NONE;
    std::string error;
    bool seen = false;  // an event (token or final) arrived
};

std::vector<std::pair<std::string, float>> top_texts(const gpt2c::api::Model& model, const ChoiceEvent& e) {
    std::vector<std::pair<std::string, float>> top;
    for (const auto& [id, lp] : e.top) top.emplace_back(model.detokenize(&id, 1), lp);
    return top;
}

// Applies a token event to its choice; returns the one-token logprobs object when asked for.
json apply_token(const gpt2c::api::Model& model, int logprobs, const ChoiceEvent& e, ChoiceState& c) {
    c.text += e.text;
    ++c.tokens;
    if (logprobs < 0) return nullptr;
    std::string token_text = model.detokenize(&e.token, 1);
    LogprobsBuilder one;
    one.add(token_text, e.logprob, top_texts(model, e), c.offset);
    c.logprobs.add(token_text, e.logprob, top_texts(model, e), c.offset);
    c.offset += int64_t(token_text.size());
    return one.to_json();
}

json choice_logprobs(int logprobs, const ChoiceState& c) {
    return logprobs < 0 ? json(nullptr) : c.logprobs.to_json();
}

ApiError failed_choice(const ChoiceState& c) {
    if (c.finish == GPT2C_FINISH_CANCELLED)
        return ApiError(503, "the request was cancelled: the server is shutting down", "overloaded_error", "",
                        "cancelled");
    return ApiError(500, "generation failed: " + c.error, "server_error");
}

bool choice_failed(const ChoiceState& c) {
    return c.finish == GPT2C_FINISH_CANCELLED || c.finish == GPT2C_FINISH_ERROR;
}

}  // namespace

// Counts a completion in flight (for the drain) while it lives.
class HttpServer::InFlight {
public:
    explicit InFlight(HttpServer& server) : server_(server) { server_.in_flight_.fetch_add(1); }
    ~InFlight() {
        std::lock_guard<std::mutex> lock(server_.idle_mutex_);
        server_.in_flight_.fetch_sub(1);
        server_.idle_.notify_all();
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    HttpServer& server_;
};

// One completion being answered, streamed or plain; shared by its handler, content provider and releaser.
struct HttpServer::CompletionState {
    std::shared_ptr<RequestChannel> channel;
    std::unique_ptr<InFlight> in_flight;
    CompletionHeader header;
    std::vector<ChoiceState> choices;
    int logprobs = -1;
    bool echo = false;
    bool include_usage = false;
    std::string prompt_text;
    int64_t prompt_tokens = 0;
    bool started = false;
    int finals = 0;
    int seen = 0;  // choices that had an event (plain completions)
    bool failed = false;
};

HttpServer::HttpServer(const ServeOptions& options, Metrics& metrics)
    : options_(options), metrics_(metrics), server_(std::make_unique<httplib::Server>()),
      started_(int64_t(std::time(nullptr))) {
    limits_.model_id = options_.model_id;
    routes();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::routes() {
    httplib::Server& s = *server_;
    const size_t workers = size_t(options_.max_connections);
    s.new_task_queue = [this, workers] { return new ConnectionPool(workers, kOverflowThreads, metrics_.connections); };
    // Bodies up to a few times the limit are read and then refused by completions():
    // answering 413 before reading a body the client is still sending makes the kernel
    // reset the connection, and the client may never see the answer. Only bodies far
    // beyond the limit are cut off unread.
    s.set_payload_max_length(std::max<size_t>(size_t(options_.max_body_bytes) * 4, 1 << 20));
    s.set_keep_alive_timeout(2);  // an idle keep-alive connection holds a worker (and shutdown) this long
    // Draining: every answer closes its connection, so clients and load balancers
    // reconnect elsewhere and no idle connection delays the exit.
    s.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
        if (draining_.load()) res.set_header("Connection", "close");
    });
    s.set_read_timeout(30);
    s.set_write_timeout(10);
    s.set_tcp_nodelay(true);

    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        t_log = RequestLog{Clock::now()};
        if (is_overflow_connection()) {
            ApiError e(503, fmt::format("too many connections (at most {}); try again later", options_.max_connections),
                       "overloaded_error", "", "too_many_connections");
            e.retry_after = 1;
            send_error(res, e);
            res.set_header("Connection", "close");
            return httplib::Server::HandlerResponse::Handled;
        }
        if (!options_.api_key.empty() && req.path.rfind("/v1/", 0) == 0) {
            const std::string auth = req.get_header_value("Authorization");
            const std::string prefix = "Bearer ";
            if (auth.rfind(prefix, 0) != 0 || !same_secret(auth.substr(prefix.size()), options_.api_key)) {
                send_error(res, ApiError(401,
                                         auth.empty() ? "missing API key: send 'Authorization: Bearer KEY'"
                                                      : "incorrect API key",
                                         "authentication_error", "", "invalid_api_key"));
                res.set_header("WWW-Authenticate", "Bearer");
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    s.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
        try {
            completions(req, res);
        } catch (const ApiError& e) {
            send_error(res, e);
        } catch (const gpt2c::api::Error& e) {
            send_error(res, ApiError(e.status() == GPT2C_ERROR_INVALID_ARGUMENT ? 400 : 500, e.what(),
                                     e.status() == GPT2C_ERROR_INVALID_ARGUMENT ? "invalid_request_error" : "server_error"));
        } catch (const std::exception& e) {
            send_error(res, ApiError(500, fmt::format("internal error: {}", e.what()), "server_error"));
        }
    });
    s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
        send_json(res, 200, models_list(options_.model_id, started_));
    });
    s.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches[1];
        if (id != options_.model_id) {
            send_error(res, ApiError(404, fmt::format("The model '{}' does not exist", id), "invalid_request_error",
                                     "model", "model_not_found"));
            return;
        }
        send_json(res, 200, models_list(options_.model_id, started_)["data"][0]);
    });
    s.Get("/health", [this](const httplib::Request&, httplib::Response& res) { health(res); });
    s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) { metrics(res); });
    auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
        send_error(res, ApiError(405, fmt::format("method {} is not allowed on {}", req.method, req.path),
                                 "invalid_request_error", "", "method_not_allowed"));
    };
    s.Get("/v1/completions", not_allowed);
    s.Post("/v1/models", not_allowed);
    s.Post("/health", not_allowed);
    s.Post("/metrics", not_allowed);

    // Errors httplib produces itself (unknown route, body too large, bad request) get OpenAI's shape.
    s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        std::string message;
        switch (res.status) {
        case 404: message = fmt::format("unknown route: {} {}", req.method, req.path); break;
        case 413: message = "the request body is too large"; break;
        case 414: message = "the request URI is too long"; break;
        default: message = fmt::format("the request failed (HTTP {})", res.status);
        }
        res.set_content(dump_json(error_json(res.status, message)), "application/json");
    });
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, ApiError(500, "internal error", "server_error"));
    });

    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        metrics_.count_request(res.status);
        const double ms = t_log.start == Clock::time_point{}
                              ? 0.0
                              : std::chrono::duration<double, std::milli>(Clock::now() - t_log.start).count();
        std::string tokens;
        if (t_log.prompt_tokens >= 0)
            tokens = fmt::format(" prompt_tokens={} generated_tokens={}", t_log.prompt_tokens,
                                 std::max<int64_t>(0, t_log.generated_tokens));
        std::cerr << fmt::format("gpt2c serve: {} {} {} {} {}{} {:.1f} ms{}\n", req.remote_addr, req.method, req.path,
                                 res.status, req.body.size(), tokens, ms, t_log.note)
                  << std::flush;
        t_log = RequestLog{};
    });
}

int HttpServer::start() {
    int port = options_.port;
    if (port == 0) {
        port = server_->bind_to_any_port(options_.host);
        if (port < 0) fail("serve: cannot listen on {}: no free port", options_.host);
    } else if (!server_->bind_to_port(options_.host, port)) {
        fail("serve: cannot listen on {}:{} (in use, or not an address of this machine)", options_.host, port);
    }
    listener_ = std::thread([this] { server_->listen_after_bind(); });
    return port;
}

void HttpServer::set_ready(const gpt2c::api::Model& model, EngineLoop& engine, const CompletionLimits& limits) {
    model_ = &model;
    engine_ = &engine;
    limits_ = limits;
    defaults_ = model.sampling_defaults();
    ready_.store(true);
}

void HttpServer::begin_drain() { draining_.store(true); }

bool HttpServer::wait_idle(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(idle_mutex_);
    return idle_.wait_until(lock, deadline, [&] { return in_flight_.load() == 0; });
}

void HttpServer::stop() {
    if (server_) server_->stop();
    if (listener_.joinable()) listener_.join();
}

void HttpServer::health(httplib::Response& res) {
    if (draining_.load()) {
        res.set_header("Retry-After", "5");
        send_json(res, 503, json{{"status", "draining"}});
    } else if (!ready_.load()) {
        res.set_header("Retry-After", "1");
        send_json(res, 503, json{{"status", "loading"}});
    } else {
        send_json(res, 200, json{{"status", "ok"}});
    }
}

void HttpServer::metrics(httplib::Response& res) {
    gpt2c_engine_stats stats{};
    const bool ready = ready_.load();
    if (ready) stats = engine_->stats();
    res.status = 200;
    res.set_content(metrics_.render(ready ? &stats : nullptr, options_.slots, ready, draining_.load()),
                    "text/plain; version=0.0.4; charset=utf-8");
}

void HttpServer::completions(const httplib::Request& req, httplib::Response& res) {
    auto unavailable = [](const std::string& message, const char* code) {
        ApiError e(503, message, "overloaded_error", "", code);
        e.retry_after = 5;
        return e;
    };
    if (draining_.load()) throw unavailable("the server is shutting down", "shutting_down");
    if (!ready_.load()) throw unavailable("the model is still loading", "loading");
    if (req.body.size() > size_t(options_.max_body_bytes))
        throw ApiError(413, fmt::format("the request body has {} bytes; the limit is {}", req.body.size(),
                                        options_.max_body_bytes),
                       "invalid_request_error", "", "request_too_large");
    auto in_flight = std::make_unique<InFlight>(*this);

    const CompletionRequest r = parse_completion_request(
        req.body, limits_, [this](const std::string& text) { return model_->tokenize(text); },
        [this](const std::vector<int32_t>& ids) { return model_->detokenize(ids); }, defaults_);
    t_log.prompt_tokens = int64_t(r.prompt.size());
    t_log.generated_tokens = 0;

    gpt2c::api::GenerateOptions options;
    options.sampling = r.sampling;
    options.max_new_tokens = r.max_tokens;
    options.stop = r.stop;
    options.logprobs = r.logprobs;
    uint64_t seed = 0;
    if (r.seed) {
        seed = *r.seed;
    } else {
        std::random_device rd;
        seed = (uint64_t(rd()) << 32) ^ rd();
    }

    auto channel = std::make_shared<RequestChannel>(r.n);
    try {
        engine_->submit(r.prompt, options, r.n, seed, channel);
    } catch (const gpt2c::api::Error& e) {
        switch (e.status()) {
        case GPT2C_ERROR_BUSY: {
            if (draining_.load()) throw unavailable("the server is shutting down", "shutting_down");
            ApiError busy(429, fmt::format("the server is busy (the queue of {} requests is full); try again later",
                                           options_.max_queue),
                          "rate_limit_error", "", "queue_full");
            busy.retry_after = 1;
            throw busy;
        }
        case GPT2C_ERROR_CONTEXT_FULL:
            throw ApiError(400, e.what(), "invalid_request_error", "prompt", "context_length_exceeded");
        case GPT2C_ERROR_INVALID_ARGUMENT: throw ApiError(400, e.what(), "invalid_request_error");
        default: throw ApiError(500, e.what(), "server_error");
        }
    }

    auto state = std::make_shared<CompletionState>();
    state->channel = channel;
    state->in_flight = std::move(in_flight);
    state->header = CompletionHeader{new_completion_id(), int64_t(std::time(nullptr)), options_.model_id};
    state->choices.resize(size_t(r.n));
    state->logprobs = r.logprobs;
    state->echo = r.echo;
    state->include_usage = r.include_usage;
    state->prompt_text = r.prompt_text;
    state->prompt_tokens = int64_t(r.prompt.size());
    for (ChoiceState& c : state->choices) c.offset = r.echo ? int64_t(r.prompt_text.size()) : 0;
    if (r.stream)
        stream_completion(res, std::move(state));
    else
        plain_completion(res, std::move(state));
}

// Moves the channel's events (waiting up to `timeout` for one) into the choices' text, tokens and finish.
void HttpServer::collect(CompletionState& st, std::chrono::milliseconds timeout) {
    std::vector<ChoiceEvent> events;
    st.channel->wait(events, timeout);
    for (const ChoiceEvent& e : events) {
        ChoiceState& c = st.choices[size_t(e.index)];
        if (!c.seen) {
            c.seen = true;
            ++st.seen;
        }
        if (e.token >= 0) {
            apply_token(*model_, st.logprobs, e, c);
            ++t_log.generated_tokens;
            continue;
        }
        c.text += e.text;
        c.finish = e.finish;
        c.error = e.error;
        ++st.finals;
        if (choice_failed(c)) st.failed = true;
    }
}

// The body of a finished plain completion: the completion object, or the error of its first failed choice.
std::string HttpServer::plain_body(const CompletionState& st) {
    json out = json::array();
    int64_t generated = 0;
    for (size_t i = 0; i < st.choices.size(); ++i) {
        const ChoiceState& c = st.choices[i];
        if (choice_failed(c)) {
            t_log.note = " (failed)";
            return dump_json(error_json(failed_choice(c)));
        }
        out.push_back(completion_choice(int(i), st.echo ? st.prompt_text + c.text : c.text,
                                        choice_logprobs(st.logprobs, c), finish_reason_json(c.finish)));
        generated += c.tokens;
    }
    return dump_json(completion_object(st.header, std::move(out), st.prompt_tokens, generated));
}

// A plain (not streamed) completion. httplib 0.11 tells a handler nothing about its client, so
// waiting for the tokens in the handler would keep a vanished client's slot until max_tokens.
// The wait runs in a chunked content provider instead, which checks the connection between
// 50 ms waits (sink.is_writable peeks at the socket) and cancels the request of a client that
// left; the body is written once, whole, when every choice has finished.
//
// Setting the provider commits the status: httplib sends 200 before calling it. So the handler
// itself first waits until every choice had its first event (the request got a slot and its
// prefill ran, or it failed): a request that fails before that - an engine error, cancelled by
// the drain deadline while queued - still gets its error status (500, 503), and so does one
// that ends entirely within that wait (it is answered with Content-Length, as before). A
// choice that fails after the 200 went out (an engine error mid-generation, the drain deadline)
// makes the body the OpenAI error object ({"error": ...}) under status 200; the request log
// marks it " (failed)". A client that leaves while the request waits in the queue is noticed
// once the request gets its slot, within a step of that.
void HttpServer::plain_completion(httplib::Response& res, std::shared_ptr<CompletionState> state) {
    const int n = int(state->choices.size());
    while (state->seen < n && !state->failed) collect(*state, std::chrono::milliseconds(200));
    if (state->failed) {
        // Nothing was sent yet: the failure gets its status, and the other choices end now.
        engine_->cancel(*state->channel);
        for (const ChoiceState& c : state->choices)
            if (choice_failed(c)) throw failed_choice(c);
    }
    if (state->finals == n) {
        res.status = 200;
        res.set_content(plain_body(*state), "application/json");
        return;
    }
    provide(res, std::move(state), "application/json", &HttpServer::plain_step);
}

// Answers through a chunked content provider that calls `step` until it returns false.
// httplib does not catch exceptions from a provider: nothing may escape this one. The
// releaser runs when the response is done with: one that did not end well (client gone,
// server stopping) cancels its requests.
void HttpServer::provide(httplib::Response& res, std::shared_ptr<CompletionState> state, const char* content_type,
                         bool (HttpServer::*step)(CompletionState&, httplib::DataSink&)) {
    auto provider = [this, state, step](size_t, httplib::DataSink& sink) -> bool {
        try {
            return (this->*step)(*state, sink);
        } catch (const std::exception& e) {
            engine_->cancel(*state->channel);
            std::cerr << "gpt2c serve: completion failed: " << e.what() << "\n";
            t_log.note = " (failed)";
            return false;
        }
    };
    auto releaser = [this, state](bool success) {
        if (!success || state->finals < int(state->choices.size())) engine_->cancel(*state->channel);
    };
    res.set_chunked_content_provider(content_type, std::move(provider), std::move(releaser));
}

// Waits up to 50 ms for events; when every choice finished, writes the body and ends the
// response. False (the response ends) when the client is gone: its request is cancelled.
bool HttpServer::plain_step(CompletionState& st, httplib::DataSink& sink) {
    auto give_up = [&] {
        engine_->cancel(*st.channel);
        t_log.note = " (client gone)";
        return false;
    };
    collect(st, std::chrono::milliseconds(50));
    if (st.finals == int(st.choices.size())) {
        const std::string body = plain_body(st);
        if (!sink.write(body.data(), body.size())) return give_up();
        sink.done();
        return true;
    }
    if (!sink.is_writable()) return give_up();
    return true;
}

void HttpServer::stream_completion(httplib::Response& res, std::shared_ptr<CompletionState> state) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    provide(res, std::move(state), "text/event-stream", &HttpServer::stream_step);
}

// Sends what the channel has (waiting up to 100 ms for it); false ends the response.
bool HttpServer::stream_step(CompletionState& st, httplib::DataSink& sink) {
    auto send = [&](const json& body) {
        const std::string line = "data: " + dump_json(body) + "\n\n";
        return sink.write(line.data(), line.size());
    };
    auto chunk = [&](json choice) { return completion_chunk(st.header, std::move(choice), st.include_usage); };
    auto give_up = [&](const char* note) {
        engine_->cancel(*st.channel);
        t_log.note = note;
        return false;
    };
    if (!st.started) {
        st.started = true;
        if (st.echo)
            for (size_t i = 0; i < st.choices.size(); ++i)
                if (!send(chunk(completion_choice(int(i), st.prompt_text, nullptr, nullptr))))
                    return give_up(" (client gone)");
    }
    std::vector<ChoiceEvent> events;
    st.channel->wait(events, std::chrono::milliseconds(100));
    for (const ChoiceEvent& e : events) {
        ChoiceState& c = st.choices[size_t(e.index)];
        if (e.token >= 0) {
            json logprobs = apply_token(*model_, st.logprobs, e, c);
            ++t_log.generated_tokens;
            if (e.text.empty() && st.logprobs < 0) continue;
            if (!send(chunk(completion_choice(e.index, e.text, logprobs, nullptr))))
                return give_up(" (client gone)");
            continue;
        }
        ++st.finals;
        c.text += e.text;
        c.finish = e.finish;
        c.error = e.error;
        if (choice_failed(c)) {
            st.failed = true;
            if (!send(error_json(failed_choice(c)))) return give_up(" (client gone)");
            continue;
        }
        const json no_tokens = st.logprobs < 0 ? json(nullptr) : LogprobsBuilder{}.to_json();
        if (!send(chunk(completion_choice(e.index, e.text, no_tokens, finish_reason_json(e.finish)))))
            return give_up(" (client gone)");
    }
    if (st.finals == int(st.choices.size())) {
        if (st.failed) {
            t_log.note = " (failed)";
        } else {
            if (st.include_usage) {
                int64_t generated = 0;
                for (const ChoiceState& c : st.choices) generated += c.tokens;
                if (!send(usage_chunk(st.header, st.prompt_tokens, generated))) return give_up(" (client gone)");
            }
            static const char kDone[] = "data: [DONE]\n\n";
            if (!sink.write(kDone, sizeof kDone - 1)) return give_up(" (client gone)");
        }
        sink.done();
        return true;
    }
    if (!sink.is_writable()) return give_up(" (client gone)");
    return true;
}

}  // namespace gpt2c::server
