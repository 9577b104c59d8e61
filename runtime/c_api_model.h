// runtime/c_api_model.h - what a gpt2c_model handle holds (shared by the C API's translation units).
#pragma once

#include "runtime/c_api_internal.h"
#include "runtime/model.h"
#include "runtime/tokenizer.h"

#include <memory>
#include <mutex>

struct gpt2c_model {
    std::shared_ptr<gpt2c::Model> model;
    gpt2c::Tokenizer tokenizer;
    gpt2c_sampling defaults{};
    int32_t eos_token_id = -1;  // -1: never stop early
    int32_t bos_token_id = -1;  // what an empty prompt starts from; -1: none

    // gpt2c_generate calls on one model are serialized: they share the model's
    // thread pool and this session (its KV cache is allocated once).
    std::mutex generate_mutex;
    std::unique_ptr<gpt2c::Session> session;

    gpt2c_model(std::shared_ptr<gpt2c::Model> m, gpt2c::Tokenizer t) : model(std::move(m)), tokenizer(std::move(t)) {}
};
