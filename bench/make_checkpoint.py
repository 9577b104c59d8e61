#!/usr/bin/python3
"""bench/make_checkpoint.py - writes a GPT-2-shaped checkpoint with random weights.

usage: make_checkpoint.py OUT_DIR [--shape 124m|medium|large|xl] [--dtype F32|F16|BF16] [--seed N]

OUT_DIR gets config.json (the shape of OpenAI's gpt2, gpt2-medium, gpt2-large or
gpt2-xl: 124M, 355M, 774M, 1.56B parameters), model.safetensors in
Hugging Face GPT2LMHeadModel layout ("transformer." names, Conv1D [in, out]
weights, tied LM head), and the GPT-2 tokenizer files copied from
examples/tiny-shakespeare. Weights are N(0, 0.02) like GPT-2's init, with
layer-norm gains near 1, so activations stay in a realistic range.
Needs only numpy.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

CONFIG = {
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
    "n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024, "n_ctx": 1024,
    "vocab_size": 50257, "n_inner": None, "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5, "scale_attn_weights": True, "tie_word_embeddings": True,
    "bos_token_id": 50256, "eos_token_id": 50256,
}


# n_layer, n_embd, n_head of OpenAI's four GPT-2 sizes.
SHAPES = {"124m": (12, 768, 12), "medium": (24, 1024, 16), "large": (36, 1280, 20), "xl": (48, 1600, 25)}


def tensors(rng, c):
    C, V, P, I = c["n_embd"], c["vocab_size"], c["n_positions"], 4 * c["n_embd"]
    normal = lambda *shape: rng.standard_normal(shape, dtype=np.float32) * 0.02
    yield "transformer.wte.weight", normal(V, C)
    yield "transformer.wpe.weight", normal(P, C) * 0.5
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        for ln in ("ln_1", "ln_2"):
            yield p + ln + ".weight", 1.0 + normal(C)
            yield p + ln + ".bias", normal(C)
        yield p + "attn.c_attn.weight", normal(C, 3 * C)
        yield p + "attn.c_attn.bias", normal(3 * C)
        yield p + "attn.c_proj.weight", normal(C, C)
        yield p + "attn.c_proj.bias", normal(C)
        yield p + "mlp.c_fc.weight", normal(C, I)
        yield p + "mlp.c_fc.bias", normal(I)
        yield p + "mlp.c_proj.weight", normal(I, C)
        yield p + "mlp.c_proj.bias", normal(C)
    yield "transformer.ln_f.weight", 1.0 + normal(C)
    yield "transformer.ln_f.bias", normal(C)


def encode(array, dtype):
    if dtype == "F32":
        return array.astype("<f4").tobytes()
    if dtype == "F16":
        return array.astype("<f2").tobytes()
    bits = array.astype("<f4").view("<u4")
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")  # round to nearest even
    return rounded.tobytes()


def write_safetensors(path, named, dtype):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, array in named:
        blob = encode(array, dtype)
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--shape", default="124m", choices=sorted(SHAPES))
    parser.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    n_layer, n_embd, n_head = SHAPES[args.shape]
    config = dict(CONFIG, n_layer=n_layer, n_embd=n_embd, n_head=n_head)
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors(rng, config), args.dtype)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    here = os.path.dirname(os.path.abspath(__file__))
    example = os.path.join(here, "..", "examples", "tiny-shakespeare")
    for name in ("vocab.json", "merges.txt", "generation_config.json"):
        shutil.copy(os.path.join(example, name), os.path.join(args.out, name))
    print(args.out)


if __name__ == "__main__":
    main()
