// server/completion_request.cpp - parsing and checking a completions request (see completion_request.h).
#include "server/completion_request.h"

#include "support/error.h"
#include "support/json_limits.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace gpt2c::server {

namespace {

using nlohmann::json;

constexpr size_t kMaxRequestDepth = 64;
constexpr size_t kMaxStopStrings = 4;
constexpr size_t kMaxStopBytes = 256;

[[noreturn]] void bad(const std::string& param, const std::string& message) {
    throw ApiError(400, message, "invalid_request_error", param);
}

// The field, or nullptr when absent or null (OpenAI's clients send null for "not given").
const json* field(const json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

std::string type_of(const json& v) { return v.type_name(); }

int64_t integer(const json& body, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
    const json* v = field(body, name);
    if (!v) return fallback;
    if (!v->is_number_integer())
        bad(name, fmt::format("'{}' must be an integer, got {}", name, type_of(*v)));
    // JSON reads every non-negative integer (0 too) as unsigned: both bounds apply to it.
    const bool out_of_range = v->is_number_unsigned()
                                  ? v->get<uint64_t>() > uint64_t(hi) || (lo > 0 && v->get<uint64_t>() < uint64_t(lo))
                                  : v->get<int64_t>() < lo || v->get<int64_t>() > hi;
    if (out_of_range)
        bad(name, fmt::format("'{}' must be in {}..{}, got {}", name, lo, hi,
                              v->is_number_unsigned() ? std::to_string(v->get<uint64_t>()) : std::to_string(v->get<int64_t>())));
    return v->get<int64_t>();
}

std::optional<double> number(const json& body, const char* name, double lo, double hi, bool open_low = false) {
    const json* v = field(body, name);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad(name, fmt::format("'{}' must be a number, got {}", name, type_of(*v)));
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (open_low && x == lo))
        bad(name, fmt::format("'{}' must be in {}{}, {}], got {}", name, open_low ? "(" : "[", lo, hi, x));
    return x;
}

bool boolean(const json& body, const char* name) {
    const json* v = field(body, name);
    if (!v) return false;
    if (!v->is_boolean()) bad(name, fmt::format("'{}' must be true or false, got {}", name, type_of(*v)));
    return v->get<bool>();
}

std::vector<int32_t> token_ids(const json& array, int32_t vocab) {
    std::vector<int32_t> ids;
    ids.reserve(array.size());
    for (size_t i = 0; i < array.size(); ++i) {
        const json& v = array[i];
        if (!v.is_number_integer())
            bad("prompt", fmt::format("'prompt' must be a string or an array of token ids; element {} is {}", i, type_of(v)));
        const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() < uint64_t(vocab)
                                               : v.get<int64_t>() >= 0 && v.get<int64_t>() < vocab;
        if (!ok) bad("prompt", fmt::format("'prompt': token id at index {} is out of range 0..{}", i, vocab - 1));
        ids.push_back(int32_t(v.get<int64_t>()));
    }
    return ids;
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body_text, const CompletionLimits& limits,
                                           const TokenizeFn& tokenize, const DetokenizeFn& detokenize,
                                           const gpt2c::api::Sampling& defaults) {
    try {
        check_json_depth(body_text, "request body", kMaxRequestDepth);
    } catch (const gpt2c::Error& e) {
        bad("", e.what());
    }
    json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) bad("", "the request body is not valid JSON");
    if (!body.is_object()) bad("", fmt::format("the request body must be a JSON object, got {}", type_of(body)));

    CompletionRequest r;
    if (const json* m = field(body, "model")) {
        if (!m->is_string()) bad("model", fmt::format("'model' must be a string, got {}", type_of(*m)));
        if (m->get<std::string>() != limits.model_id)
            throw ApiError(404, fmt::format("The model '{}' does not exist; this server serves '{}'",
                                            m->get<std::string>(), limits.model_id),
                           "invalid_request_error", "model", "model_not_found");
    }

    // prompt: a string, an array of ids, or an array holding exactly one of those.
    const json* p = field(body, "prompt");
    if (!p) {
        r.prompt_text = "";
    } else if (p->is_string()) {
        r.prompt_text = p->get<std::string>();
    } else if (p->is_array()) {
        const json* one = p;
        if (!p->empty() && ((*p)[0].is_string() || (*p)[0].is_array())) {
            if (p->size() != 1)
                bad("prompt", fmt::format("'prompt' holds {} prompts; this server takes one per request", p->size()));
            one = &(*p)[0];
        }
        if (one->is_string()) {
            r.prompt_text = one->get<std::string>();
        } else if (one->is_array()) {
            r.prompt = token_ids(*one, limits.vocab_size);
            r.prompt_text = detokenize(r.prompt);
        } else {
            bad("prompt", fmt::format("'prompt' must be a string or an array of token ids, got an array of {}",
                                      type_of(*one)));
        }
        if (one->is_string()) p = one;
    } else {
        bad("prompt", fmt::format("'prompt' must be a string or an array of token ids, got {}", type_of(*p)));
    }
    if (p && p->is_string()) {
        if (r.prompt_text.size() > size_t(limits.context) * 64)  // no use tokenizing what cannot fit
            bad("prompt", fmt::format("'prompt' is too long: the context holds {} tokens", limits.context));
        r.prompt = tokenize(r.prompt_text);
    }
    if (r.prompt.size() > size_t(limits.context - 1))
        throw ApiError(400,
                       fmt::format("This model's context holds {} tokens, but the prompt has {}: at most {} prompt "
                                   "tokens leave room for one new token",
                                   limits.context, r.prompt.size(), limits.context - 1),
                       "invalid_request_error", "prompt", "context_length_exceeded");

    r.max_tokens = int32_t(integer(body, "max_tokens", 16, 0, limits.max_tokens));
    r.n = int32_t(integer(body, "n", 1, 1, limits.max_n));
    if (const json* b = field(body, "best_of")) {
        if (!b->is_number_integer()) bad("best_of", fmt::format("'best_of' must be an integer, got {}", type_of(*b)));
        if (b->get<int64_t>() != r.n) bad("best_of", "'best_of' other than n is not supported");
    }
    r.stream = boolean(body, "stream");
    r.echo = boolean(body, "echo");
    r.logprobs = int32_t(integer(body, "logprobs", -1, 0, 20));
    if (field(body, "logprobs") == nullptr) r.logprobs = -1;

    if (const json* s = field(body, "stop")) {
        auto add = [&](const json& v) {
            if (!v.is_string()) bad("stop", fmt::format("'stop' must be a string or an array of strings, got {}", type_of(v)));
            std::string text = v.get<std::string>();
            if (text.size() > kMaxStopBytes) bad("stop", fmt::format("a stop string may have at most {} bytes", kMaxStopBytes));
            if (!text.empty()) r.stop.push_back(std::move(text));
        };
        if (s->is_array()) {
            if (s->size() > kMaxStopStrings) bad("stop", fmt::format("'stop' may hold at most {} strings", kMaxStopStrings));
            for (const json& v : *s) add(v);
        } else {
            add(*s);
        }
    }
    if (const json* s = field(body, "seed")) {
        if (!s->is_number_integer()) bad("seed", fmt::format("'seed' must be an integer, got {}", type_of(*s)));
        r.seed = s->is_number_unsigned() ? s->get<uint64_t>() : uint64_t(s->get<int64_t>());
    }
    if (const json* s = field(body, "suffix")) {
        if (!s->is_string()) bad("suffix", fmt::format("'suffix' must be a string, got {}", type_of(*s)));
        if (!s->get<std::string>().empty()) bad("suffix", "'suffix' is not supported");
    }
    if (const json* s = field(body, "logit_bias")) {
        if (!s->is_object()) bad("logit_bias", fmt::format("'logit_bias' must be an object, got {}", type_of(*s)));
        if (!s->empty()) bad("logit_bias", "'logit_bias' is not supported");
    }
    if (const json* s = field(body, "user"); s && !s->is_string())
        bad("user", fmt::format("'user' must be a string, got {}", type_of(*s)));
    if (const json* s = field(body, "stream_options")) {
        if (!s->is_object()) bad("stream_options", fmt::format("'stream_options' must be an object, got {}", type_of(*s)));
        if (!r.stream) bad("stream_options", "'stream_options' is only allowed when 'stream' is true");
        r.include_usage = boolean(*s, "include_usage");
    }

    r.sampling = defaults;
    const double temperature = number(body, "temperature", 0, 2).value_or(1.0);
    r.sampling.temperature = float(temperature);
    r.sampling.greedy = temperature == 0 ? 1 : 0;
    if (auto v = number(body, "top_p", 0, 1, /*open_low=*/true)) r.sampling.top_p = float(*v);
    r.sampling.top_k = int32_t(integer(body, "top_k", r.sampling.top_k, 0, limits.vocab_size));
    if (auto v = number(body, "presence_penalty", -2, 2)) r.sampling.presence_penalty = float(*v);
    if (auto v = number(body, "frequency_penalty", -2, 2)) r.sampling.frequency_penalty = float(*v);
    if (auto v = number(body, "repetition_penalty", 1, 100)) r.sampling.repetition_penalty = float(*v);
    return r;
}

}  // namespace gpt2c::server
