// tests/unit/passes_test.cpp - the graph passes on whole GPT-2 graphs from build_graph.
//
// After -O2 the attention chains are fused, activations and residual adds live
// in linear epilogues, and every layer norm feeding a projection became a
// normalize with folded weights. The memory plan (at -O1 and -O2) is checked
// by brute force: no two arena values that are live at the same time share a
// byte, every offset is 64-aligned, and the plan beats one region per value.
#include "frontend/config.h"
#include "frontend/graph_builder.h"
#include "ir/text.h"
#include "ir/verifier.h"
#include "passes/pass_manager.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace gpt2c;
using ir::OpKind;

namespace {

ModelConfig config(int64_t n_layer, int64_t n_head, int64_t n_embd, int64_t n_positions, int64_t vocab) {
    ModelConfig c;
    c.n_layer = n_layer;
    c.n_head = n_head;
    c.n_embd = n_embd;
    c.n_positions = n_positions;
    c.vocab_size = vocab;
    c.n_inner = 4 * n_embd;
    return c;
}

// A few shapes and the config switches that change the graph.
std::vector<std::pair<std::string, ModelConfig>> configs() {
    std::vector<std::pair<std::string, ModelConfig>> out;
    out.emplace_back("default 2 layers", config(2, 4, 64, 32, 100));
    ModelConfig untied = config(3, 2, 48, 24, 77);
    untied.tie_word_embeddings = false;
    untied.activation = Activation::Relu;
    out.emplace_back("untied relu 3 layers", untied);
    ModelConfig noscale = config(1, 1, 16, 8, 11);
    noscale.scale_attn_weights = false;  // no scale node at all
    noscale.n_inner = 40;
    out.emplace_back("1 layer 1 head no scale", noscale);
    ModelConfig invidx = config(4, 4, 32, 16, 50);
    invidx.scale_attn_by_inverse_layer_idx = true;
    invidx.activation = Activation::QuickGelu;
    out.emplace_back("4 layers inverse layer idx", invidx);
    return out;
}

ir::Module optimized(const ModelConfig& c, int level) {
    ir::Module m = build_graph(c, "test");
    passes::run_pipeline(m, passes::pipeline_for_level(level), {}, {.verify_each = true});
    return m;
}

int count(const ir::Module& m, OpKind kind) {
    return int(std::count_if(m.nodes.begin(), m.nodes.end(), [&](const ir::Node& n) { return n.kind == kind; }));
}

bool in_arena(const ir::Module& m, int i) {
    OpKind k = m.nodes[i].kind;
    return k != OpKind::Input && k != OpKind::KvAppend && !m.is_constant(i) && i != m.result;
}

int64_t value_bytes(const ir::Module& m, int i) { return m.nodes[i].type.max_elements(ir::symbol_bound(m)) * 4; }

// Brute force: every pair of arena values live at the same time is disjoint in bytes.
void check_plan(const ir::Module& m) {
    REQUIRE(m.attrs.count("arena_bytes"));
    REQUIRE(m.attrs.count("unplanned_arena_bytes"));
    const int64_t arena = m.int_attr("arena_bytes");
    const int n = int(m.nodes.size());
    std::vector<int> last(n);
    for (int i = 0; i < n; ++i) last[i] = i;
    for (int i = 0; i < n; ++i)
        for (int op : m.nodes[i].operands) last[op] = std::max(last[op], i);

    int64_t unplanned = 0;
    std::vector<int> values;
    for (int i = 0; i < n; ++i) {
        INFO("%" << m.nodes[i].name);
        if (!in_arena(m, i)) {
            CHECK_FALSE(m.nodes[i].has_attr("arena_offset"));
            continue;
        }
        REQUIRE(m.nodes[i].has_attr("arena_offset"));
        int64_t offset = m.nodes[i].int_attr("arena_offset");
        CHECK(offset >= 0);
        CHECK(offset % 64 == 0);
        CHECK(offset + value_bytes(m, i) <= arena);
        unplanned += (value_bytes(m, i) + 63) / 64 * 64;
        values.push_back(i);
    }
    CHECK(m.int_attr("unplanned_arena_bytes") == unplanned);
    CHECK(arena <= unplanned);
    int conflicts = 0;
    for (int a : values)
        for (int b : values) {
            if (a >= b) continue;
            bool live_together = a <= last[b] && b <= last[a];
            int64_t oa = m.nodes[a].int_attr("arena_offset"), ob = m.nodes[b].int_attr("arena_offset");
            bool share_bytes = oa < ob + value_bytes(m, b) && ob < oa + value_bytes(m, a);
            if (live_together && share_bytes) {
                ++conflicts;
                FAIL_CHECK("%" << m.nodes[a].name << " and %" << m.nodes[b].name << " are live together and overlap");
            }
        }
    CHECK(conflicts == 0);
}

}  // namespace

TEST_CASE("-O2 fuses attention, epilogues and layer norms on whole graphs", "[passes]") {
    for (const auto& [name, c] : configs()) {
        INFO(name);
        ir::Module m = optimized(c, 2);
        const int L = int(c.n_layer);

        for (OpKind gone : {OpKind::AttnScores, OpKind::Scale, OpKind::CausalMask, OpKind::Softmax, OpKind::AttnValues,
                            OpKind::Activation, OpKind::Add, OpKind::LayerNorm})
            CHECK(count(m, gone) == 0);
        CHECK(count(m, OpKind::Attention) == L);
        CHECK(count(m, OpKind::Normalize) == 2 * L + 1);  // ln_1, ln_2 per layer and ln_f
        CHECK(count(m, OpKind::FoldLnWeight) == 2 * L + 1);
        CHECK(count(m, OpKind::FoldLnBias) == 2 * L + 1);

        // One attention per layer, reading that layer's cache from its own qkv.
        std::set<int64_t> layers;
        for (const ir::Node& n : m.nodes) {
            if (n.kind != OpKind::Attention) continue;
            const ir::Node& keys = m.nodes[n.operands[1]];
            const ir::Node& values = m.nodes[n.operands[2]];
            CHECK(keys.int_attr("layer") == values.int_attr("layer"));
            CHECK(keys.operands[0] == n.operands[0]);
            CHECK(values.operands[0] == n.operands[0]);
            layers.insert(keys.int_attr("layer"));
            CHECK(n.int_attr("n_head") == c.n_head);
        }
        CHECK(int(layers.size()) == L);

        // Every normalize feeds exactly one linear, which reads folded weights.
        auto uses = m.use_counts();
        int residuals = 0, activations = 0;
        for (size_t i = 0; i < m.nodes.size(); ++i) {
            const ir::Node& n = m.nodes[i];
            if (n.kind == OpKind::Normalize) CHECK(uses[i] == 1);
            if (n.kind != OpKind::Linear) continue;
            ir::Epilogue e = ir::parse_epilogue(n);
            residuals += e.residual;
            activations += !e.activation.empty();
            if (m.nodes[n.operands[0]].kind == OpKind::Normalize) {
                CHECK(m.nodes[n.operands[1]].kind == OpKind::FoldLnWeight);
                CHECK(e.bias);
                CHECK(m.nodes[n.operands[2]].kind == OpKind::FoldLnBias);
            }
        }
        CHECK(residuals == 2 * L);
        CHECK(activations == L);
        CHECK(m.nodes[m.result].kind == OpKind::Linear);
        CHECK(m.nodes[m.nodes[m.result].operands[0]].kind == OpKind::Normalize);

        // Nothing is left for a second round of the fusion passes to do.
        ir::Module again = m;
        passes::run_pipeline(again, {"fold-layer-norm", "fuse-epilogue", "fuse-attention", "dce"}, {}, {});
        CHECK(ir::print_module(again) == ir::print_module(m));
    }
}

TEST_CASE("the memory plan never overlaps values that are live together", "[passes]") {
    for (int level : {1, 2}) {
        for (const auto& [name, c] : configs()) {
            INFO(name << " at -O" << level);
            ir::Module m = optimized(c, level);
            check_plan(m);
            if (c.n_layer > 1) CHECK(m.int_attr("arena_bytes") < m.int_attr("unplanned_arena_bytes"));

            // Planning again from the planned module gives the same plan.
            ir::Module again = m;
            passes::run_pipeline(again, {"plan-memory"}, {}, {});
            CHECK(ir::print_module(again) == ir::print_module(m));
        }
    }
}

TEST_CASE("the memory plan reuses the arena across layers", "[passes]") {
    // 12 layers: the unplanned arena grows with depth, the plan must not.
    ModelConfig shallow = config(2, 4, 64, 64, 100), deep = config(12, 4, 64, 64, 100);
    ir::Module a = optimized(shallow, 2), b = optimized(deep, 2);
    check_plan(b);
    CHECK(a.int_attr("arena_bytes") == b.int_attr("arena_bytes"));
    CHECK(b.int_attr("unplanned_arena_bytes") > a.int_attr("unplanned_arena_bytes"));
}

TEST_CASE("each fusion pass leaves a verifiable module on its own", "[passes]") {
    for (const auto& [name, c] : configs()) {
        for (const char* pass : {"fold-layer-norm", "fuse-epilogue", "fuse-attention", "plan-memory"}) {
            INFO(name << ": " << pass);
            ir::Module m = build_graph(c, "test");
            passes::run_pipeline(m, {pass}, {}, {.verify_each = true});
            CHECK_NOTHROW(ir::verify(m));
            // The text form round-trips through the parser (the lit tests rely on it).
            CHECK(ir::print_module(ir::parse_module(ir::print_module(m))) == ir::print_module(m));
        }
    }
}
