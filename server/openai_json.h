// server/openai_json.h - OpenAI's response objects: completions, stream chunks, errors, the model list.
#pragma once

#include "server/api_error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gpt2c::server {

// Always this: token text may be invalid UTF-8 (replaced by U+FFFD).
std::string dump_json(const nlohmann::json& j);

nlohmann::json error_json(const ApiError& error);
nlohmann::json error_json(int status, const std::string& message);  // type and code from the status

// The legacy `logprobs` object of a choice, built token by token.
struct LogprobsBuilder {
    std::vector<std::string> tokens;
    std::vector<float> token_logprobs;
    std::vector<std::vector<std::pair<std::string, float>>> top;
    std::vector<int64_t> text_offset;
    void add(std::string token, float logprob, std::vector<std::pair<std::string, float>> top_tokens, int64_t offset);
    nlohmann::json to_json() const;
};

struct CompletionHeader {
    std::string id;     // cmpl-...
    int64_t created;    // unix seconds
    std::string model;
};

// "stop" | "length" | null (finish == 0: not finished).
nlohmann::json finish_reason_json(int finish);

nlohmann::json completion_choice(int index, const std::string& text, const nlohmann::json& logprobs,
                                 const nlohmann::json& finish_reason);
nlohmann::json completion_object(const CompletionHeader& h, nlohmann::json choices, int64_t prompt_tokens,
                                 int64_t completion_tokens);
// A stream chunk: the same shape, one choice; "usage": null when the request asked for
// usage (stream_options.include_usage), else no usage field.
nlohmann::json completion_chunk(const CompletionHeader& h, nlohmann::json choice, bool usage_field = false);
// The last chunk of a stream that asked for usage: no choices, the usage of all of them.
nlohmann::json usage_chunk(const CompletionHeader& h, int64_t prompt_tokens, int64_t completion_tokens);

nlohmann::json models_list(const std::string& model_id, int64_t created);

std::string new_completion_id();

}  // namespace gpt2c::server
