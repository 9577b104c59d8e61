// server/api_error.h - an HTTP error in OpenAI's shape, thrown by request handling and
// turned into {"error":{"message","type","param","code"}} with its status.
#pragma once

#include <stdexcept>
#include <string>

namespace gpt2c::server {

struct ApiError : std::runtime_error {
    ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string param = "",
             std::string code = "")
        : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)),
          code(std::move(code)) {}
    int status;
    std::string type;   // invalid_request_error, authentication_error, server_error, ...
    std::string param;  // the field at fault ("" -> null)
    std::string code;   // "" -> null
    int retry_after = 0;  // > 0: send Retry-After
};

}  // namespace gpt2c::server
