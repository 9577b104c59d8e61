"""bench/bench_common.py - what the benchmark drivers share: their common options and the checkpoint.

run_bench.py and target_levels.py both measure one GPT-2 124M-shaped checkpoint with
the gpt2c of a build directory, on a number of threads.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parser(**defaults):
    """An ArgumentParser with --build, --model, --threads and --repeats (defaults overridable)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", default="/tmp/gpt2-124m")
    ap.add_argument("--threads", type=int, default=defaults.get("threads", 2))
    ap.add_argument("--repeats", type=int, default=defaults.get("repeats", 5),
                    help=defaults.get("repeats_help", "repetitions; medians are reported"))
    return ap


def gpt2c_binary(args, name="gpt2c"):
    return os.path.join(args.build, "bin", name)


def ensure_checkpoint(model_dir, shape="124m"):
    """Writes the random checkpoint (bench/make_checkpoint.py) unless model_dir already holds one."""
    if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_checkpoint.py"), model_dir, "--shape", shape],
                       check=True)


def dot_product_kind(ir_text):
    """Which dot product a compiled library multiplies with, from its IR (--emit-ir):
    "int8" (k-quad panels, vpdpbusd), "bf16" (k-pair panels, vdpbf16ps) or None (float32 FMAs)."""
    if "k_quads = true" in ir_text:
        return "int8"
    if "k_pairs = true" in ir_text:
        return "bf16"
    return None


def peak_used(peak, dot, dtype):
    """The arithmetic peak (gpt2c_fma_peak) a library's prefill is measured against: the int8 or
    bf16 dot product's when it multiplies with one, bf16's for bf16 weights, else float32 FMAs'."""
    if dot == "int8":
        return peak.get("int8_gops")
    if dot == "bf16" or dtype == "bf16":
        return peak["bf16_gflops"]
    return peak["fp32_gflops"]
