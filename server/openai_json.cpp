// server/openai_json.cpp - OpenAI's response objects (see openai_json.h).
#include "server/openai_json.h"

#include <gpt2c/runtime.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace gpt2c::server {

using nlohmann::json;

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json error_json(const ApiError& e) {
    return json{{"error",
                 {{"message", e.what()},
                  {"type", e.type},
                  {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                  {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

json error_json(int status, const std::string& message) {
    std::string type = "invalid_request_error", code;
    switch (status) {
    case 401: type = "authentication_error"; code = "invalid_api_key"; break;
    case 404: code = "not_found"; break;
    case 405: code = "method_not_allowed"; break;
    case 413: code = "request_too_large"; break;
    case 429: type = "rate_limit_error"; code = "rate_limit_exceeded"; break;
    default:
        if (status >= 500) type = status == 503 ? "overloaded_error" : "server_error";
    }
    return error_json(ApiError(status, message, type, "", code));
}

void LogprobsBuilder::add(std::string token, float logprob, std::vector<std::pair<std::string, float>> top_tokens,
                          int64_t offset) {
    tokens.push_back(std::move(token));
    token_logprobs.push_back(logprob);
    top.push_back(std::move(top_tokens));
    text_offset.push_back(offset);
}

json LogprobsBuilder::to_json() const {
    json top_list = json::array();
    for (const auto& t : top) {
        json entry = json::object();
        for (const auto& [text, lp] : t)
            if (!entry.contains(text)) entry[text] = lp;  // two ids with one text: the likelier one
        top_list.push_back(std::move(entry));
    }
    return json{{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", std::move(top_list)},
                {"text_offset", text_offset}};
}

json finish_reason_json(int finish) {
    switch (finish) {
    case GPT2C_FINISH_NONE: return nullptr;
    case GPT2C_FINISH_LENGTH: return "length";
    case GPT2C_FINISH_EOS:
    case GPT2C_FINISH_STOP_STRING: return "stop";
    default: return "length";  // cancelled or failed: reported separately
    }
}

json completion_choice(int index, const std::string& text, const json& logprobs, const json& finish_reason) {
    return json{{"text", text}, {"index", index}, {"logprobs", logprobs}, {"finish_reason", finish_reason}};
}

namespace {
json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}};
}
}  // namespace

json completion_object(const CompletionHeader& h, json choices, int64_t prompt_tokens, int64_t completion_tokens) {
    return json{{"id", h.id},
                {"object", "text_completion"},
                {"created", h.created},
                {"model", h.model},
                {"choices", std::move(choices)},
                {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

json completion_chunk(const CompletionHeader& h, json choice, bool usage_field) {
    json chunk{{"id", h.id},
               {"object", "text_completion"},
               {"created", h.created},
               {"model", h.model},
               {"choices", json::array({std::move(choice)})}};
    if (usage_field) chunk["usage"] = nullptr;
    return chunk;
}

json usage_chunk(const CompletionHeader& h, int64_t prompt_tokens, int64_t completion_tokens) {
    return json{{"id", h.id},
                {"object", "text_completion"},
                {"created", h.created},
                {"model", h.model},
                {"choices", json::array()},
                {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

json models_list(const std::string& model_id, int64_t created) {
    return json{{"object", "list"},
                {"data", json::array({json{{"id", model_id}, {"object", "model"}, {"created", created},
                                           {"owned_by", "gpt2c"}}})}};
}

std::string new_completion_id() {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = [] {
        std::random_device rd;
        return (uint64_t(rd()) << 32 ^ rd()) ^ uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    }();
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "cmpl-%016llx%06llx", (unsigned long long)salt,
                  (unsigned long long)(counter.fetch_add(1) & 0xffffff));
    return buffer;
}

}  // namespace gpt2c::server
