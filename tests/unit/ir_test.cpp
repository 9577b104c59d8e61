// tests/unit/ir_test.cpp - unit tests for the graph IR: text round trip, parser errors, verifier, compact, dot.
#include "frontend/config.h"
#include "frontend/graph_builder.h"
#include "ir/dot.h"
#include "ir/ir.h"
#include "ir/text.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"
#include "support/error.h"
#include "tests/test_strings.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <regex>
#include <string>
#include <vector>

using Catch::Contains;
using gpt2c::Activation;
using gpt2c::ModelConfig;
using gpt2c::ir::AttrValue;
using gpt2c::ir::Dim;
using gpt2c::ir::ElemType;
using gpt2c::ir::Module;
using gpt2c::ir::Node;
using gpt2c::ir::OpKind;
using gpt2c::ir::TensorType;
using gpt2c::testing::count_occurrences;

namespace {

// ---------------------------------------------------------------- helpers

// A small valid config: 2 layers, 2 heads of width 4, vocab 11.
ModelConfig small_config() {
    ModelConfig c;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 8;
    c.n_positions = 16;
    c.vocab_size = 11;
    c.n_inner = 32;
    return c;
}

// Configs that between them change every field of ModelConfig.
std::vector<ModelConfig> varied_configs() {
    std::vector<ModelConfig> out;
    const Activation acts[] = {Activation::GeluNew, Activation::GeluPytorchTanh, Activation::GeluFast,
                               Activation::Gelu,    Activation::Relu,            Activation::QuickGelu,
                               Activation::Silu};
    const double eps[] = {1e-5, 1e-6, 0.1, 1.0 / 3.0};
    int i = 0;
    for (Activation a : acts) {
        ModelConfig c = small_config();
        c.activation = a;
        c.layer_norm_epsilon = eps[i % 4];
        c.n_layer = 1 + i % 3;
        c.n_head = (i % 2) ? 1 : 2;
        c.n_embd = 8 + 4 * (i % 2);
        c.n_inner = (i % 3 == 0) ? 4 * c.n_embd : 20 + i;
        c.n_positions = 16 + i;
        c.vocab_size = 11 + 2 * i;
        c.scale_attn_weights = i % 2 == 0;
        c.scale_attn_by_inverse_layer_idx = i % 3 == 1;
        c.reorder_and_upcast_attn = i % 4 == 2;
        c.tie_word_embeddings = i % 2 == 1;
        if (i % 2 == 0) c.bos_token_id = 10 + i;
        if (i % 3 != 2) c.eos_token_id = i == 0 ? 0 : 9 + i;
        out.push_back(c);
        ++i;
    }
    return out;
}

Module small_graph() { return gpt2c::build_graph(small_config(), "small"); }

int index_of(const Module& m, const std::string& name) {
    auto i = m.find(name);
    INFO("node %" << name);
    REQUIRE(i.has_value());
    return *i;
}

Node& node(Module& m, const std::string& name) { return m.nodes[size_t(index_of(m, name))]; }

TensorType f32(std::vector<Dim> dims) { return TensorType{ElemType::F32, std::move(dims)}; }

// Equal, with NaN equal to NaN and -0.0 different from 0.0 (the text must keep both).
bool same_attr(const AttrValue& a, const AttrValue& b) {
    if (a.index() != b.index()) return false;
    if (const double* x = std::get_if<double>(&a)) {
        double y = std::get<double>(b);
        if (std::isnan(*x) || std::isnan(y)) return std::isnan(*x) && std::isnan(y);
        return *x == y && std::signbit(*x) == std::signbit(y);
    }
    return a == b;
}

void require_same_attrs(const gpt2c::ir::Attrs& a, const gpt2c::ir::Attrs& b) {
    REQUIRE(a.size() == b.size());
    for (const auto& [key, value] : a) {
        INFO("attribute " << key << " = " << gpt2c::ir::format_attr_value(value));
        auto it = b.find(key);
        REQUIRE(it != b.end());
        CHECK(same_attr(value, it->second));
    }
}

void require_same_module(const Module& a, const Module& b) {
    REQUIRE(a.name == b.name);
    require_same_attrs(a.attrs, b.attrs);
    REQUIRE(a.nodes.size() == b.nodes.size());
    for (size_t i = 0; i < a.nodes.size(); ++i) {
        const Node& x = a.nodes[i];
        const Node& y = b.nodes[i];
        INFO("node " << i << " %" << x.name);
        CHECK(x.kind == y.kind);
        CHECK(x.name == y.name);
        CHECK(gpt2c::ir::format_type(x.type) == gpt2c::ir::format_type(y.type));
        CHECK(x.type == y.type);
        CHECK(x.operands == y.operands);
        require_same_attrs(x.attrs, y.attrs);
    }
    REQUIRE(a.result == b.result);
}

// print -> parse gives the same module, and printing that gives the same text.
void require_round_trip(const Module& m) {
    std::string text = gpt2c::ir::print_module(m);
    INFO(text);
    Module parsed = gpt2c::ir::parse_module(text, "roundtrip.ir");
    require_same_module(m, parsed);
    REQUIRE(gpt2c::ir::print_module(parsed) == text);
}

// The message of the gpt2c::Error `f` throws; fails the test when it throws nothing.
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const gpt2c::Error& e) {
        return e.what();
    }
    FAIL("expected a gpt2c::Error");
    return "";
}

std::string parse_error(const std::string& text) {
    return error_of([&] { gpt2c::ir::parse_module(text, "bad.ir"); });
}

std::string verify_error(const Module& m) {
    return error_of([&] { gpt2c::ir::verify(m); });
}

// "bad.ir:LINE:COL" of the first occurrence of `marker` in `text`.
std::string location_of(const std::string& text, const std::string& marker) {
    size_t at = text.find(marker);
    REQUIRE(at != std::string::npos);
    int line = 1, col = 1;
    for (size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "bad.ir:" + std::to_string(line) + ":" + std::to_string(col);
}

// "bad.ir:LINE:COL: " somewhere in the message.
bool has_location(const std::string& message) {
    return std::regex_search(message, std::regex("bad\\.ir:[0-9]+:[0-9]+: "));
}

// The error must name the node as %name and its op in parentheses.
void require_names_node(const std::string& message, const std::string& name, const std::string& op) {
    INFO(message);
    CHECK_THAT(message, Contains("%" + name) && Contains("(" + op + ")"));
}

// A small hand-written module (module attrs, all leaf kinds) that parses and verifies.
const std::string kSmallText = R"(module @tiny {n_embd = 8, n_head = 2, n_layer = 1, n_positions = 16, vocab_size = 11} {
  %tokens = input : i32[T]
  %positions = input : i32[T]
  %logit_rows = input : i32[L]
  %wte = weight {tensor = "wte.weight"} : f32[11,8]
  %wpe = weight {tensor = "wpe.weight"} : f32[16,8]
  %x = embed %tokens, %positions, %wte, %wpe : f32[T,8]
  %last = gather_rows %x, %logit_rows : f32[L,8]
  %g = weight {tensor = "ln_f.weight"} : f32[8]
  %b = weight {tensor = "ln_f.bias"} : f32[8]
  %ln = layer_norm %last, %g, %b {eps = 1e-05} : f32[L,8]
  %logits = linear %ln, %wte {w_layout = "nk"} : f32[L,11]
  return %logits
}
)";

// kSmallText with `from` replaced by `to` (once).
std::string small_with(const std::string& from, const std::string& to) {
    std::string text = kSmallText;
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

}  // namespace

// ---------------------------------------------------------------- round trip

TEST_CASE("ir: the hand-written module parses, verifies and prints back verbatim", "[ir][text]") {
    Module m = gpt2c::ir::parse_module(kSmallText, "tiny.ir");
    REQUIRE_NOTHROW(gpt2c::ir::verify(m));
    REQUIRE(m.name == "tiny");
    REQUIRE(m.nodes.size() == 11);
    REQUIRE(m.nodes[size_t(m.result)].name == "logits");
    REQUIRE(gpt2c::ir::print_module(m) == kSmallText);
}

TEST_CASE("ir: built graphs round-trip through the text form", "[ir][text]") {
    for (const ModelConfig& c : varied_configs()) {
        Module m = gpt2c::build_graph(c, "model_" + std::string(gpt2c::activation_name(c.activation)));
        INFO("activation " << gpt2c::activation_name(c.activation));
        REQUIRE_NOTHROW(gpt2c::ir::verify(m));
        require_round_trip(m);
        Module parsed = gpt2c::ir::parse_module(gpt2c::ir::print_module(m));
        REQUIRE_NOTHROW(gpt2c::ir::verify(parsed));
        REQUIRE(gpt2c::config_from_module(parsed) == c);
    }
}

TEST_CASE("ir: built graphs round-trip after the -O3 pipeline", "[ir][text][passes]") {
    for (const ModelConfig& c : varied_configs()) {
        Module m = gpt2c::build_graph(c, "opt-" + std::string(gpt2c::activation_name(c.activation)) + ".v2");
        INFO("activation " << gpt2c::activation_name(c.activation));
        gpt2c::passes::run_pipeline(m, gpt2c::passes::pipeline_for_level(3), {}, {});
        REQUIRE_NOTHROW(gpt2c::ir::verify(m));
        require_round_trip(m);
        REQUIRE(gpt2c::config_from_module(m) == c);
    }
}

TEST_CASE("ir: attribute values of every kind round-trip", "[ir][text]") {
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<std::pair<std::string, AttrValue>> values = {
        {"b_true", true},
        {"b_false", false},
        {"i_zero", int64_t(0)},
        {"i_pos", int64_t(42)},
        {"i_neg", int64_t(-7)},
        {"i_max", std::numeric_limits<int64_t>::max()},
        {"i_min", std::numeric_limits<int64_t>::min()},
        {"d_1e-05", 1e-5},
        {"d_1e-06", 1e-6},
        {"d_tenth", 0.1},
        {"d_third", 1.0 / 3.0},
        {"d_big", 1e300},
        {"d_tiny", 1e-300},
        {"d_dbl_min", std::numeric_limits<double>::min()},
        {"d_dbl_max", std::numeric_limits<double>::max()},
        {"d_whole", 2.0},
        {"d_1e20", 1e20},
        {"d_neg", -0.5},
        {"d_zero", 0.0},
        {"d_neg_zero", -0.0},
        {"d_inf", inf},
        {"d_neg_inf", -inf},
        {"d_nan", std::nan("")},
        {"s_empty", std::string()},
        {"s_plain", std::string("wte.weight")},
        {"s_quotes", std::string("say \"hi\"")},
        {"s_backslash", std::string("C:\\path\\")},
        {"s_newline", std::string("line 1\nline 2\n")},
        {"s_tab", std::string("a\tb")},
        {"s_tricky", std::string("} return %x // not a comment, {")},
        {"s_utf8", std::string("caf\xc3\xa9 \xe2\x86\x92")},
        {"l_empty", std::vector<int64_t>{}},
        {"l_one", std::vector<int64_t>{3}},
        {"l_many", std::vector<int64_t>{1, -2, 30, 0, std::numeric_limits<int64_t>::min()}},
    };
    Module m = small_graph();
    Node& n = node(m, "h0.act");
    for (const auto& [key, value] : values) {
        m.attrs["x_" + key] = value;
        n.attrs["x_" + key] = value;
    }
    require_round_trip(m);
    // Each value also round-trips alone through format_attr_value's text.
    for (const auto& [key, value] : values) {
        Module one;
        one.name = "one";
        one.attrs[key] = value;
        one.result = one.add(OpKind::Input, "tokens", TensorType{ElemType::I32, {Dim::t()}}, {}, {{key, value}});
        INFO(key);
        require_round_trip(one);
    }
}

TEST_CASE("ir: doubles print as the shortest text that reads back exactly", "[ir][text]") {
    using gpt2c::ir::format_attr_value;
    REQUIRE(format_attr_value(1e-5) == "1e-05");
    REQUIRE(format_attr_value(0.1) == "0.1");
    REQUIRE(format_attr_value(2.0) == "2.0");
    REQUIRE(format_attr_value(int64_t(2)) == "2");
    REQUIRE(format_attr_value(std::numeric_limits<double>::infinity()) == "inf");
    REQUIRE(format_attr_value(-std::numeric_limits<double>::infinity()) == "-inf");
    REQUIRE(format_attr_value(std::nan("")) == "nan");
    REQUIRE(format_attr_value(std::string("a\"b\\c\nd")) == "\"a\\\"b\\\\c\\nd\"");
    REQUIRE(format_attr_value(std::vector<int64_t>{}) == "[]");
    REQUIRE(format_attr_value(std::vector<int64_t>{1, -2}) == "[1, -2]");
}

// After 'module @name', a '{' whose first key starts with "return" is still the attributes.
TEST_CASE("ir: a module attribute named like a keyword round-trips", "[ir][text]") {
    Module m = small_graph();
    m.attrs["return_dict"] = true;
    require_round_trip(m);
    Module first;
    first.name = "first";
    first.attrs["returned"] = int64_t(1);
    first.result = first.add(OpKind::Input, "tokens", TensorType{ElemType::I32, {Dim::t()}}, {});
    require_round_trip(first);
}

TEST_CASE("ir: subnormal doubles round-trip", "[ir][text]") {
    for (double v : {std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min() / 4}) {
        Module m = small_graph();
        m.attrs["tiny"] = v;
        INFO(gpt2c::ir::format_attr_value(v));
        require_round_trip(m);
    }
}

TEST_CASE("ir: modules without attributes, and names with dots and dashes, round-trip", "[ir][text]") {
    Module m;
    m.name = "a.b-c_1";
    int t = m.add(OpKind::Input, "tok.en-s", TensorType{ElemType::I32, {Dim::t()}}, {});
    m.result = t;
    require_round_trip(m);
    REQUIRE(gpt2c::ir::print_module(m) == "module @a.b-c_1 {\n  %tok.en-s = input : i32[T]\n  return %tok.en-s\n}\n");
}

TEST_CASE("ir: the parser skips comments and free whitespace", "[ir][text]") {
    std::string text = "// leading comment\n\n  module   @tiny{n_embd=8,n_head=2,n_layer=1,n_positions=16,vocab_size=11}{\n"
                       "%tokens=input:i32[ T ] // trailing comment\n"
                       "%positions = input : i32[T]\n%logit_rows = input : i32[L]\n"
                       "%wte = weight {tensor = \"wte.weight\"} : f32[ 11 , 8 ]\n"
                       "%wpe = weight {tensor = \"wpe.weight\"} : f32[16,8]\n"
                       "%x = embed %tokens, %positions, %wte,   %wpe : f32[T,8]\n"
                       "%last = gather_rows %x, %logit_rows : f32[L,8]\n"
                       "%g = weight {tensor = \"ln_f.weight\"} : f32[8]\n"
                       "%b = weight {tensor = \"ln_f.bias\"} : f32[8]\n"
                       "%ln = layer_norm %last, %g, %b {eps = 1e-05} : f32[L,8]\n"
                       "%logits = linear %ln, %wte {w_layout = \"nk\"} : f32[L,11]\n"
                       "return %logits }  // done\n";
    Module m = gpt2c::ir::parse_module(text);
    REQUIRE(gpt2c::ir::print_module(m) == kSmallText);
}

// ---------------------------------------------------------------- parser errors

TEST_CASE("ir parser: every error names line:col and what is wrong", "[ir][parser]") {
    SECTION("use of an undefined value") {
        std::string text = small_with("%x = embed %tokens, %positions, %wte", "%x = embed %tokens, %positions, %nope");
        std::string e = parse_error(text);
        CHECK_THAT(e, Contains(location_of(text, "nope")) && Contains("undefined value %nope"));
    }
    SECTION("a use before the definition is an undefined value") {
        std::string text = small_with("%last = gather_rows %x, %logit_rows", "%last = gather_rows %ln, %logit_rows");
        CHECK_THAT(parse_error(text), Contains(location_of(text, "ln, %logit_rows")) && Contains("undefined value %ln"));
    }
    SECTION("duplicate definition") {
        std::string text = small_with("%b = weight", "%g = weight");
        CHECK_THAT(parse_error(text), Contains(location_of(text, "g = weight {tensor = \"ln_f.bias")) &&
                                          Contains("%g is defined twice"));
    }
    SECTION("unknown op") {
        std::string text = small_with("gather_rows", "gather_cols");
        CHECK_THAT(parse_error(text), Contains(location_of(text, "gather_cols")) && Contains("unknown op 'gather_cols'"));
    }
    SECTION("unknown element type") {
        std::string text = small_with("f32[16,8]", "f16[16,8]");
        CHECK_THAT(parse_error(text), Contains("bad.ir:6:") && Contains("unknown element type 'f16'"));
    }
    SECTION("bad dimension symbol") {
        std::string text = small_with("f32[L,8]", "f32[Q,8]");
        CHECK_THAT(parse_error(text), Contains("bad.ir:8:") && Contains("unknown dimension 'Q'"));
    }
    SECTION("negative dimension") {
        std::string text = small_with("f32[16,8]", "f32[16,-8]");
        CHECK_THAT(parse_error(text), Contains("bad.ir:6:") && Contains("dimension"));
    }
    SECTION("empty dimension") {
        std::string text = small_with("f32[16,8]", "f32[16,]");
        CHECK_THAT(parse_error(text), Contains(location_of(text, "]\n  %x")) && Contains("expected a dimension"));
    }
    SECTION("missing return") {
        std::string text = small_with("  return %logits\n", "");
        CHECK(has_location(parse_error(text)));
        CHECK_THAT(parse_error(text), Contains("no 'return'"));
    }
    SECTION("return of an undefined value") {
        std::string text = small_with("return %logits", "return %logit");
        CHECK_THAT(parse_error(text), Contains(location_of(text, "logit\n")) && Contains("undefined value %logit"));
    }
    SECTION("two returns") {
        std::string text = small_with("  return %logits\n", "  return %logits\n  return %ln\n");
        CHECK_THAT(parse_error(text), Contains("bad.ir:14:") && Contains("returns only once"));
    }
    SECTION("a node after return") {
        std::string text = small_with("  return %logits\n", "  return %logits\n  %y = gather_rows %x, %logit_rows : f32[L,8]\n");
        CHECK_THAT(parse_error(text), Contains("bad.ir:14:3") && Contains("follow 'return'"));
    }
    SECTION("unterminated string") {
        std::string text = small_with("\"ln_f.bias\"", "\"ln_f.bias");
        CHECK_THAT(parse_error(text), Contains("bad.ir:10:") && Contains("unterminated string"));
    }
    SECTION("unterminated string at the end of the input") {
        CHECK_THAT(parse_error("module @m {k = \"abc"), Contains("bad.ir:1:") && Contains("unterminated string"));
    }
    SECTION("unknown escape in a string") {
        std::string text = small_with("\"ln_f.bias\"", "\"ln_f\\q\"");
        CHECK_THAT(parse_error(text), Contains("bad.ir:10:") && Contains("unknown escape"));
    }
    SECTION("text after the module") {
        std::string text = kSmallText + "module @again {\n}\n";
        CHECK_THAT(parse_error(text), Contains("bad.ir:15:1") && Contains("text after the module"));
    }
    SECTION("duplicate attribute") {
        std::string text = small_with("{eps = 1e-05}", "{eps = 1e-05, eps = 0.1}");
        CHECK_THAT(parse_error(text), Contains("bad.ir:11:") && Contains("'eps' is given twice"));
    }
    SECTION("duplicate module attribute") {
        std::string text = small_with("n_head = 2,", "n_head = 2, n_head = 3,");
        CHECK_THAT(parse_error(text), Contains("bad.ir:1:") && Contains("'n_head' is given twice"));
    }
    SECTION("missing type") {
        std::string text = small_with("%last = gather_rows %x, %logit_rows : f32[L,8]", "%last = gather_rows %x, %logit_rows");
        CHECK_THAT(parse_error(text), Contains("bad.ir:9:3") && Contains("expected ':'"));
    }
    SECTION("missing closing brace") {
        std::string text = kSmallText.substr(0, kSmallText.size() - 2);
        CHECK_THAT(parse_error(text), Contains("bad.ir:14:1") && Contains("expected '}'"));
    }
    SECTION("malformed numbers") {
        CHECK_THAT(parse_error(small_with("1e-05", "1e-0x5")), Contains("bad.ir:11:") && Contains("malformed number"));
        CHECK_THAT(parse_error(small_with("1e-05", "1e999")), Contains("bad.ir:11:") && Contains("malformed number"));
        CHECK_THAT(parse_error(small_with("n_layer = 1", "n_layer = 99999999999999999999")),
                   Contains("bad.ir:1:") && Contains("malformed attribute value"));
    }
    SECTION("missing attribute value") {
        CHECK_THAT(parse_error(small_with("{eps = 1e-05}", "{eps = }")),
                   Contains("bad.ir:11:") && Contains("expected an attribute value"));
    }
    SECTION("bad integer list") {
        CHECK_THAT(parse_error(small_with("{eps = 1e-05}", "{eps = [1, x]}")),
                   Contains("bad.ir:11:") && Contains("expected an integer"));
    }
    SECTION("empty input and a missing 'module'") {
        CHECK_THAT(parse_error(""), Contains("bad.ir:1:1") && Contains("expected 'module'"));
        CHECK_THAT(parse_error("modul @x {\n}\n"), Contains("bad.ir:1:1") && Contains("expected 'module'"));
        CHECK_THAT(parse_error("module x {\n}\n"), Contains("bad.ir:1:") && Contains("expected '@'"));
    }
}

// Like the other errors, a duplicate key's location is the key itself, not the space before it.
TEST_CASE("ir parser: a duplicate attribute error points at the key", "[ir][parser]") {
    std::string text = small_with("{eps = 1e-05}", "{eps = 1e-05, eps = 0.1}");
    CHECK_THAT(parse_error(text), Contains(location_of(text, "eps = 0.1") + ": attribute 'eps' is given twice"));
    text = small_with("n_head = 2,", "n_head = 2, n_head = 3,");
    CHECK_THAT(parse_error(text), Contains(location_of(text, "n_head = 3") + ": attribute 'n_head' is given twice"));
}

TEST_CASE("ir parser: the source name defaults to <ir>", "[ir][parser]") {
    CHECK_THAT(error_of([] { gpt2c::ir::parse_module("module @m {\n  %x = nonsense : f32[1]\n  return %x\n}\n"); }),
               Contains("<ir>:2:8: unknown op 'nonsense'"));
}

// ---------------------------------------------------------------- verifier

TEST_CASE("ir verifier: built graphs verify", "[ir][verifier]") {
    for (const ModelConfig& c : varied_configs()) REQUIRE_NOTHROW(gpt2c::ir::verify(gpt2c::build_graph(c, "m")));
}

TEST_CASE("ir verifier: every broken module names the node and its op", "[ir][verifier]") {
    Module m = small_graph();
    REQUIRE_NOTHROW(gpt2c::ir::verify(m));
    SECTION("wrong operand count") {
        node(m, "h0.ln_1").operands.pop_back();
        std::string e = verify_error(m);
        require_names_node(e, "h0.ln_1", "layer_norm");
        CHECK_THAT(e, Contains("found 2"));
    }
    SECTION("too many operands") {
        Node& sm = node(m, "h1.probs");
        sm.operands.push_back(sm.operands[0]);
        require_names_node(verify_error(m), "h1.probs", "softmax");
    }
    SECTION("operand defined after its use") {
        node(m, "h0.ln_1").operands[0] = index_of(m, "h0.out");
        std::string e = verify_error(m);
        require_names_node(e, "h0.ln_1", "layer_norm");
        CHECK_THAT(e, Contains("after its use"));
    }
    SECTION("layer_norm gamma of the wrong width") {
        node(m, "h.0.ln_1.weight").type = f32({Dim::c(7)});
        std::string e = verify_error(m);
        require_names_node(e, "h0.ln_1", "layer_norm");
        CHECK_THAT(e, Contains("%h.0.ln_1.weight"));
    }
    SECTION("layer_norm gamma of the wrong rank") {
        node(m, "ln_f.bias").type = f32({Dim::c(8), Dim::c(1)});
        require_names_node(verify_error(m), "ln_f", "layer_norm");
    }
    SECTION("linear K mismatch") {
        node(m, "h.0.attn.c_attn.weight").type = f32({Dim::c(7), Dim::c(24)});
        require_names_node(verify_error(m), "h0.qkv", "linear");
    }
    SECTION("linear bias of the wrong width") {
        node(m, "h.1.mlp.c_fc.bias").type = f32({Dim::c(31)});
        require_names_node(verify_error(m), "h1.fc", "linear");
    }
    SECTION("linear weight layout unknown") {
        node(m, "h0.fc").attrs["w_layout"] = std::string("kk");
        std::string e = verify_error(m);
        require_names_node(e, "h0.fc", "linear");
        CHECK_THAT(e, Contains("kk"));
    }
    SECTION("bad epilogue item") {
        node(m, "h0.qkv").attrs["epilogue"] = std::string("bias,tanh");
        std::string e = verify_error(m);
        require_names_node(e, "h0.qkv", "linear");
        CHECK_THAT(e, Contains("bias,tanh"));
    }
    SECTION("epilogue out of order") {
        Node& fc = node(m, "h0.fc");
        fc.attrs["epilogue"] = std::string("gelu_new,bias");
        require_names_node(verify_error(m), "h0.fc", "linear");
    }
    SECTION("epilogue listed twice") {
        node(m, "h0.fc").attrs["epilogue"] = std::string("bias,bias");
        require_names_node(verify_error(m), "h0.fc", "linear");
    }
    SECTION("epilogue that needs more operands than given") {
        node(m, "h0.fc").attrs["epilogue"] = std::string("bias,residual");
        std::string e = verify_error(m);
        require_names_node(e, "h0.fc", "linear");
        CHECK_THAT(e, Contains("needs 4 operands"));
    }
    SECTION("residual of the wrong type") {
        Node& proj = node(m, "h0.attn_proj");
        proj.attrs["epilogue"] = std::string("bias,residual");
        proj.operands.push_back(index_of(m, "h0.qkv"));
        std::string e = verify_error(m);
        require_names_node(e, "h0.attn_proj", "linear");
        CHECK_THAT(e, Contains("residual %h0.qkv"));
    }
    SECTION("missing eps") {
        node(m, "h1.ln_2").attrs.erase("eps");
        std::string e = verify_error(m);
        require_names_node(e, "h1.ln_2", "layer_norm");
        CHECK_THAT(e, Contains("eps"));
    }
    SECTION("eps not positive") {
        node(m, "ln_f").attrs["eps"] = 0.0;
        require_names_node(verify_error(m), "ln_f", "layer_norm");
        node(m, "ln_f").attrs["eps"] = std::nan("");
        require_names_node(verify_error(m), "ln_f", "layer_norm");
    }
    SECTION("missing n_head") {
        node(m, "h0.scores").attrs.erase("n_head");
        std::string e = verify_error(m);
        require_names_node(e, "h0.scores", "attn_scores");
        CHECK_THAT(e, Contains("n_head"));
    }
    SECTION("n_head that does not divide the width") {
        node(m, "h0.scores").attrs["n_head"] = int64_t(3);
        require_names_node(verify_error(m), "h0.scores", "attn_scores");
    }
    SECTION("attn_values head count differs from its scores") {
        node(m, "h1.attn").attrs["n_head"] = int64_t(4);
        require_names_node(verify_error(m), "h1.attn", "attn_values");
    }
    SECTION("missing factor") {
        node(m, "h0.scaled").attrs.erase("factor");
        std::string e = verify_error(m);
        require_names_node(e, "h0.scaled", "scale");
        CHECK_THAT(e, Contains("factor"));
    }
    SECTION("missing scale on a fused attention") {
        int qkv = index_of(m, "h0.qkv"), keys = index_of(m, "h0.keys"), values = index_of(m, "h0.values");
        int fused = m.add(OpKind::Attention, "fused", f32({Dim::t(), Dim::c(8)}),
                          {qkv, keys, values, index_of(m, "positions"), index_of(m, "slots")},
                          {{"n_head", int64_t(2)}, {"scale", 0.5}});
        REQUIRE_NOTHROW(gpt2c::ir::verify(m));
        m.nodes[size_t(fused)].attrs.erase("scale");
        std::string e = verify_error(m);
        require_names_node(e, "fused", "attention");
        CHECK_THAT(e, Contains("scale"));
    }
    SECTION("attention with keys of the wrong width") {
        int qkv = index_of(m, "h0.qkv"), x = index_of(m, "embed");
        m.add(OpKind::Attention, "fused", f32({Dim::t(), Dim::c(8)}), {qkv, x, x},
              {{"n_head", int64_t(2)}, {"scale", 0.5}});
        require_names_node(verify_error(m), "fused", "attention");
    }
    SECTION("activation with an unknown fn") {
        node(m, "h1.act").attrs["fn"] = std::string("tanh");
        require_names_node(verify_error(m), "h1.act", "activation");
    }
    SECTION("kv_append layer out of range") {
        node(m, "h1.keys").attrs["layer"] = int64_t(2);
        std::string e = verify_error(m);
        require_names_node(e, "h1.keys", "kv_append");
        CHECK_THAT(e, Contains("layer 2 out of range"));
    }
    SECTION("kv_append negative layer") {
        node(m, "h0.values").attrs["layer"] = int64_t(-1);
        require_names_node(verify_error(m), "h0.values", "kv_append");
    }
    SECTION("kv_append part other than k or v") {
        node(m, "h0.values").attrs["part"] = std::string("q");
        require_names_node(verify_error(m), "h0.values", "kv_append");
    }
    SECTION("kv_append of a non-qkv operand") {
        node(m, "h0.keys").operands[0] = index_of(m, "h0.ln_1");
        require_names_node(verify_error(m), "h0.keys", "kv_append");
    }
    SECTION("declared type differs from the inferred one") {
        node(m, "h0.res_1").type = f32({Dim::t(), Dim::c(9)});
        std::string e = verify_error(m);
        require_names_node(e, "h0.res_1", "add");
        CHECK_THAT(e, Contains("f32[T,9]") && Contains("f32[T,8]"));
    }
    SECTION("declared symbol differs from the inferred one") {
        node(m, "last").type = f32({Dim::t(), Dim::c(8)});
        require_names_node(verify_error(m), "last", "gather_rows");
    }
    SECTION("input declared with another type") {
        node(m, "tokens").type = TensorType{ElemType::I32, {Dim::s()}};
        require_names_node(verify_error(m), "tokens", "input");
    }
    SECTION("add of differently typed operands") {
        node(m, "h0.res_1").operands[1] = index_of(m, "h0.qkv");
        require_names_node(verify_error(m), "h0.res_1", "add");
    }
    SECTION("non-weight operand where a weight is required") {
        node(m, "h0.fc").operands[1] = index_of(m, "h0.attn");
        std::string e = verify_error(m);
        require_names_node(e, "h0.fc", "linear");
        CHECK_THAT(e, Contains("weight"));
    }
    SECTION("non-weight gamma") {
        Module mm = gpt2c::ir::parse_module(kSmallText);
        int ln = index_of(mm, "ln");
        int rows = mm.add(OpKind::Weight, "row", f32({Dim::c(8)}), {}, {{"tensor", std::string("row")}});
        int act = mm.add(OpKind::Activation, "row_act", f32({Dim::c(8)}), {rows}, {{"fn", std::string("relu")}});
        mm.add(OpKind::LayerNorm, "ln2", f32({Dim::l(), Dim::c(8)}), {mm.nodes[size_t(ln)].operands[0], act, rows},
               {{"eps", 1e-5}});
        std::string e = verify_error(mm);
        require_names_node(e, "ln2", "layer_norm");
        CHECK_THAT(e, Contains("%row_act"));
    }
    SECTION("embed of something other than the token input") {
        node(m, "embed").operands[0] = index_of(m, "wpe.weight");
        require_names_node(verify_error(m), "embed", "embed");
    }
    SECTION("weight without a tensor, with symbolic dims, or i32") {
        Node& w = node(m, "wpe.weight");
        SECTION("no tensor") {
            w.attrs.erase("tensor");
            require_names_node(verify_error(m), "wpe.weight", "weight");
        }
        SECTION("symbolic dim") {
            w.type = f32({Dim::t(), Dim::c(8)});
            require_names_node(verify_error(m), "wpe.weight", "weight");
        }
        SECTION("zero dim") {
            w.type = f32({Dim::c(0), Dim::c(8)});
            require_names_node(verify_error(m), "wpe.weight", "weight");
        }
        SECTION("i32") {
            w.type = TensorType{ElemType::I32, {Dim::c(16), Dim::c(8)}};
            require_names_node(verify_error(m), "wpe.weight", "weight");
        }
    }
    SECTION("fold ops with a wrong layout") {
        int w = index_of(m, "h.0.mlp.c_fc.weight"), g = index_of(m, "h.0.ln_2.weight"),
            b = index_of(m, "h.0.ln_2.bias"), bias = index_of(m, "h.0.mlp.c_fc.bias");
        int fw = m.add(OpKind::FoldLnWeight, "fw", f32({Dim::c(8), Dim::c(32)}), {w, g}, {{"w_layout", std::string("kn")}});
        int fb = m.add(OpKind::FoldLnBias, "fb", f32({Dim::c(32)}), {w, b, bias}, {{"w_layout", std::string("kn")}});
        int pw = m.add(OpKind::PackWeight, "pw", f32({Dim::c(2), Dim::c(8), Dim::c(16)}), {fw},
                       {{"w_layout", std::string("kn")}, {"nr", int64_t(16)}});
        REQUIRE_NOTHROW(gpt2c::ir::verify(m));
        SECTION("fold_ln_weight with layout panels") {
            m.nodes[size_t(fw)].attrs["w_layout"] = std::string("panels");
            require_names_node(verify_error(m), "fw", "fold_ln_weight");
        }
        SECTION("fold_ln_weight without a layout") {
            m.nodes[size_t(fw)].attrs.erase("w_layout");
            require_names_node(verify_error(m), "fw", "fold_ln_weight");
        }
        SECTION("fold_ln_weight whose gamma matches N instead of K") {
            m.nodes[size_t(fw)].attrs["w_layout"] = std::string("nk");
            require_names_node(verify_error(m), "fw", "fold_ln_weight");
        }
        SECTION("fold_ln_bias with layout nk") {
            m.nodes[size_t(fb)].attrs["w_layout"] = std::string("nk");
            require_names_node(verify_error(m), "fb", "fold_ln_bias");
        }
        SECTION("fold_ln_bias of an activation") {
            m.nodes[size_t(fb)].operands[1] = index_of(m, "h0.ln_2");
            require_names_node(verify_error(m), "fb", "fold_ln_bias");
        }
        SECTION("pack_weight with a bad layout") {
            m.nodes[size_t(pw)].attrs["w_layout"] = std::string("xk");
            require_names_node(verify_error(m), "pw", "pack_weight");
        }
        SECTION("pack_weight without nr") {
            m.nodes[size_t(pw)].attrs.erase("nr");
            require_names_node(verify_error(m), "pw", "pack_weight");
        }
        SECTION("pack_weight declared with the wrong panel count") {
            m.nodes[size_t(pw)].type = f32({Dim::c(3), Dim::c(8), Dim::c(16)});
            require_names_node(verify_error(m), "pw", "pack_weight");
        }
        SECTION("linear reading panels with a wrong n") {
            int x = index_of(m, "h0.ln_2");
            int lin = m.add(OpKind::Linear, "packed_fc", f32({Dim::t(), Dim::c(32)}), {x, pw},
                            {{"w_layout", std::string("panels")}, {"n", int64_t(32)}});
            REQUIRE_NOTHROW(gpt2c::ir::verify(m));
            m.nodes[size_t(lin)].attrs["n"] = int64_t(40);
            require_names_node(verify_error(m), "packed_fc", "linear");
        }
    }
    SECTION("returned value of the wrong type") {
        m.result = index_of(m, "ln_f");
        std::string e = verify_error(m);
        require_names_node(e, "ln_f", "layer_norm");
        CHECK_THAT(e, Contains("f32[L,11]"));
    }
    SECTION("no returned value") {
        m.result = -1;
        CHECK_THAT(verify_error(m), Contains("returns no value"));
    }
    SECTION("module attribute missing") {
        for (const char* key : {"n_layer", "n_head", "n_embd", "n_positions", "vocab_size"}) {
            Module broken = m;
            broken.attrs.erase(key);
            CHECK_THAT(verify_error(broken), Contains(std::string("module attribute '") + key + "'"));
        }
    }
    SECTION("module attribute of the wrong kind or not positive") {
        Module broken = m;
        broken.attrs["n_layer"] = 2.0;
        CHECK_THAT(verify_error(broken), Contains("'n_layer'"));
        broken.attrs["n_layer"] = int64_t(0);
        CHECK_THAT(verify_error(broken), Contains("'n_layer'"));
    }
}

// Attributes that are present but of the wrong kind, or absent where the
// verifier reads them with int_attr/str_attr, must be reported like every
// other violation: naming the node and its op (ir/verifier.h's contract).
TEST_CASE("ir verifier: missing or mistyped attributes still name the op", "[ir][verifier]") {
    Module m = small_graph();
    SECTION("kv_append without layer") {
        node(m, "h0.keys").attrs.erase("layer");
        require_names_node(verify_error(m), "h0.keys", "kv_append");
    }
    SECTION("kv_append without part") {
        node(m, "h0.keys").attrs.erase("part");
        require_names_node(verify_error(m), "h0.keys", "kv_append");
    }
    SECTION("eps given as a string") {
        node(m, "ln_f").attrs["eps"] = std::string("1e-5");
        require_names_node(verify_error(m), "ln_f", "layer_norm");
    }
    SECTION("n_head given as a double") {
        node(m, "h0.scores").attrs["n_head"] = 2.0;
        require_names_node(verify_error(m), "h0.scores", "attn_scores");
    }
}

// Elementwise ops on the i32 token ids make no sense; the verifier should say so.
TEST_CASE("ir verifier: scale and add reject i32 operands", "[ir][verifier]") {
    Module m = small_graph();
    int tokens = index_of(m, "tokens");
    TensorType ids{ElemType::I32, {Dim::t()}};
    SECTION("scale") {
        m.add(OpKind::Scale, "scaled_ids", ids, {tokens}, {{"factor", 2.0}});
        require_names_node(verify_error(m), "scaled_ids", "scale");
    }
    SECTION("add") {
        m.add(OpKind::Add, "summed_ids", ids, {tokens, tokens});
        require_names_node(verify_error(m), "summed_ids", "add");
    }
}

TEST_CASE("ir verifier: infer_type gives each node's declared type", "[ir][verifier]") {
    Module m = small_graph();
    for (size_t i = 0; i < m.nodes.size(); ++i) {
        INFO("%" << m.nodes[i].name);
        CHECK(gpt2c::ir::infer_type(m, int(i)) == m.nodes[i].type);
    }
}

TEST_CASE("ir verifier: epilogue parse and format", "[ir][verifier]") {
    Node n{OpKind::Linear, "lin", {}, {}, {}};
    auto parse = [&](const std::string& spec) {
        n.attrs["epilogue"] = spec;
        return gpt2c::ir::parse_epilogue(n);
    };
    for (const std::string spec : {"", "bias", "relu", "residual", "bias,gelu_new", "bias,residual", "silu,residual",
                                   "bias,quick_gelu,residual"})
        CHECK(gpt2c::ir::format_epilogue(parse(spec)) == spec);
    n.attrs.erase("epilogue");
    CHECK(gpt2c::ir::format_epilogue(gpt2c::ir::parse_epilogue(n)).empty());
    for (const std::string bad : {"residual,bias", "relu,relu", "bias,,relu", "bias,bias", "gelu_new,bias", "tanh"}) {
        INFO(bad);
        CHECK_THAT(error_of([&] { parse(bad); }), Contains("%lin (linear)") && Contains(bad));
    }
}

// ---------------------------------------------------------------- Module helpers

TEST_CASE("ir: use_counts counts every operand use and the result", "[ir][module]") {
    Module m = small_graph();
    std::vector<int> uses = m.use_counts();
    REQUIRE(uses.size() == m.nodes.size());
    CHECK(uses[size_t(index_of(m, "tokens"))] == 1);
    CHECK(uses[size_t(index_of(m, "wte.weight"))] == 2);  // embed and the tied LM head
    CHECK(uses[size_t(index_of(m, "h0.qkv"))] == 3);      // keys, values and scores
    CHECK(uses[size_t(index_of(m, "h0.res_1"))] == 2);    // ln_2 and the residual add
    CHECK(uses[size_t(index_of(m, "logits"))] == 1);      // the result
    Module repeated = m;
    node(repeated, "h0.res_1").operands = {index_of(repeated, "embed"), index_of(repeated, "embed")};
    CHECK(repeated.use_counts()[size_t(index_of(repeated, "embed"))] == 3);  // twice here, once by h0.ln_1
    m.result = -1;
    CHECK(m.use_counts()[size_t(index_of(m, "logits"))] == 0);
}

TEST_CASE("ir: Module::add makes taken names unique", "[ir][module]") {
    Module m;
    TensorType t{ElemType::I32, {Dim::t()}};
    CHECK(m.nodes[size_t(m.add(OpKind::Input, "x", t, {}))].name == "x");
    CHECK(m.nodes[size_t(m.add(OpKind::Input, "x", t, {}))].name == "x.1");
    CHECK(m.nodes[size_t(m.add(OpKind::Input, "x", t, {}))].name == "x.2");
    CHECK(m.nodes[size_t(m.add(OpKind::Input, "x.1", t, {}))].name == "x.1.1");
    CHECK(m.find("x.2") == 2);
    CHECK_FALSE(m.find("y").has_value());
}

TEST_CASE("ir: compact drops dead nodes and renumbers", "[ir][module]") {
    std::string text = small_with("  %wte = ", "  %dead = weight {tensor = \"dead\"} : f32[8]\n  %wte = ");
    text.replace(text.find("  %last = "), 0, "  %dead_act = activation %x {fn = \"relu\"} : f32[T,8]\n");
    text.replace(text.find("  return"), 0, "  %dead_sum = add %dead_act, %x : f32[T,8]\n");
    Module m = gpt2c::ir::parse_module(text);
    REQUIRE_NOTHROW(gpt2c::ir::verify(m));
    REQUIRE(m.nodes.size() == 14);
    REQUIRE(m.result == 12);
    std::vector<int> uses = m.use_counts();
    CHECK(uses[size_t(index_of(m, "dead"))] == 0);
    CHECK(uses[size_t(index_of(m, "dead_act"))] == 1);
    CHECK(uses[size_t(index_of(m, "dead_sum"))] == 0);

    m.compact();
    REQUIRE_NOTHROW(gpt2c::ir::verify(m));
    CHECK(m.nodes.size() == 11);
    CHECK(m.result == 10);
    CHECK_FALSE(m.find("dead").has_value());
    CHECK_FALSE(m.find("dead_act").has_value());
    CHECK_FALSE(m.find("dead_sum").has_value());
    CHECK(gpt2c::ir::print_module(m) == kSmallText);
    m.compact();  // idempotent
    CHECK(gpt2c::ir::print_module(m) == kSmallText);
}

TEST_CASE("ir: compact follows replacement chains, including for the result", "[ir][module]") {
    Module m = gpt2c::ir::parse_module(kSmallText);
    int ln = index_of(m, "ln");
    int g = index_of(m, "g");
    int last = index_of(m, "last");
    // Two copies of ln: ln_b -> ln_c -> ln, and the result through ln_c.
    int ln_b = m.add(OpKind::LayerNorm, "ln_b", f32({Dim::l(), Dim::c(8)}), {last, g, index_of(m, "b")},
                     {{"eps", 1e-5}});
    int ln_c = m.add(OpKind::LayerNorm, "ln_c", f32({Dim::l(), Dim::c(8)}), {last, g, index_of(m, "b")},
                     {{"eps", 1e-5}});
    int wte = index_of(m, "wte");
    int logits2 = m.add(OpKind::Linear, "logits2", f32({Dim::l(), Dim::c(11)}), {ln_b, wte},
                        {{"w_layout", std::string("nk")}});
    m.result = logits2;
    std::vector<int> replace(m.nodes.size(), -1);
    replace[size_t(ln_b)] = ln_c;
    replace[size_t(ln_c)] = ln;
    replace[size_t(index_of(m, "logits"))] = logits2;
    m.compact(replace);
    REQUIRE_NOTHROW(gpt2c::ir::verify(m));
    CHECK_FALSE(m.find("ln_b").has_value());
    CHECK_FALSE(m.find("ln_c").has_value());
    CHECK_FALSE(m.find("logits").has_value());
    REQUIRE(m.nodes[size_t(m.result)].name == "logits2");
    CHECK(m.nodes[size_t(m.nodes[size_t(m.result)].operands[0])].name == "ln");
    CHECK(m.nodes.size() == 11);

    // A replacement vector shorter than the node list leaves the rest alone.
    Module n = gpt2c::ir::parse_module(kSmallText);
    n.compact({-1});
    CHECK(gpt2c::ir::print_module(n) == kSmallText);
}

TEST_CASE("ir: compact keeps kv_append only when something reads it", "[ir][module]") {
    Module m = small_graph();
    int qkv = index_of(m, "h1.qkv");
    m.add(OpKind::KvAppend, "h1.keys_unused", f32({Dim::s(), Dim::c(8)}),
          {qkv, index_of(m, "positions"), index_of(m, "slots")},
          {{"layer", int64_t(1)}, {"part", std::string("k")}});
    REQUIRE_NOTHROW(gpt2c::ir::verify(m));
    m.compact();
    CHECK_FALSE(m.find("h1.keys_unused").has_value());
    CHECK(m.find("h1.keys").has_value());
    CHECK(m.find("h1.values").has_value());
    std::vector<int> uses = m.use_counts();
    for (size_t i = 0; i < m.nodes.size(); ++i) {
        INFO("%" << m.nodes[i].name);
        CHECK(uses[i] > 0);
    }
}

TEST_CASE("ir: compact without a result empties the module", "[ir][module]") {
    Module m = small_graph();
    m.result = -1;
    m.compact();
    CHECK(m.nodes.empty());
    CHECK(m.result == -1);
}

TEST_CASE("ir: is_constant is true for weights and weight transforms only", "[ir][module]") {
    Module m = small_graph();
    for (size_t i = 0; i < m.nodes.size(); ++i) {
        INFO("%" << m.nodes[i].name);
        CHECK(m.is_constant(int(i)) == (m.nodes[i].kind == OpKind::Weight));
    }
    int w = index_of(m, "h.0.mlp.c_fc.weight");
    int pw = m.add(OpKind::PackWeight, "pw", f32({Dim::c(2), Dim::c(8), Dim::c(16)}), {w},
                   {{"w_layout", std::string("kn")}, {"nr", int64_t(16)}});
    CHECK(m.is_constant(pw));
}

// ---------------------------------------------------------------- dot

namespace {

// Braces balance outside quoted strings, and every quoted string is closed.
void require_well_formed_dot(const std::string& dot) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < dot.size(); ++i) {
        char c = dot[i];
        if (in_string) {
            REQUIRE(c != '\n');  // labels use \l escapes, never raw newlines
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        if (c == '{') ++depth;
        if (c == '}') {
            --depth;
            REQUIRE(depth >= 0);
        }
    }
    REQUIRE_FALSE(in_string);
    REQUIRE(depth == 0);
    REQUIRE(dot.rfind("digraph ", 0) == 0);
    REQUIRE(dot.back() == '\n');
    REQUIRE(dot[dot.size() - 2] == '}');
}

}  // namespace

TEST_CASE("ir dot: well formed, every node, every edge", "[ir][dot]") {
    for (const ModelConfig& c : varied_configs()) {
        Module m = gpt2c::build_graph(c, "dot-test");
        for (int optimized = 0; optimized < 2; ++optimized) {
            if (optimized) gpt2c::passes::run_pipeline(m, gpt2c::passes::pipeline_for_level(3), {}, {});
            std::string dot = gpt2c::ir::print_dot(m);
            INFO(dot);
            require_well_formed_dot(dot);
            size_t n_edges = 0;
            for (size_t i = 0; i < m.nodes.size(); ++i) {
                const Node& n = m.nodes[i];
                CHECK_THAT(dot, Contains("%" + n.name + "\\l"));
                CHECK_THAT(dot, Contains("  n" + std::to_string(i) + " [label="));
                for (int op : n.operands) {
                    CHECK_THAT(dot, Contains("n" + std::to_string(op) + " -> n" + std::to_string(i)));
                    ++n_edges;
                }
            }
            CHECK(count_occurrences(dot, " -> ") == n_edges + 1);  // plus the result marker
            CHECK_THAT(dot, Contains("n" + std::to_string(m.result) + " -> result"));
            CHECK_THAT(dot, Contains("subgraph cluster_weights"));
        }
    }
}

TEST_CASE("ir dot: labels show op, attributes and type; the result is highlighted", "[ir][dot]") {
    Module m = gpt2c::ir::parse_module(kSmallText);
    std::string dot = gpt2c::ir::print_dot(m);
    require_well_formed_dot(dot);
    CHECK_THAT(dot, Contains("digraph \"tiny\""));
    CHECK_THAT(dot, Contains("%ln\\llayer_norm\\leps = 1e-05\\lf32[L,8]\\l"));
    CHECK_THAT(dot, Contains("w_layout = \\\"nk\\\""));
    int result = m.result;
    std::string result_line = "n" + std::to_string(result) + " [label=";
    size_t at = dot.find(result_line);
    REQUIRE(at != std::string::npos);
    std::string line = dot.substr(at, dot.find('\n', at) - at);
    CHECK_THAT(line, Contains("color=red"));
    // Weights sit inside the cluster.
    size_t cluster = dot.find("subgraph cluster_weights");
    size_t cluster_end = dot.find("\n  }\n", cluster);
    std::string weights = dot.substr(cluster, cluster_end - cluster);
    for (const char* w : {"%wte\\l", "%wpe\\l", "%g\\l", "%b\\l"}) CHECK_THAT(weights, Contains(w));
    CHECK_THAT(weights, !Contains("%ln\\l"));
}

TEST_CASE("ir dot: awkward strings stay inside their quotes", "[ir][dot]") {
    Module m = gpt2c::ir::parse_module(kSmallText);
    m.name = "we\"ird";
    m.attrs["note"] = std::string("a \"quoted\" {brace} \\ and\nnewline");
    m.nodes[1].attrs["note"] = std::string("}}}\"\\");
    std::string dot = gpt2c::ir::print_dot(m);
    INFO(dot);
    require_well_formed_dot(dot);
    for (const Node& n : m.nodes) CHECK_THAT(dot, Contains("%" + n.name));
}

TEST_CASE("ir dot: a module without weights or result", "[ir][dot]") {
    Module m;
    m.name = "bare";
    m.add(OpKind::Input, "tokens", TensorType{ElemType::I32, {Dim::t()}}, {});
    std::string dot = gpt2c::ir::print_dot(m);
    require_well_formed_dot(dot);
    CHECK_THAT(dot, Contains("%tokens"));
    CHECK_THAT(dot, !Contains("cluster_weights"));
    CHECK_THAT(dot, !Contains("->"));
}
