// ir/printer.cpp - prints a Module in the textual IR form (see ir/text.h).
#include "ir/text.h"

#include <fmt/format.h>

#include <cmath>

namespace gpt2c::ir {

namespace {

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
        }
    }
    return out + "\"";
}

std::string format_double(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    std::string s = fmt::format("{}", v);  // shortest text that reads back exactly
    if (s.find_first_of(".e") == std::string::npos) s += ".0";
    return s;
}

std::string format_attrs(const Attrs& attrs) {
    if (attrs.empty()) return "";
    std::string s = "{";
    bool first = true;
    for (const auto& [key, value] : attrs) {
        if (!first) s += ", ";
        first = false;
        s += key + " = " + format_attr_value(value);
    }
    return s + "}";
}

}  // namespace

std::string format_attr_value(const AttrValue& value) {
    struct Visitor {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const { return format_double(d); }
        std::string operator()(const std::string& s) const { return quote(s); }
        std::string operator()(const std::vector<int64_t>& list) const {
            return "[" + fmt::format("{}", fmt::join(list, ", ")) + "]";
        }
    };
    return std::visit(Visitor{}, value);
}

std::string print_module(const Module& module) {
    std::string out = "module @" + module.name;
    if (!module.attrs.empty()) out += " " + format_attrs(module.attrs);
    out += " {\n";
    for (const Node& node : module.nodes) {
        out += "  %" + node.name + " = " + std::string(op_info(node.kind).name);
        for (size_t i = 0; i < node.operands.size(); ++i) {
            out += i ? ", %" : " %";
            out += module.nodes[node.operands[i]].name;
        }
        if (!node.attrs.empty()) out += " " + format_attrs(node.attrs);
        out += " : " + format_type(node.type) + "\n";
    }
    if (module.result >= 0) out += "  return %" + module.nodes[module.result].name + "\n";
    out += "}\n";
    return out;
}

}  // namespace gpt2c::ir
