#!/usr/bin/env python3
"""tests/data/hostile/hostile_tools.py - makes broken inputs for tests/cli/hostile_test.sh.

Python 3 standard library only (CI has no numpy).

  hostile_tools.py st-edit IN OUT CODE
      Reads the safetensors file IN, runs CODE with `h` (the header dict, in
      file order) and `data` (a bytearray of the data section), writes OUT
      with the header length recomputed. CODE may instead set `raw` (bytes)
      to write exactly that file.
  hostile_tools.py tiny-model DIR
      Writes a tiny random GPT-2 (n_positions 16, vocab 300) with a byte-level
      tokenizer: config.json, model.safetensors, vocab.json, merges.txt.
  hostile_tools.py c-string IN_JSON OUT CODE
      Reads a library's metadata JSON (LIB.json), runs CODE on it as `m`
      (or sets `text` to use a raw string), writes OUT as a C string literal
      for fake_library.c (#include'd as GPT2C_FAKE_METADATA).
  hostile_tools.py config-edit IN OUT CODE
      Reads config.json IN as the dict `c`, runs CODE, writes OUT.
  hostile_tools.py vocab-edit FILE CODE
      Reads vocab.json FILE as the dict `v`, runs CODE, writes it back.
  hostile_tools.py batch < LINES
      Runs one command per line, arguments separated by tabs (one Python
      start-up for a whole section of the test instead of one per case).
"""
import json
import random
import struct
import sys


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    return header, bytearray(raw[8 + n:])


def write_safetensors(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data))


def tensor_bytes(h, data, name):
    begin, end = h[name]["data_offsets"]
    return data[begin:end]


def set_f32(h, data, name, index, value):
    """Stores float32 `value` (may be nan/inf) at element `index` of an F32 tensor."""
    assert h[name]["dtype"] == "F32", h[name]
    begin = h[name]["data_offsets"][0] + 4 * index
    data[begin:begin + 4] = struct.pack("<f", value)


def rename(h, old, new):
    """Renames a tensor keeping its position in the header."""
    items = [(new if k == old else k, v) for k, v in h.items()]
    h.clear()
    h.update(items)


def st_edit(src, dst, code):
    h, data = read_safetensors(src)
    env = {"h": h, "data": data, "raw": None, "struct": struct, "json": json,
           "set_f32": lambda *a: set_f32(h, data, *a), "rename": lambda *a: rename(h, *a),
           "tensor_bytes": lambda name: tensor_bytes(h, data, name)}
    exec(code, env)
    if env["raw"] is not None:
        open(dst, "wb").write(env["raw"])
    else:
        write_safetensors(dst, env["h"], env["data"])


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def tiny_model(out):
    rng = random.Random(1234)
    byte_chars = bytes_to_unicode()
    vocab = {byte_chars[b]: b for b in range(256)}
    merges = []
    # A few merges, so BPE has something to do: "th", "he", "the", " t", ...
    for a, b in [("t", "h"), ("h", "e"), ("th", "e"), ("Ġ", "t"), ("Ġt", "he"), ("e", "r"), ("o", "n")]:
        merges.append(f"{a} {b}")
        vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    V, C, P, L, H = 300, 8, 16, 1, 2
    assert len(vocab) <= V
    config = {"model_type": "gpt2", "vocab_size": V, "n_positions": P, "n_embd": C, "n_layer": L,
              "n_head": H, "n_inner": None, "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True,
              "bos_token_id": len(vocab) - 1, "eos_token_id": len(vocab) - 1}
    shapes = {"wte.weight": [V, C], "wpe.weight": [P, C]}
    for i in range(L):
        p = f"h.{i}."
        shapes.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C],
                       p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
                       p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                       p + "ln_2.weight": [C], p + "ln_2.bias": [C],
                       p + "mlp.c_fc.weight": [C, 4 * C], p + "mlp.c_fc.bias": [4 * C],
                       p + "mlp.c_proj.weight": [4 * C, C], p + "mlp.c_proj.bias": [C]})
    shapes.update({"ln_f.weight": [C], "ln_f.bias": [C]})
    header, data = {}, bytearray()
    for name, shape in shapes.items():
        n = 1
        for d in shape:
            n *= d
        gain = name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight"
        values = [(1.0 if gain else 0.0) + rng.gauss(0, 0.3) for _ in range(n)]
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + 4 * n]}
        data += struct.pack(f"<{n}f", *values)
    json.dump(config, open(f"{out}/config.json", "w"), indent=1)
    write_safetensors(f"{out}/model.safetensors", header, data)
    json.dump(vocab, open(f"{out}/vocab.json", "w"), ensure_ascii=False)
    open(f"{out}/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "\n".join(merges) + "\n")


def c_string(src, dst, code):
    m = json.load(open(src))
    m.pop("compile_seconds", None)
    env = {"m": m, "text": None, "json": json}
    exec(code, env)
    text = env["text"] if env["text"] is not None else json.dumps(env["m"])
    with open(dst, "w") as f:
        # Split into chunks: C compilers limit the length of one string literal token only loosely,
        # but huge metadata (deep nesting) is easier to read in pieces.
        f.write("\n".join(json.dumps(text[i:i + 4000]) for i in range(0, max(len(text), 1), 4000)) + "\n")


def config_edit(src, dst, code):
    c = json.load(open(src))
    exec(code, {"c": c, "json": json})
    json.dump(c, open(dst, "w"), indent=2)


def vocab_edit(path, code):
    v = json.load(open(path, encoding="utf-8"))
    exec(code, {"v": v, "json": json})
    json.dump(v, open(path, "w", encoding="utf-8"), ensure_ascii=False)


COMMANDS = {"st-edit": st_edit, "tiny-model": tiny_model, "c-string": c_string,
            "config-edit": config_edit, "vocab-edit": vocab_edit}


def main():
    command = sys.argv[1]
    if command == "batch":
        failed = 0
        for line in sys.stdin:
            fields = line.rstrip("\n").split("\t")
            try:
                COMMANDS[fields[0]](*fields[1:])
            except Exception as e:  # report and go on: the case using the output will fail
                print(f"hostile_tools.py: {fields[:3]}: {e!r}", file=sys.stderr)
                failed = 1
        sys.exit(failed)
    if command not in COMMANDS:
        sys.exit(f"unknown command {command}")
    COMMANDS[command](*sys.argv[2:])


if __name__ == "__main__":
    main()
