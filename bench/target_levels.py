#!/usr/bin/python3
"""bench/target_levels.py - what a portable library costs: the x86-64 levels against this CPU.

usage: bench/target_levels.py [--build build] [--model /tmp/gpt2-124m] [--threads 2]
                              [--rounds 3] [--dtypes f32,bf16,int8]
                              [--cpus native,x86-64-v4,x86-64-v3,x86-64-v2,x86-64]

Compiles one GPT-2 124M-shaped checkpoint (bench/make_checkpoint.py) for this CPU
(--target-cpu=native) and for each portable level, then runs `gpt2c bench --json` on every
library, the libraries taking turns for --rounds rounds so a drift of the host spreads
over all of them. Prints the median prefill tok/s and decode ms/token of each, and each
level's ratio to native. Levels this CPU cannot run are skipped (the runtime refuses them).
"""
import json
import os
import statistics
import subprocess

import bench_common


def main():
    ap = bench_common.parser(repeats=3, repeats_help="gpt2c bench --repeats per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dtypes", default="f32,bf16,int8")
    ap.add_argument("--cpus", default="native,x86-64-v4,x86-64-v3,x86-64-v2,x86-64")
    args = ap.parse_args()
    gpt2c = bench_common.gpt2c_binary(args)
    bench_common.ensure_checkpoint(args.model)
    out_dir = os.path.join(args.model, "levels")
    os.makedirs(out_dir, exist_ok=True)

    libs = {}  # (dtype, cpu) -> library path
    for dtype in args.dtypes.split(","):
        for cpu in args.cpus.split(","):
            lib = os.path.join(out_dir, "%s-%s.so" % (cpu, dtype))
            subprocess.run([gpt2c, "compile", args.model, "-o", lib, "--target-cpu=" + cpu,
                            "--weights-dtype=" + dtype], check=True, capture_output=True)
            libs[(dtype, cpu)] = lib

    results = {key: [] for key in libs}
    skipped = set()
    for _ in range(args.rounds):
        for key, lib in libs.items():
            if key in skipped:
                continue
            run = subprocess.run([gpt2c, "bench", "--lib", lib, "--model", args.model, "--threads",
                                  str(args.threads), "--repeats", str(args.repeats), "--json"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print("skipped %s %s: %s" % (key[1], key[0], run.stderr.strip().splitlines()[-1]))
                skipped.add(key)
                continue
            results[key].append(json.loads(run.stdout.strip().splitlines()[-1]))

    print("| dtype | target | prefill tok/s | decode ms/token | prefill vs native | decode vs native |")
    print("| --- | --- | --- | --- | --- | --- |")
    for dtype in args.dtypes.split(","):
        def medians(cpu):
            runs = results[(dtype, cpu)]
            return (statistics.median(r["prefill_tok_s"] for r in runs),
                    statistics.median(r["decode_ms_per_token"] for r in runs))
        native = medians("native") if results.get((dtype, "native")) else None
        for cpu in args.cpus.split(","):
            if not results[(dtype, cpu)]:
                continue
            prefill, decode = medians(cpu)
            ratio = ("%.2fx" % (prefill / native[0]), "%.2fx" % (native[1] / decode)) if native else ("-", "-")
            print("| %s | %s | %.0f | %.2f | %s | %s |" % (dtype, cpu, prefill, decode, ratio[0], ratio[1]))


if __name__ == "__main__":
    main()
