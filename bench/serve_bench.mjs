#!/usr/bin/env node
// Benchmark of a running `gpt2c serve` (or any OpenAI-compatible /v1/completions server).
//
// For 1, 4, 16 and 64 concurrent clients: generated tokens per second (all generated
// tokens / wall time of the level), time to first token and time between tokens
// (p50, p99), greedy, prompts of about 100 tokens, 64 new tokens, streaming (SSE).
// Needs only node (>= 18). Prints a markdown table; --json FILE also writes JSON.
//
//   gpt2c serve --lib /tmp/gpt2.so --model /tmp/gpt2-124m --slots 16 --threads 2 --max-connections 256 &
//   (--max-connections above the largest --clients: idle keep-alive connections count too)
//   node bench/serve_bench.mjs --url http://127.0.0.1:8080
//
// Options:
//   --url URL             server base URL (default http://127.0.0.1:8080)
//   --api-key KEY         sent as Authorization: Bearer KEY
//   --model NAME          the "model" field (default: the first of GET /v1/models)
//   --clients 1,4,16,64   concurrency levels
//   --requests N          requests per level (default max(8, 2 x clients))
//   --prompt-tokens 100   approximate prompt length (the measured mean is reported)
//   --max-tokens 64       new tokens per request
//   --no-stream           non-streaming requests (throughput only; TTFT = whole response)
//   --warmup N            unmeasured requests before the first level (default 2)
//   --timeout S           per-request timeout in seconds (default 600)
//   --json FILE           also write the results as JSON

import { sseDataParser } from './sse.mjs';
import fs from 'node:fs';

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : dflt;
}
if (args.includes('--help') || args.includes('-h')) {
  const text = fs.readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(text.split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(0);
}

const base = opt('url', 'http://127.0.0.1:8080').replace(/\/+$/, '').replace(/\/v1$/, '');
const apiKey = opt('api-key', process.env.OPENAI_API_KEY);
const levels = opt('clients', '1,4,16,64').split(',').map(Number).filter((n) => n > 0);
const promptTokens = Number(opt('prompt-tokens', 100));
const maxTokens = Number(opt('max-tokens', 64));
const stream = !args.includes('--no-stream');
const warmup = Number(opt('warmup', 2));
const timeoutMs = Number(opt('timeout', 600)) * 1000;
const jsonOut = opt('json');

const headers = { 'content-type': 'application/json' };
if (apiKey) headers.authorization = `Bearer ${apiKey}`;

const TEXT = `First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. First Citizen: You are
all resolved rather to die than to famish? All: Resolved. resolved. First Citizen: First, you know Caius Marcius
is chief enemy to the people. All: We know't, we know't. First Citizen: Let us kill him, and we'll have corn at
our own price. Is't a verdict? All: No more talking on't; let it be done: away, away! Second Citizen: One word,
good citizens. First Citizen: We are accounted poor citizens, the patricians good. What authority surfeits on
would relieve us: if they would yield us but the superfluity, while it were wholesome, we might guess they
relieved us humanely; but they think we are too dear: the leanness that afflicts us, the object of our misery,
is as an inventory to particularise their abundance; our sufferance is a gain to them Let us revenge this with
our pikes, ere we become rakes: for the gods know I speak this in hunger for bread, not in thirst for revenge.`
  .split(/\s+/);

/** About `promptTokens` tokens of this text (GPT-2 BPE: ~1.48 tokens per word of it), a different slice for each `k`. */
function prompt(k) {
  const words = Math.max(1, Math.round(promptTokens / 1.48));
  const out = [];
  for (let i = 0; i < words; i++) out.push(TEXT[(k * 13 + i) % TEXT.length]);
  return out.join(' ');
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function one(model, k) {
  const body = { model, prompt: prompt(k), max_tokens: maxTokens, temperature: 0, stream };
  if (stream) body.stream_options = { include_usage: true };
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs),
  });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`);
  if (!stream) {
    const j = await r.json();
    const t = performance.now() - t0;
    return { ttft: t, gaps: [], generated: j.usage.completion_tokens, prompt: j.usage.prompt_tokens, ms: t };
  }
  const parse = sseDataParser();
  const reader = r.body.getReader();
  let ttft = NaN;
  let last = NaN;
  const gaps = [];
  let chunks = 0;
  let usage = null;
  let finish = null;
  let done = false;
  while (!done) {
    const { value, done: end } = await reader.read();
    if (end) break;
    for (const data of parse(value)) {
      if (data === '[DONE]') { done = true; break; }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(`stream error: ${JSON.stringify(chunk.error)}`);
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices?.[0];
      if (!c) continue;
      if (c.finish_reason) finish = c.finish_reason;
      if (!c.text) continue;
      const now = performance.now();
      if (Number.isNaN(ttft)) ttft = now - t0; else gaps.push(now - last);
      last = now;
      chunks++;
    }
  }
  if (!done) throw new Error('stream ended without [DONE]');
  // One chunk per token, except where a UTF-8 character spans tokens; a 'length' finish means exactly max_tokens.
  const generated = usage?.completion_tokens ?? (finish === 'length' ? maxTokens : chunks);
  return { ttft, gaps, generated, prompt: usage?.prompt_tokens, ms: performance.now() - t0 };
}

async function level(model, clients, requests) {
  let next = 0;
  const results = [];
  const errors = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (;;) {
      const k = next++;
      if (k >= requests) return;
      try {
        results.push(await one(model, k * 7 + c));
      } catch (e) {
        errors.push(e.message);
      }
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const generated = results.reduce((s, r) => s + r.generated, 0);
  const ttft = results.map((r) => r.ttft).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const gaps = results.flatMap((r) => r.gaps).sort((a, b) => a - b);
  const prompts = results.map((r) => r.prompt).filter((x) => x !== undefined);
  return {
    clients, requests, ok: results.length, errors: errors.length, error_samples: errors.slice(0, 3),
    wall_s: wall, generated_tokens: generated, tok_s: generated / wall,
    prompt_tokens_mean: prompts.length ? prompts.reduce((a, b) => a + b, 0) / prompts.length : null,
    ttft_ms: { p50: percentile(ttft, 50), p99: percentile(ttft, 99) },
    tbt_ms: { p50: percentile(gaps, 50), p99: percentile(gaps, 99) },
  };
}

async function main() {
  let model = opt('model');
  const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) }).catch((e) => {
    throw new Error(`cannot reach ${base}: ${e.cause?.code ?? e.message}`);
  });
  if (health.status !== 200) throw new Error(`${base}/health: ${health.status}`);
  if (!model) {
    const m = await (await fetch(`${base}/v1/models`, { headers, signal: AbortSignal.timeout(10_000) })).json();
    model = m.data?.[0]?.id;
  }
  // Measure the prompt length once (non-streaming usage), and warm up.
  const probe = await fetch(`${base}/v1/completions`, {
    method: 'POST', headers, body: JSON.stringify({ model, prompt: prompt(0), max_tokens: 1, temperature: 0 }),
    signal: AbortSignal.timeout(timeoutMs),
  }).then((r) => r.json());
  const measuredPrompt = probe.usage?.prompt_tokens;
  for (let i = 0; i < warmup; i++) await one(model, 1000 + i);

  const rows = [];
  for (const clients of levels) {
    const requests = Number(opt('requests', 0)) || Math.max(8, 2 * clients);
    const r = await level(model, clients, requests);
    rows.push(r);
    process.stderr.write(`${clients} clients: ${r.tok_s.toFixed(1)} tok/s (${r.ok}/${requests} ok)\n`);
  }

  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const lines = [
    `Server ${base}, model ${model}, prompts of ~${measuredPrompt ?? promptTokens} tokens, ${maxTokens} new tokens, greedy, ${stream ? 'streaming' : 'non-streaming'}.`,
    '',
    '| clients | requests | generated tok/s | TTFT p50 (ms) | TTFT p99 (ms) | TBT p50 (ms) | TBT p99 (ms) | errors |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.clients} | ${r.ok} | ${f(r.tok_s)} | ${f(r.ttft_ms.p50)} | ${f(r.ttft_ms.p99)} | ` +
      `${f(r.tbt_ms.p50, 2)} | ${f(r.tbt_ms.p99, 2)} | ${r.errors} |`),
  ];
  console.log(lines.join('\n'));
  if (jsonOut) {
    fs.writeFileSync(jsonOut, JSON.stringify({
      url: base, model, prompt_tokens: measuredPrompt, max_tokens: maxTokens, stream, levels: rows,
    }, null, 2) + '\n');
  }
  if (rows.some((r) => r.errors > 0)) {
    for (const r of rows) for (const e of r.error_samples) process.stderr.write(`error (${r.clients} clients): ${e}\n`);
    process.exit(1);
  }
}

main().catch((e) => { console.error(`serve_bench: ${e.message}`); process.exit(1); });
