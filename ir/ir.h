// ir/ir.h - the gpt2c graph IR: statically shaped tensor ops in SSA form.
//
// A Module is a list of nodes in topological order, each defining one named
// value (`%h0.qkv = linear %h0.ln_1, %h0.attn.w, ... : f32[T,384]`), plus the
// model's attributes and the value it returns. Nodes refer to operands by
// index into the list; passes rebuild the list rather than patching it in
// place (see Module::compact). Text form: printer.cpp / parser.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gpt2c::ir {

enum class OpKind {
#define GPT2C_OP(Enum, name, min_operands, max_operands, doc) Enum,
#include "ir/ops.def"
};

struct OpInfo {
    OpKind kind;
    std::string_view name;
    int min_operands;
    int max_operands;
    std::string_view doc;
};
const OpInfo& op_info(OpKind kind);
std::optional<OpKind> op_kind_from_name(std::string_view name);

// A dimension: a compile-time constant or a runtime symbol.
struct Dim {
    enum class Kind { Const, T, S, L };
    Kind kind = Kind::Const;
    int64_t value = 0;  // for Const

    static Dim c(int64_t v) { return {Kind::Const, v}; }
    static Dim t() { return {Kind::T, 0}; }
    static Dim s() { return {Kind::S, 0}; }
    static Dim l() { return {Kind::L, 0}; }
    bool is_const() const { return kind == Kind::Const; }
    bool operator==(const Dim&) const = default;
};

// bf16 and i8 appear in packed weights (pack_weight with dtype = "bf16" / "int8"),
// bf16 in the input of a linear that multiplies bf16 k-pairs (to_bf16), and
// i8 in the input of one that multiplies int8 k-quads (quantize_rows: bytes
// q + 128, each row ending in its float32 scale).
// q4 is only ever a packed weight, q4[panels, K, nr]: 4-bit values in groups of
// kQ4Group rows with a bf16 scale per group and column (docs/Q4_WEIGHTS.md); it
// has no per-element size, so byte sizes go through storage_bytes.
enum class ElemType { F32, I32, BF16, I8, Q4 };
int64_t elem_size(ElemType elem);  // bytes per element; q4: not defined (storage_bytes)

constexpr int64_t kQ4Group = 32;  // rows k per q4 scale

struct TensorType {
    ElemType elem = ElemType::F32;
    std::vector<Dim> dims;

    // Element count with every runtime symbol at its bound.
    int64_t max_elements(int64_t symbol_bound) const;
    // Bytes of a value of this type with every runtime symbol at its bound.
    int64_t storage_bytes(int64_t symbol_bound) const;
    bool operator==(const TensorType&) const = default;
};

using AttrValue = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>>;
using Attrs = std::map<std::string, AttrValue>;  // ordered: prints deterministically

struct Node {
    OpKind kind;
    std::string name;  // without the '%'
    TensorType type;
    std::vector<int> operands;  // node indices, all smaller than this node's
    Attrs attrs;

    bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
    int64_t int_attr(const std::string& key) const;
    double float_attr(const std::string& key) const;  // accepts an integer too
    const std::string& str_attr(const std::string& key) const;
    bool bool_attr(const std::string& key) const;
    std::string str_attr_or(const std::string& key, const std::string& fallback) const;
};

struct Module {
    std::string name;
    Attrs attrs;  // the model config and results of passes (e.g. arena_bytes)
    std::vector<Node> nodes;
    int result = -1;  // the returned node (the logits)

    int64_t int_attr(const std::string& key) const;
    double float_attr(const std::string& key) const;
    bool bool_attr(const std::string& key) const;
    const std::string& str_attr(const std::string& key) const;

    // Appends a node and returns its index. Names must be unique; a taken
    // name gets a numeric suffix.
    int add(OpKind kind, std::string name, TensorType type, std::vector<int> operands, Attrs attrs = {});
    std::optional<int> find(std::string_view name) const;

    // Number of uses of every node (the result counts as a use).
    std::vector<int> use_counts() const;

    // Drops nodes not reachable from the result (keeping side-effecting
    // kv_append nodes reachable through their users only) and renumbers.
    // `replace[i]`, when >= 0, redirects every use of node i to that node.
    void compact(const std::vector<int>& replace = {});

    // Every weight-transform and weight node: values computed once at load.
    bool is_constant(int node) const;
};

// The n_positions bound for the runtime symbols (module attribute).
int64_t symbol_bound(const Module& module);

std::string format_type(const TensorType& type);

}  // namespace gpt2c::ir
