#!/usr/bin/python3
"""bench/run_bench.py - gpt2c against PyTorch eager on GPT-2 shapes, in one run.

usage: bench/run_bench.py [--build build] [--model /tmp/gpt2-124m] [--threads 2] [--repeats 5]
                          [--prompt-tokens 128] [--gen 128] [--dtypes f32,bf16,int8,q4]
                          [--shapes 124m,medium,large,xl]
                          [--skip-torch] [--skip-contention] [--json-out FILE]

Builds a random GPT-2-shaped checkpoint (bench/make_checkpoint.py) for each shape whose
model directory has none (124m: --model; the others beside it: /tmp/gpt2-medium, ...),
measures the machine (read bandwidth: gpt2c_bandwidth; float32 FMA, bf16 and int8 dot-product
peaks: gpt2c_fma_peak), compiles each checkpoint with gpt2c for each weight dtype, loads
it once from the checkpoint, packs its weights (gpt2c pack-weights), runs
`gpt2c bench --json` for each (loading the packed weights) and, for 124m,
bench/torch_peer.py (fp32, and bf16, which PyTorch hands to oneDNN) on the same weights,
then prints medians, ratios to PyTorch, prefill GFLOPS as a fraction of the compute peak
and decode time as a fraction of the bandwidth roofline (bytes of weights streamed per
token / the bandwidth measured just before that decode run). Last it reruns the first 124m dtype next to a busy process,
to show how gpt2c's thread pool shares the machine.
Everything is measured in this one run: the host drifts by +-20 % from one minute to the
next, so only ratios within a run mean much.

Needs numpy and torch for the peer, with OpenBLAS behind torch (Debian: apt-get install
python3-numpy python3-torch libopenblas0-pthread; without OpenBLAS, Debian's torch falls back
to the reference BLAS and runs ~50x slower, which would make any ratio meaningless).
"""
import json
import os
import subprocess
import sys

import bench_common

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def prefill_flops_per_token(cfg, prompt_tokens):
    """Multiply-adds x 2 per prompt token: the projections, the LM head at every position, and
    causal attention (QK and PV over (T+1)/2 keys on average)."""
    C, L, V = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"]
    inner = cfg.get("n_inner") or 4 * C
    projections = L * (4 * C * C + 2 * C * inner) + V * C
    attention = L * C * (prompt_tokens + 1)
    return 2 * (projections + attention)


def model_dir_for(args, shape):
    """--model for 124m; the other shapes' checkpoints live beside it (gpt2-medium, ...)."""
    if shape == "124m":
        return args.model
    return os.path.join(os.path.dirname(os.path.abspath(args.model)), f"gpt2-{shape}")


def measure_bandwidth(args):
    """gpt2c_bandwidth's best GB/s now. This host's bandwidth moves by half from one minute to
    the next, so each row's roofline uses a measurement taken right before its decode."""
    return float(subprocess.run([os.path.join(args.build, "bin", "gpt2c_bandwidth"), str(args.threads)],
                                check=True, capture_output=True, text=True).stdout)


def measure_shape(args, gpt2c, shape, bench_args):
    """Compiles, loads from the checkpoint, packs and benches every dtype of one shape."""
    model = model_dir_for(args, shape)
    bench_common.ensure_checkpoint(model, shape)
    rows = []
    for dtype in args.dtypes.split(","):
        lib = os.path.join(args.build, "bench", f"gpt2-{shape}-{dtype}.so")
        os.makedirs(os.path.dirname(lib), exist_ok=True)
        ir = lib[:-3] + ".ir"
        subprocess.run([gpt2c, "compile", model, "-o", lib, f"--weights-dtype={dtype}", "--emit-ir", ir],
                       check=True, capture_output=True)
        cold = run_json([gpt2c, "bench", "--lib", lib, "--model", model, "--from-checkpoint", "--threads",
                         str(args.threads), "--repeats", "1", "--gen", "1", "--prompt-tokens", "1", "--json"])
        subprocess.run([gpt2c, "pack-weights", "--lib", lib, "--model", model, "--threads", str(args.threads)],
                       check=True, capture_output=True)
        bandwidth = measure_bandwidth(args)
        r = run_json([gpt2c, "bench", "--lib", lib, "--model", model] + bench_args)
        r["bandwidth_gb_s"] = bandwidth
        r["load_checkpoint_s"] = cold["load_s"]
        # The packed weights are page cache: with XL's checkpoint and several packs cached at
        # once the kernel evicts mapped weight pages mid-run and decode reads them from disk.
        os.remove(lib[:-3] + ".weights")
        # k-pair / k-quad panels: the CPU's bf16 / int8 dot products do the multiplying (compare
        # with that peak).
        r["dot"] = bench_common.dot_product_kind(open(ir).read())
        r["dtype"] = dtype
        r["engine"] = f"gpt2c {dtype}" + (f" ({r['dot']} dot)" if r["dot"] else "")
        r["shape"] = shape
        # gpt2c bench counts the weight bytes a decode step reads (CompiledLibrary::decode_weight_bytes).
        r["roofline_ms"] = r["decode_weight_bytes"] / bandwidth / 1e6
        rows.append(r)
    return model, rows


def print_table(args, shape, cfg, rows, peers, peak):
    flops = prefill_flops_per_token(cfg, args.prompt_tokens)
    print(f"\nGPT-2 {shape} shapes ({cfg['n_layer']} x {cfg['n_embd']}, {cfg['n_head']} heads), random weights, "
          f"{args.threads} threads, {args.prompt_tokens}-token prompt (all-position logits), {args.gen} decoded "
          f"tokens, medians of {args.repeats} runs. Prefill work: {flops / 1e6:.1f} MFLOP/token.")
    print("| engine | prefill tok/s | prefill GFLOPS (of peak) | decode ms/token | decode roofline (reached) "
          "| prefill vs PyTorch fp32 / bf16 | decode vs PyTorch fp32 / bf16 | compile s | load s packed / checkpoint "
          "| peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def ratio(ours, theirs, higher_is_better):
        if theirs is None:
            return "-"
        return f"{ours / theirs if higher_is_better else theirs / ours:.2f}x"

    for r in rows + list(peers.values()):
        pf, dm = r["prefill_tok_s"], r["decode_ms_per_token"]
        gflops = pf * flops / 1e9
        ours = r in rows
        peak_used = bench_common.peak_used(peak, r.get("dot"), r.get("dtype", "bf16" if r["engine"].endswith("bf16") else "f32"))
        share = f"{gflops:.0f} ({100 * gflops / peak_used:.0f} %)" if peak_used else f"{gflops:.0f}"
        roof = f"{r['roofline_ms']:.1f} ms at {r['bandwidth_gb_s']:.0f} GB/s ({100 * r['roofline_ms'] / dm:.0f} %)" if ours else "-"
        vs_p = " / ".join(ratio(pf, peers[d]["prefill_tok_s"], True) for d in ("fp32", "bf16")) if ours and peers else "-"
        vs_d = " / ".join(ratio(dm, peers[d]["decode_ms_per_token"], False) for d in ("fp32", "bf16")) if ours and peers else "-"
        compile_s = f"{r['compile_s']:.2f}" if "compile_s" in r else "-"
        load = f"{r['load_s']:.2f} / {r['load_checkpoint_s']:.2f}" if "load_checkpoint_s" in r else (
            f"{r['load_s']:.2f}" if "load_s" in r else "-")
        rss = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-"
        print(f"| {r['engine']} | {pf:.0f} | {share} | {dm:.2f} | {roof} | {vs_p} | {vs_d} | {compile_s} | {load} "
              f"| {rss} |")


def main():
    ap = bench_common.parser(repeats=5)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--dtypes", default="f32,bf16,int8,q4")
    ap.add_argument("--shapes", default="124m", help="any of 124m,medium,large,xl")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-contention", action="store_true")
    ap.add_argument("--json-out", help="also write every measurement to this file")
    args = ap.parse_args()
    gpt2c = bench_common.gpt2c_binary(args)

    bandwidth = measure_bandwidth(args)
    peak = run_json([os.path.join(args.build, "bin", "gpt2c_fma_peak"), str(args.threads)])
    bench_args = ["--threads", str(args.threads), "--repeats", str(args.repeats), "--gen", str(args.gen),
                  "--prompt-tokens", str(args.prompt_tokens), "--json"]
    bf16_peak = f"{peak['bf16_gflops']:.0f}" if peak["bf16_gflops"] else "n/a"
    int8_peak = f"{peak['int8_gops']:.0f}" if peak.get("int8_gops") else "n/a"
    print(f"Machine: read bandwidth {bandwidth:.1f} GB/s at the start (gpt2c_bandwidth: all threads, decode's access "
          f"patterns; measured again before each decode run, for that row's roofline); "
          f"FMA peak {peak['fp32_gflops']:.0f} GFLOPS fp32, {bf16_peak} GFLOPS bf16 dot, {int8_peak} GOPS int8 dot "
          f"({peak['isa']}).")

    results = {}
    for shape in args.shapes.split(","):
        model, rows = measure_shape(args, gpt2c, shape, bench_args)
        peers = {}
        if shape == "124m" and not args.skip_torch:
            env = dict(os.environ)
            env.pop("OPENBLAS_CORETYPE", None)  # old-OpenBLAS workarounds slow a current one down
            env.pop("OPENBLAS_L2_SIZE", None)
            for dtype in ("fp32", "bf16"):
                peers[dtype] = run_json([sys.executable, os.path.join(HERE, "torch_peer.py"), model, "--threads",
                                         str(args.threads), "--repeats", str(args.repeats), "--gen", str(args.gen),
                                         "--prompt-tokens", str(args.prompt_tokens), "--dtype", dtype], env=env)
        cfg = json.load(open(os.path.join(model, "config.json")))
        print_table(args, shape, cfg, rows, peers, peak)
        results[shape] = {"gpt2c": rows, "pytorch": peers,
                          "prefill_flops_per_token": prefill_flops_per_token(cfg, args.prompt_tokens)}

    contention = None
    if not args.skip_contention and "124m" in results:
        lib = os.path.join(args.build, "bench", f"gpt2-124m-{args.dtypes.split(',')[0]}.so")
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            loaded = run_json([gpt2c, "bench", "--lib", lib, "--model", args.model] + bench_args)
        finally:
            busy.kill()
        quiet = results["124m"]["gpt2c"][0]
        contention = {"quiet": quiet, "busy": loaded}
        print(f"With one busy process beside it ({args.threads} threads on {os.cpu_count()} cores): "
              f"{quiet['engine']} decode {loaded['decode_ms_per_token']:.2f} ms/token "
              f"({loaded['decode_ms_per_token'] / quiet['decode_ms_per_token']:.2f}x the quiet run), prefill "
              f"{loaded['prefill_tok_s']:.0f} tok/s ({quiet['prefill_tok_s'] / loaded['prefill_tok_s']:.2f}x slower).")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"bandwidth_gb_s": bandwidth, "peak": peak, "shapes": results, "contention": contention}, f,
                      indent=1)


if __name__ == "__main__":
    main()
