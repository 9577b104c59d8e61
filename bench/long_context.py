#!/usr/bin/python3
"""bench/long_context.py - decode and prefill at long contexts, f32 against bf16 and int8 KV caches, in one run.

usage: bench/long_context.py [--build build] [--model /tmp/gpt2-124m] [--threads 2] [--repeats 3]
                             [--dtypes f32,int8,q4] [--kv-dtypes f32,bf16,int8] [--short 128] [--long 1000]
                             [--gen 16] [--prefill-tokens 1024]

For each weight dtype and KV dtype it compiles the 124M checkpoint (bench/make_checkpoint.py makes
a random one when the directory has none), then alternates, --repeats times:
  decode after a --short-token prompt and after a --long-token prompt (`gpt2c bench`, --gen
  tokens each, their median), and a --prefill-tokens prefill with all-position logits (the
  median of 3 in one session).
It prints the decode slowdown long / short (issue #14's goal: <= 1.3 for int8 at 1,000 tokens),
the bytes a long-context decode step reads (weights plus the KV cache at that length) against
the bandwidth roofline (gpt2c_bandwidth, measured just before), and the long prefill's GFLOPS
as a fraction of the peak the library multiplies at (gpt2c_fma_peak: float32 FMAs, or the int8
dot product's for libraries that use it).
"""
import json
import os
import statistics
import subprocess

import bench_common
from run_bench import measure_bandwidth, prefill_flops_per_token, run_json


def bench(gpt2c, lib, model, args, prompt, gen, repeats=1):
    return run_json([gpt2c, "bench", "--lib", lib, "--model", model, "--threads", str(args.threads), "--repeats",
                     str(repeats), "--prompt-tokens", str(prompt), "--gen", str(gen), "--json"])


def main():
    ap = bench_common.parser(repeats=3)
    ap.add_argument("--dtypes", default="f32,int8,q4")
    ap.add_argument("--kv-dtypes", default="f32,bf16,int8")
    ap.add_argument("--short", type=int, default=128)
    ap.add_argument("--long", type=int, default=1000)
    ap.add_argument("--gen", type=int, default=16)
    ap.add_argument("--prefill-tokens", type=int, default=1024)
    args = ap.parse_args()
    gpt2c = bench_common.gpt2c_binary(args)
    bench_common.ensure_checkpoint(args.model)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    peak = run_json([os.path.join(args.build, "bin", "gpt2c_fma_peak"), str(args.threads)])
    libs, dots = [], {}
    for dtype in args.dtypes.split(","):
        for kv in args.kv_dtypes.split(","):
            lib = os.path.join(args.build, "bench", f"gpt2-124m-{dtype}-kv{kv}.so")
            os.makedirs(os.path.dirname(lib), exist_ok=True)
            ir = lib[:-3] + ".ir"
            subprocess.run([gpt2c, "compile", args.model, "-o", lib, f"--weights-dtype={dtype}", f"--kv-dtype={kv}",
                            "--pack-weights", "--emit-ir", ir], check=True, capture_output=True)
            libs.append((dtype, kv, lib))
            dots[lib] = bench_common.dot_product_kind(open(ir).read())
    runs = {lib: {"short": [], "long": [], "prefill": [], "bandwidth": []} for _, _, lib in libs}
    for _ in range(args.repeats):  # alternate, so drift hits every library alike
        for _, _, lib in libs:
            r = runs[lib]
            short = bench(gpt2c, lib, args.model, args, args.short, args.gen)
            r["short"].append(short["decode_ms_per_token"])
            r["weight_bytes"], r["kv_bytes_per_position"] = short["decode_weight_bytes"], short["kv_bytes_per_position"]
            r["bandwidth"].append(measure_bandwidth(args))
            r["long"].append(bench(gpt2c, lib, args.model, args, args.long, args.gen)["decode_ms_per_token"])
            # 3 prefills in one session (its median): the first in a fresh session also maps in its KV cache.
            r["prefill"].append(bench(gpt2c, lib, args.model, args, args.prefill_tokens, 0, 3)["prefill_tok_s"])
    flops = prefill_flops_per_token(cfg, args.prefill_tokens)
    print(f"GPT-2 124M shapes, {args.threads} threads, medians of {args.repeats} alternating runs; decode: "
          f"{args.gen} tokens after the prompt; FMA peak {peak['fp32_gflops']:.0f} GFLOPS fp32"
          + (f", int8 dot-product peak {peak['int8_gops']:.0f} GOPS." if peak.get("int8_gops") else "."))
    print(f"| weights | KV | decode ms after {args.short} | after {args.long} | ratio | bytes/step at {args.long} "
          f"| roofline ms (reached) | prefill {args.prefill_tokens} tok/s | GFLOPS (of peak) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dtype, kv, lib in libs:
        r = runs[lib]
        short, long_, rate = (statistics.median(r[k]) for k in ("short", "long", "prefill"))
        bandwidth = statistics.median(r["bandwidth"])
        kv_bytes = r["kv_bytes_per_position"] * (args.long + args.gen // 2)  # whatever the cache's dtype
        step_bytes = r["weight_bytes"] + kv_bytes
        roofline = step_bytes / bandwidth / 1e6
        gflops = rate * flops / 1e9
        used = bench_common.peak_used(peak, dots[lib], dtype)
        name = dtype + (f" ({dots[lib]} dot)" if dots[lib] else "")
        print(f"| {name} | {kv} | {short:.2f} | {long_:.2f} | {long_ / short:.2f}x | {step_bytes / 1e6:.0f} MB "
              f"| {roofline:.2f} ({100 * roofline / long_:.0f} %) | {rate:.0f} | {gflops:.0f} "
              f"({100 * gflops / used:.0f} %) |")
    for _, _, lib in libs:
        os.remove(lib[:-3] + ".weights")


if __name__ == "__main__":
    main()
