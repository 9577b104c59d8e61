// tools/args.cpp - parsing of subcommand options (see args.h).
#include "tools/args.h"

#include "support/error.h"
#include "tools/driver.h"

#include <cerrno>
#include <cstdlib>

namespace gpt2c::tools {

Args::Args(std::string command, std::vector<OptionSpec> specs, int argc, char** argv, int first)
    : command_(std::move(command)), specs_(std::move(specs)) {
    auto find_spec = [&](const std::string& name) -> const OptionSpec* {
        for (const OptionSpec& s : specs_)
            if (s.name == name) return &s;
        return nullptr;
    };
    for (int i = first; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            help_ = true;
            continue;
        }
        if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
            positionals_.push_back(arg);
            continue;
        }
        std::string name = arg, value;
        bool has_value = false;
        if (size_t eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        } else if (arg.size() > 2 && arg[0] == '-' && arg[1] == 'O') {
            name = "-O";  // -O0 .. -O3
            value = arg.substr(2);
            has_value = true;
        }
        const OptionSpec* spec = find_spec(name);
        if (!spec) fail("{0} {1}: unknown option '{2}' (see {0} {1} --help)", program_name(), command_, name);
        if (spec->takes_value && !has_value) {
            if (i + 1 >= argc) fail("{} {}: option '{}' needs a value", program_name(), command_, name);
            value = argv[++i];
        } else if (!spec->takes_value && has_value) {
            fail("{} {}: option '{}' takes no value", program_name(), command_, name);
        }
        values_[name].push_back(value);
    }
}

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second.back();
}

std::string Args::require(const std::string& name) const {
    auto v = get(name);
    if (!v) fail("{0} {1}: missing required option '{2}' (see {0} {1} --help)", program_name(), command_, name);
    return *v;
}

std::vector<std::string> Args::all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
    auto v = get(name);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    long long x = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno == ERANGE || x < min || x > max)
        fail("{} {}: option '{}' expects an integer in {}..{}, got '{}'", program_name(), command_, name, min, max, *v);
    return x;
}

double Args::get_double(const std::string& name, double fallback, double min, double max) const {
    auto v = get(name);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    double x = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0' || errno == ERANGE || !(x >= min && x <= max))
        fail("{} {}: option '{}' expects a number in [{}, {}], got '{}'", program_name(), command_, name, min, max, *v);
    return x;
}

std::string Args::usage() const {
    std::string s;
    for (const OptionSpec& o : specs_)
        s += fmt::format("  {:<28} {}\n", o.name + (o.takes_value ? (o.name == "-O" ? "N" : " VALUE") : ""), o.help);
    return s;
}

std::vector<int32_t> parse_token_list(const std::string& text, const std::string& what) {
    std::vector<int32_t> ids;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || errno == ERANGE || v < 0 || v > INT32_MAX)
            fail("{}: '{}' is not a token id (expected comma-separated non-negative integers)", what, item);
        ids.push_back(int32_t(v));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return ids;
}

}  // namespace gpt2c::tools
