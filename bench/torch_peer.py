#!/usr/bin/python3
"""bench/torch_peer.py - PyTorch eager GPT-2 (with a KV cache) on a model directory: the benchmark peer.

usage: torch_peer.py MODEL_DIR [--prompt-tokens 128] [--gen 128] [--threads 2] [--repeats 5] [--dtype fp32|bf16]
                     [--logits-out F.npy --tokens 1,2,3]   (float32 logits of every position, for checking)

Prints one JSON object: prefill_tok_s (median), decode_ms_per_token (median), spreads.
--dtype bf16 runs the whole model in bfloat16 (weights, activations and KV cache), which
PyTorch hands to oneDNN: AMX or AVX-512 BF16 dot products where the CPU has them.
Reads model.safetensors itself (F32/F16/BF16), so it needs torch and numpy only.
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[b:e]
        if info["dtype"] == "F32":
            arr = np.frombuffer(raw, "<f4")
        elif info["dtype"] == "F16":
            arr = np.frombuffer(raw, "<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        key = name[len("transformer."):] if name.startswith("transformer.") else name
        out[key] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


class GPT2:
    def __init__(self, cfg, w):
        self.c, self.w = cfg, w
        self.H = cfg["n_head"]
        self.C = cfg["n_embd"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.lm_head = w.get("lm_head.weight", w["wte.weight"])

    def forward(self, ids, cache):
        w, C, H = self.w, self.C, self.H
        D = C // H
        past = cache[0][0].shape[1] if cache[0] is not None else 0
        T = ids.shape[0]
        x = w["wte.weight"][ids] + w["wpe.weight"][past:past + T]
        ln = lambda t, p: torch.nn.functional.layer_norm(t, (C,), w[p + ".weight"], w[p + ".bias"], self.eps)
        for i in range(self.c["n_layer"]):
            p = f"h.{i}."
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], ln(x, p + "ln_1"), w[p + "attn.c_attn.weight"])
            q, k, v = qkv.split(C, dim=1)
            q, k, v = (t.view(T, H, D).transpose(0, 1) for t in (q, k, v))
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], dim=1)
                v = torch.cat([cache[i][1], v], dim=1)
            cache[i] = (k, v)
            s = q @ k.transpose(1, 2) / math.sqrt(D)
            if T > 1:
                mask = torch.ones(T, past + T, dtype=torch.bool).tril(past)
                s = s.masked_fill(~mask, float("-inf"))
            a = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(T, C)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], a, w[p + "attn.c_proj.weight"])
            h = torch.addmm(w[p + "mlp.c_fc.bias"], ln(x, p + "ln_2"), w[p + "mlp.c_fc.weight"])
            h = torch.nn.functional.gelu(h, approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"])
        return ln(x, "ln_f") @ self.lm_head.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--logits-out")
    ap.add_argument("--tokens")
    ap.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    weights = load_safetensors(os.path.join(args.model, "model.safetensors"))
    if args.dtype == "bf16":
        weights = {k: v.to(torch.bfloat16) for k, v in weights.items()}
    model = GPT2(cfg, weights)
    V = cfg["vocab_size"]
    with torch.inference_mode():
        if args.logits_out:
            ids = torch.tensor([int(t) for t in args.tokens.split(",")])
            logits = model.forward(ids, [None] * cfg["n_layer"])
            np.save(args.logits_out, logits.numpy().astype(np.float32))
            return
        rng = np.random.default_rng(1)
        prompt = torch.from_numpy(rng.integers(0, V, args.prompt_tokens))
        prefill, decode = [], []
        for _ in range(args.repeats):
            cache = [None] * cfg["n_layer"]
            t0 = time.perf_counter()
            logits = model.forward(prompt, cache)
            prefill.append(args.prompt_tokens / (time.perf_counter() - t0))
            nxt = int(logits[-1].argmax())
            steps = []
            for _ in range(args.gen):
                t0 = time.perf_counter()
                logits = model.forward(torch.tensor([nxt]), cache)
                nxt = int(logits[-1].argmax())
                steps.append((time.perf_counter() - t0) * 1e3)
            decode.append(float(np.median(steps)))
    print(json.dumps({
        "engine": f"pytorch {torch.__version__} eager {args.dtype}",
        "prefill_tok_s": float(np.median(prefill)),
        "prefill_tok_s_spread": [float(min(prefill)), float(max(prefill))],
        "decode_ms_per_token": float(np.median(decode)),
        "decode_ms_spread": [float(min(decode)), float(max(decode))],
    }))


if __name__ == "__main__":
    main()
