#!/usr/bin/python3
"""bench/run_bench.py - gpt2c against PyTorch eager on GPT-2 124M shapes, in one run.

usage: bench/run_bench.py [--build build] [--model /tmp/gpt2-124m] [--threads 2] [--repeats 5] [--gen 128]
                          [--skip-torch] [--skip-contention]

Builds a random GPT-2 124M-shaped checkpoint (bench/make_checkpoint.py) if the
model directory has none, compiles it with gpt2c for f32, bf16 and int8 weights,
measures the machine's read bandwidth (gpt2c_bandwidth), runs `gpt2c bench --json`
for each and bench/torch_peer.py on the same weights, then prints medians,
ratios to PyTorch and the fraction of the decode roofline (bytes of weights
streamed per token / measured bandwidth). Finally it reruns f32 decode next to
a busy process on one core, to show how gpt2c's thread pool shares the machine.
Needs numpy and torch for the peer, with OpenBLAS behind torch (Debian: apt-get install
python3-numpy python3-torch libopenblas0-pthread; without OpenBLAS, Debian's torch falls back to the
reference BLAS and runs ~50x slower, which would make any ratio meaningless).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def weight_bytes_per_token(lib_json):
    """Bytes decode streams per token: every prepared tensor forward reads, plus raw ones it reads."""
    meta = json.load(open(lib_json))
    total = 0
    for t in meta["prepared"]:
        if t.get("used_by_forward", True):
            total += t.get("bytes", 4 * eval("*".join(map(str, t["shape"]))))
    for t in meta["weights"]:
        # The embedding tables are read one row per token, not whole.
        if t.get("used_by_forward", True) and t["name"] not in ("wte.weight", "wpe.weight"):
            n = 1
            for d in t["shape"]:
                n *= d
            total += 4 * n
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", default="/tmp/gpt2-124m")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-contention", action="store_true")
    args = ap.parse_args()
    gpt2c = os.path.join(args.build, "bin", "gpt2c")
    if not os.path.exists(os.path.join(args.model, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_checkpoint.py"), args.model], check=True)

    bandwidth = float(subprocess.run([os.path.join(args.build, "bin", "gpt2c_bandwidth"), str(args.threads)],
                                     check=True, capture_output=True, text=True).stdout)
    rows = []
    for dtype in ("f32", "bf16", "int8"):
        lib = os.path.join(args.build, "bench", f"gpt2-124m-{dtype}.so")
        os.makedirs(os.path.dirname(lib), exist_ok=True)
        subprocess.run([gpt2c, "compile", args.model, "-o", lib, f"--weights-dtype={dtype}"], check=True,
                       capture_output=True)
        r = run_json([gpt2c, "bench", "--lib", lib, "--model", args.model, "--threads", str(args.threads),
                      "--repeats", str(args.repeats), "--gen", str(args.gen), "--json"])
        r["engine"] = f"gpt2c {dtype}"
        r["roofline_ms"] = weight_bytes_per_token(lib[:-3] + ".json") / bandwidth / 1e6
        rows.append(r)
    torch_row = None
    if not args.skip_torch:
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)  # old-OpenBLAS workarounds slow a current one down
        env.pop("OPENBLAS_L2_SIZE", None)
        torch_row = run_json([sys.executable, os.path.join(HERE, "torch_peer.py"), args.model, "--threads",
                              str(args.threads), "--repeats", str(args.repeats), "--gen", str(args.gen)], env=env)
        rows.append(torch_row)

    print(f"GPT-2 124M shapes, random weights, {args.threads} threads, medians of {args.repeats} runs; "
          f"read bandwidth {bandwidth:.1f} GB/s")
    print("| engine | prefill tok/s (128-token prompt, all logits) | decode ms/token | prefill vs PyTorch "
          "| decode vs PyTorch | decode roofline | of roofline | load s | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        pf, dm = r["prefill_tok_s"], r["decode_ms_per_token"]
        vs_p = f"{pf / torch_row['prefill_tok_s']:.2f}x" if torch_row and r is not torch_row else "-"
        vs_d = f"{torch_row['decode_ms_per_token'] / dm:.2f}x" if torch_row and r is not torch_row else "-"
        roof = f"{r['roofline_ms']:.1f} ms" if "roofline_ms" in r else "-"
        frac = f"{100 * r['roofline_ms'] / dm:.0f} %" if "roofline_ms" in r else "-"
        load = f"{r['load_s']:.2f}" if "load_s" in r else "-"
        rss = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-"
        print(f"| {r['engine']} | {pf:.0f} | {dm:.2f} | {vs_p} | {vs_d} | {roof} | {frac} | {load} | {rss} |")
    if "compile_s" in rows[0]:
        print(f"compile (f32): {rows[0]['compile_s']:.2f} s")

    if not args.skip_contention:
        lib = os.path.join(args.build, "bench", "gpt2-124m-f32.so")
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            loaded = run_json([gpt2c, "bench", "--lib", lib, "--model", args.model, "--threads", str(args.threads),
                               "--repeats", str(args.repeats), "--gen", str(args.gen), "--json"])
        finally:
            busy.kill()
        print(f"with a busy process on one core: f32 decode {loaded['decode_ms_per_token']:.2f} ms/token "
              f"({loaded['decode_ms_per_token'] / rows[0]['decode_ms_per_token']:.2f}x the quiet run), "
              f"prefill {loaded['prefill_tok_s']:.0f} tok/s")


if __name__ == "__main__":
    main()
