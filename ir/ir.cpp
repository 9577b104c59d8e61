// ir/ir.cpp - op table lookups, attribute access and graph surgery helpers.
#include "ir/ir.h"

#include "support/error.h"

#include <array>

namespace gpt2c::ir {

namespace {

constexpr OpInfo kOps[] = {
#define GPT2C_OP(Enum, name, min_operands, max_operands, doc) {OpKind::Enum, name, min_operands, max_operands, doc},
#include "ir/ops.def"
};

template <typename T>
const T& get_attr(const Attrs& attrs, const std::string& key, const char* what, const std::string& owner) {
    auto it = attrs.find(key);
    if (it == attrs.end()) fail("IR: {} has no attribute '{}'", owner, key);
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    fail("IR: attribute '{}' of {} must be {}", key, owner, what);
}

double get_float(const Attrs& attrs, const std::string& key, const std::string& owner) {
    auto it = attrs.find(key);
    if (it != attrs.end()) {
        if (const int64_t* i = std::get_if<int64_t>(&it->second)) return double(*i);
    }
    return get_attr<double>(attrs, key, "a number", owner);
}

}  // namespace

const OpInfo& op_info(OpKind kind) { return kOps[static_cast<int>(kind)]; }

std::optional<OpKind> op_kind_from_name(std::string_view name) {
    for (const OpInfo& info : kOps)
        if (info.name == name) return info.kind;
    return std::nullopt;
}

int64_t TensorType::max_elements(int64_t symbol_bound) const {
    int64_t n = 1;
    for (const Dim& d : dims) n *= d.is_const() ? d.value : symbol_bound;
    return n;
}

int64_t TensorType::storage_bytes(int64_t symbol_bound) const {
    if (elem != ElemType::Q4) return max_elements(symbol_bound) * elem_size(elem);
    // q4[panels, K, nr]: per group of kQ4Group rows, nr bf16 scales then kQ4Group/2 rows of nr bytes.
    const int64_t panels = dims.at(0).value, k = dims.at(1).value, nr = dims.at(2).value;
    return panels * ((k + kQ4Group - 1) / kQ4Group) * (2 + kQ4Group / 2) * nr;
}

namespace {
std::string describe(const Node& node) { return "%" + node.name + " (" + std::string(op_info(node.kind).name) + ")"; }
}  // namespace

int64_t Node::int_attr(const std::string& key) const {
    return get_attr<int64_t>(attrs, key, "an integer", describe(*this));
}
double Node::float_attr(const std::string& key) const { return get_float(attrs, key, describe(*this)); }
const std::string& Node::str_attr(const std::string& key) const {
    return get_attr<std::string>(attrs, key, "a string", describe(*this));
}
bool Node::bool_attr(const std::string& key) const { return get_attr<bool>(attrs, key, "a boolean", describe(*this)); }
std::string Node::str_attr_or(const std::string& key, const std::string& fallback) const {
    return has_attr(key) ? str_attr(key) : fallback;
}

int64_t Module::int_attr(const std::string& key) const { return get_attr<int64_t>(attrs, key, "an integer", "module"); }
double Module::float_attr(const std::string& key) const { return get_float(attrs, key, "module"); }
bool Module::bool_attr(const std::string& key) const { return get_attr<bool>(attrs, key, "a boolean", "module"); }
const std::string& Module::str_attr(const std::string& key) const {
    return get_attr<std::string>(attrs, key, "a string", "module");
}

int Module::add(OpKind kind, std::string name, TensorType type, std::vector<int> operands, Attrs node_attrs) {
    if (find(name)) {
        int suffix = 1;
        while (find(name + "." + std::to_string(suffix))) ++suffix;
        name += "." + std::to_string(suffix);
    }
    nodes.push_back(Node{kind, std::move(name), std::move(type), std::move(operands), std::move(node_attrs)});
    return int(nodes.size()) - 1;
}

std::optional<int> Module::find(std::string_view node_name) const {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].name == node_name) return int(i);
    return std::nullopt;
}

std::vector<int> Module::use_counts() const {
    std::vector<int> uses(nodes.size(), 0);
    for (const Node& n : nodes)
        for (int op : n.operands) ++uses[op];
    if (result >= 0) ++uses[result];
    return uses;
}

void Module::compact(const std::vector<int>& replace) {
    auto resolve = [&](int i) {
        while (i < int(replace.size()) && replace[i] >= 0) i = replace[i];
        return i;
    };
    for (Node& n : nodes)
        for (int& op : n.operands) op = resolve(op);
    if (result >= 0) result = resolve(result);

    std::vector<bool> live(nodes.size(), false);
    if (result >= 0) live[result] = true;
    for (int i = int(nodes.size()) - 1; i >= 0; --i) {
        if (!live[i]) continue;
        for (int op : nodes[i].operands) live[op] = true;
    }
    std::vector<int> new_index(nodes.size(), -1);
    std::vector<Node> kept;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (!live[i]) continue;
        new_index[i] = int(kept.size());
        kept.push_back(std::move(nodes[i]));
    }
    for (Node& n : kept)
        for (int& op : n.operands) op = new_index[op];
    if (result >= 0) result = new_index[result];
    nodes = std::move(kept);
}

bool Module::is_constant(int node) const {
    switch (nodes[node].kind) {
    case OpKind::Weight:
    case OpKind::FoldLnWeight:
    case OpKind::FoldLnBias:
    case OpKind::PackWeight: return true;
    default: return false;
    }
}

int64_t symbol_bound(const Module& module) { return module.int_attr("n_positions"); }

int64_t elem_size(ElemType elem) {
    switch (elem) {
    case ElemType::F32:
    case ElemType::I32: return 4;
    case ElemType::BF16: return 2;
    case ElemType::I8: return 1;
    case ElemType::Q4: return 1;  // not per element: see TensorType::storage_bytes
    }
    return 4;
}

std::string format_type(const TensorType& type) {
    static const char* names[] = {"f32[", "i32[", "bf16[", "i8[", "q4["};
    std::string s = names[static_cast<int>(type.elem)];
    for (size_t i = 0; i < type.dims.size(); ++i) {
        if (i) s += ",";
        const Dim& d = type.dims[i];
        switch (d.kind) {
        case Dim::Kind::Const: s += std::to_string(d.value); break;
        case Dim::Kind::T: s += "T"; break;
        case Dim::Kind::S: s += "S"; break;
        case Dim::Kind::L: s += "L"; break;
        }
    }
    return s + "]";
}

}  // namespace gpt2c::ir
