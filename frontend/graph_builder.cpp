// frontend/graph_builder.cpp - the GPT-2 forward pass as an unfused op graph.
#include "frontend/graph_builder.h"

#include "support/error.h"

#include <cmath>

namespace gpt2c {

using ir::Dim;
using ir::OpKind;
using ir::TensorType;

namespace {

TensorType f32(std::vector<Dim> dims) { return TensorType{ir::ElemType::F32, std::move(dims)}; }

class Builder {
public:
    Builder(const ModelConfig& config, ir::Module& module) : c_(config), m_(module) {}

    void build() {
        const int64_t C = c_.n_embd;
        // Row i of a call: token tokens[i] at position positions[i] of the sequence in slot slots[i].
        int tokens = m_.add(OpKind::Input, "tokens", TensorType{ir::ElemType::I32, {Dim::t()}}, {});
        positions_ = m_.add(OpKind::Input, "positions", TensorType{ir::ElemType::I32, {Dim::t()}}, {});
        slots_ = m_.add(OpKind::Input, "slots", TensorType{ir::ElemType::I32, {Dim::t()}}, {});
        int logit_rows = m_.add(OpKind::Input, "logit_rows", TensorType{ir::ElemType::I32, {Dim::l()}}, {});
        int wte = weight("wte.weight", {c_.vocab_size, C});
        int wpe = weight("wpe.weight", {c_.n_positions, C});
        int x = m_.add(OpKind::Embed, "embed", f32({Dim::t(), Dim::c(C)}), {tokens, positions_, wte, wpe});
        for (int64_t layer = 0; layer < c_.n_layer; ++layer) x = block(layer, x);
        int last = m_.add(OpKind::GatherRows, "last", f32({Dim::l(), Dim::c(C)}), {x, logit_rows});
        int ln_f = layer_norm("ln_f", "ln_f", last);
        int lm_head = c_.tie_word_embeddings ? wte : weight("lm_head.weight", {c_.vocab_size, C});
        m_.result = m_.add(OpKind::Linear, "logits", f32({Dim::l(), Dim::c(c_.vocab_size)}), {ln_f, lm_head},
                           {{"w_layout", std::string("nk")}});
    }

private:
    const ModelConfig& c_;
    ir::Module& m_;
    int positions_ = -1, slots_ = -1;  // the inputs every attention op reads

    int weight(const std::string& tensor, std::vector<int64_t> shape) {
        std::vector<Dim> dims;
        for (int64_t d : shape) dims.push_back(Dim::c(d));
        return m_.add(OpKind::Weight, tensor, f32(dims), {}, {{"tensor", tensor}});
    }

    int layer_norm(const std::string& name, const std::string& prefix, int x) {
        int g = weight(prefix + ".weight", {c_.n_embd});
        int b = weight(prefix + ".bias", {c_.n_embd});
        return m_.add(OpKind::LayerNorm, name, m_.nodes[x].type, {x, g, b}, {{"eps", c_.layer_norm_epsilon}});
    }

    // Conv1D projection: weight stored [in, out], then bias.
    int projection(const std::string& name, const std::string& prefix, int x, int64_t in, int64_t out) {
        int w = weight(prefix + ".weight", {in, out});
        int b = weight(prefix + ".bias", {out});
        Dim rows = m_.nodes[x].type.dims[0];
        return m_.add(OpKind::Linear, name, f32({rows, Dim::c(out)}), {x, w, b},
                      {{"w_layout", std::string("kn")}, {"epilogue", std::string("bias")}});
    }

    double attention_scale(int64_t layer) const {
        double scale = 1.0;
        if (c_.scale_attn_weights) scale /= std::sqrt(double(c_.head_dim()));
        if (c_.scale_attn_by_inverse_layer_idx) scale /= double(layer + 1);
        return scale;
    }

    int block(int64_t layer, int x) {
        const int64_t C = c_.n_embd;
        const std::string h = "h" + std::to_string(layer) + ".";
        const std::string w = "h." + std::to_string(layer) + ".";
        const TensorType rows_c = f32({Dim::t(), Dim::c(C)});
        const TensorType scores_type = f32({Dim::c(c_.n_head), Dim::t(), Dim::s()});

        int ln_1 = layer_norm(h + "ln_1", w + "ln_1", x);
        int qkv = projection(h + "qkv", w + "attn.c_attn", ln_1, C, 3 * C);
        int keys = m_.add(OpKind::KvAppend, h + "keys", f32({Dim::s(), Dim::c(C)}), {qkv, positions_, slots_},
                          {{"layer", layer}, {"part", std::string("k")}});
        int values = m_.add(OpKind::KvAppend, h + "values", f32({Dim::s(), Dim::c(C)}), {qkv, positions_, slots_},
                            {{"layer", layer}, {"part", std::string("v")}});
        int scores = m_.add(OpKind::AttnScores, h + "scores", scores_type, {qkv, keys, positions_, slots_},
                            {{"n_head", c_.n_head}});
        double scale = attention_scale(layer);
        if (scale != 1.0)
            scores = m_.add(OpKind::Scale, h + "scaled", scores_type, {scores}, {{"factor", scale}});
        int masked = m_.add(OpKind::CausalMask, h + "masked", scores_type, {scores, positions_});
        int probs = m_.add(OpKind::Softmax, h + "probs", scores_type, {masked});
        int attn = m_.add(OpKind::AttnValues, h + "attn", rows_c, {probs, values, positions_, slots_},
                          {{"n_head", c_.n_head}});
        int attn_out = projection(h + "attn_proj", w + "attn.c_proj", attn, C, C);
        int res_1 = m_.add(OpKind::Add, h + "res_1", rows_c, {x, attn_out});

        int ln_2 = layer_norm(h + "ln_2", w + "ln_2", res_1);
        int fc = projection(h + "fc", w + "mlp.c_fc", ln_2, C, c_.n_inner);
        int act = m_.add(OpKind::Activation, h + "act", m_.nodes[fc].type, {fc},
                         {{"fn", std::string(activation_name(c_.activation))}});
        int mlp_out = projection(h + "mlp_proj", w + "mlp.c_proj", act, c_.n_inner, C);
        return m_.add(OpKind::Add, h + "out", rows_c, {res_1, mlp_out});
    }
};

}  // namespace

ir::Module build_graph(const ModelConfig& config, const std::string& module_name) {
    ir::Module m;
    m.name = module_name;
    m.attrs = {
        {"n_layer", config.n_layer},
        {"n_head", config.n_head},
        {"n_embd", config.n_embd},
        {"n_inner", config.n_inner},
        {"n_positions", config.n_positions},
        {"vocab_size", config.vocab_size},
        {"activation_function", std::string(activation_name(config.activation))},
        {"layer_norm_epsilon", config.layer_norm_epsilon},
        {"scale_attn_weights", config.scale_attn_weights},
        {"scale_attn_by_inverse_layer_idx", config.scale_attn_by_inverse_layer_idx},
        {"reorder_and_upcast_attn", config.reorder_and_upcast_attn},
        {"tie_word_embeddings", config.tie_word_embeddings},
    };
    if (config.bos_token_id) m.attrs["bos_token_id"] = *config.bos_token_id;
    if (config.eos_token_id) m.attrs["eos_token_id"] = *config.eos_token_id;
    Builder(config, m).build();
    return m;
}

ModelConfig config_from_module(const ir::Module& m) {
    ModelConfig c;
    c.n_layer = m.int_attr("n_layer");
    c.n_head = m.int_attr("n_head");
    c.n_embd = m.int_attr("n_embd");
    c.n_inner = m.int_attr("n_inner");
    c.n_positions = m.int_attr("n_positions");
    c.vocab_size = m.int_attr("vocab_size");
    auto act = parse_activation(m.str_attr("activation_function"));
    if (!act) fail("IR: module attribute activation_function \"{}\" is not an activation", m.str_attr("activation_function"));
    c.activation = *act;
    c.layer_norm_epsilon = m.float_attr("layer_norm_epsilon");
    c.scale_attn_weights = m.bool_attr("scale_attn_weights");
    c.scale_attn_by_inverse_layer_idx = m.bool_attr("scale_attn_by_inverse_layer_idx");
    c.reorder_and_upcast_attn = m.bool_attr("reorder_and_upcast_attn");
    c.tie_word_embeddings = m.bool_attr("tie_word_embeddings");
    if (m.attrs.count("bos_token_id")) c.bos_token_id = m.int_attr("bos_token_id");
    if (m.attrs.count("eos_token_id")) c.eos_token_id = m.int_attr("eos_token_id");
    return c;
}

}  // namespace gpt2c
