// ir/dot.cpp - Graphviz output of a Module (see ir/dot.h).
#include "ir/dot.h"

#include "ir/text.h"

#include <fmt/format.h>

namespace gpt2c::ir {

namespace {

// Longer attribute values are cut so a box stays readable.
constexpr size_t kMaxAttrChars = 40;

// Escapes text for a double-quoted DOT string; newlines become left-justified breaks.
std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\l"; break;
        default: out += c;
        }
    }
    return out;
}

std::string attr_line(const std::string& key, const AttrValue& value) {
    std::string text = format_attr_value(value);
    if (text.size() > kMaxAttrChars) text = text.substr(0, kMaxAttrChars - 3) + "...";
    return key + " = " + text;
}

std::string node_label(const Node& node) {
    std::string label = "%" + node.name + "\n" + std::string(op_info(node.kind).name) + "\n";
    for (const auto& [key, value] : node.attrs) label += attr_line(key, value) + "\n";
    label += format_type(node.type) + "\n";
    return escape(label);
}

std::string graph_label(const Module& module) {
    std::string label = "module @" + module.name + "\n";
    for (const auto& [key, value] : module.attrs) label += attr_line(key, value) + "\n";
    return escape(label);
}

std::string node_statement(const Module& module, int index, const char* indent) {
    const Node& node = module.nodes[index];
    std::string style;
    if (index == module.result) style = ", color=red, penwidth=2.5, fillcolor=\"#ffe4e1\"";
    else if (node.kind == OpKind::Input) style = ", fillcolor=\"#e0f0ff\"";
    else if (module.is_constant(index)) style = ", fillcolor=lightgrey, fontsize=8, margin=\"0.05,0.02\"";
    return fmt::format("{}n{} [label=\"{}\"{}];\n", indent, index, node_label(node), style);
}

std::string weights_cluster(const Module& module) {
    std::string body;
    for (size_t i = 0; i < module.nodes.size(); ++i)
        if (module.is_constant(int(i)) && int(i) != module.result) body += node_statement(module, int(i), "    ");
    if (body.empty()) return "";
    return "  subgraph cluster_weights {\n"
           "    label=\"weights\";\n"
           "    style=\"rounded,dashed\";\n"
           "    color=grey;\n" +
           body + "  }\n";
}

std::string edges(const Module& module) {
    std::string out;
    for (size_t i = 0; i < module.nodes.size(); ++i)
        for (int op : module.nodes[i].operands) {
            bool weight_edge = module.is_constant(op);
            out += fmt::format("  n{} -> n{}{};\n", op, i, weight_edge ? " [color=grey]" : "");
        }
    if (module.result >= 0) out += fmt::format("  n{} -> result [color=red, penwidth=2.5];\n", module.result);
    return out;
}

}  // namespace

std::string print_dot(const Module& module) {
    std::string out = "digraph \"" + escape(module.name) + "\" {\n";
    out += "  rankdir=TB;\n";
    out += "  label=\"" + graph_label(module) + "\";\n";
    out += "  labelloc=t;\n";
    out += "  fontname=\"monospace\";\n";
    out += "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"monospace\", fontsize=10];\n";
    out += "  edge [arrowsize=0.6];\n";
    out += weights_cluster(module);
    for (size_t i = 0; i < module.nodes.size(); ++i)
        if (!module.is_constant(int(i)) || int(i) == module.result) out += node_statement(module, int(i), "  ");
    if (module.result >= 0) out += "  result [label=\"return\", shape=oval, color=red, fontcolor=red];\n";
    out += edges(module);
    return out + "}\n";
}

}  // namespace gpt2c::ir
