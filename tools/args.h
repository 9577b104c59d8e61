// tools/args.h - a small command-line parser for the gpt2c subcommands.
//
// Each subcommand declares its options (and whether each takes a value);
// `--name=value`, `--name value` and `-o value` forms are accepted, anything
// undeclared is an error naming the option and the subcommand.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpt2c::tools {

struct OptionSpec {
    std::string name;  // "--emit-ir", "-o"
    bool takes_value;
    std::string help;
};

class Args {
public:
    Args(std::string command, std::vector<OptionSpec> specs, int argc, char** argv, int first);

    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::optional<std::string> get(const std::string& name) const;
    std::string require(const std::string& name) const;  // error when absent
    std::vector<std::string> all(const std::string& name) const;
    int64_t get_int(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
    double get_double(const std::string& name, double fallback, double min, double max) const;
    const std::vector<std::string>& positionals() const { return positionals_; }
    bool help() const { return help_; }
    std::string usage() const;

private:
    std::string command_;
    std::vector<OptionSpec> specs_;
    std::map<std::string, std::vector<std::string>> values_;
    std::vector<std::string> positionals_;
    bool help_ = false;
};

// "1,2,3" -> ids; names `what` in errors.
std::vector<int32_t> parse_token_list(const std::string& text, const std::string& what);

}  // namespace gpt2c::tools
