// Shared helpers for the `gpt2c serve` tests: find (or compile) the model
// library, spawn servers on free loopback ports, wait for /health, talk raw
// HTTP / SSE, read /metrics, and always clean up every child process.
//
// Configuration (environment variables, or --bin= --lib= --model= on argv):
//   GPT2C_BIN    the gpt2c binary          (default: <repo>/build/bin/gpt2c)
//   GPT2C_MODEL  the model directory       (default: <repo>/examples/tiny-shakespeare)
//   GPT2C_LIB    the compiled library      (default: <tmp>/gpt2c-server-tests/shakespeare.so);
//                compiled from GPT2C_MODEL when missing or older than GPT2C_BIN.
//
// Every server is started under coreutils `timeout`, in its own process
// group, so a server outlives a killed test by at most its lifetime bound.

import { sseDataParser } from '../../../bench/sse.mjs';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..', '..');

function argvOption(name) {
  const prefix = `--${name}=`;
  const hit = process.argv.find((a) => a.startsWith(prefix));
  return hit ? hit.slice(prefix.length) : undefined;
}

export const config = {
  bin: path.resolve(argvOption('bin') ?? process.env.GPT2C_BIN ?? path.join(repo, 'build', 'bin', 'gpt2c')),
  model: path.resolve(argvOption('model') ?? process.env.GPT2C_MODEL ?? path.join(repo, 'examples', 'tiny-shakespeare')),
  lib: path.resolve(argvOption('lib') ?? process.env.GPT2C_LIB ??
    path.join(os.tmpdir(), 'gpt2c-server-tests', 'shakespeare.so')),
  haproxy: process.env.HAPROXY ?? '/usr/sbin/haproxy',
  repo,
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with a message naming `label`; the timer never keeps node alive. */
export function withTimeout(promise, ms, label) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${label}`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** A hard stop for a whole test file: kills the children and exits 1 after `ms`. */
export function globalDeadline(ms, label = 'test file') {
  const timer = setTimeout(() => {
    process.stderr.write(`\n${label}: global deadline of ${ms} ms passed; killing servers and exiting\n`);
    killAllChildren('SIGKILL');
    process.exit(1);
  }, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

// ---------------------------------------------------------------- children

const children = new Set();

export function killAllChildren(signal = 'SIGKILL') {
  for (const c of children) {
    try { process.kill(-c.pid, signal); } catch { /* gone */ }
  }
}

process.on('exit', () => killAllChildren('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killAllChildren('SIGKILL'); process.exit(128 + os.constants.signals[sig]); });
}

function run(file, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

let libraryReady = null;

/** Compiles the model library unless an up-to-date one is there. Safe to call concurrently from several processes. */
export function ensureLibrary() {
  libraryReady ??= (async () => {
    if (!fs.existsSync(config.bin)) throw new Error(`gpt2c binary not found: ${config.bin} (set GPT2C_BIN)`);
    const fresh = fs.existsSync(config.lib) && fs.statSync(config.lib).mtimeMs >= fs.statSync(config.bin).mtimeMs;
    if (fresh) return config.lib;
    const dir = path.dirname(config.lib);
    fs.mkdirSync(dir, { recursive: true });
    const tmpDir = fs.mkdtempSync(path.join(dir, `.compile-${process.pid}-`));
    try {
      const tmpLib = path.join(tmpDir, path.basename(config.lib));
      await run(config.bin, ['compile', config.model, '-o', tmpLib], 300_000);
      fs.renameSync(tmpLib, config.lib); // atomic: a concurrent test sees the old or the new file, never half of one
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
    return config.lib;
  })();
  return libraryReady;
}

export class Server {
  constructor(proc, opts) {
    this.proc = proc;
    this.opts = opts;
    this.host = '127.0.0.1';
    this.port = 0;
    this.log = '';
    this.exitCode = undefined; // number, or null when killed by a signal
    this.exitSignal = undefined;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        children.delete(proc);
        resolve({ code, signal });
      });
    });
  }
  get baseURL() { return `http://${this.host}:${this.port}`; }
  url(p) { return `${this.baseURL}${p}`; }
  get running() { return this.exitCode === undefined; }

  /** Sends `signal` to the server process itself (coreutils timeout relays TERM/INT; KILL goes to the whole group). */
  signal(signal) {
    if (!this.running) return;
    try {
      if (signal === 'SIGKILL') process.kill(-this.proc.pid, 'SIGKILL');
      else process.kill(this.proc.pid, signal);
    } catch { /* gone */ }
  }

  /** SIGTERM (or `signal`), wait up to timeoutMs, then SIGKILL. Resolves to {code, signal, forced}. */
  async stop({ signal = 'SIGTERM', timeoutMs = 15_000 } = {}) {
    if (!this.running) return { code: this.exitCode, signal: this.exitSignal, forced: false };
    this.signal(signal);
    try {
      const r = await withTimeout(this.exited, timeoutMs, `server exit after ${signal}`);
      return { ...r, forced: false };
    } catch {
      this.signal('SIGKILL');
      const r = await this.exited;
      return { ...r, forced: true };
    }
  }

  tail(n = 4000) { return this.log.slice(-n); }
}

/**
 * Spawns `gpt2c serve` and resolves once it listens and /health is 200.
 * opts: args (extra CLI args), port (default 0), lifetimeSec (hard bound, default 900),
 *       readyTimeoutMs (default 60 s), waitHealthy (default true), echo (copy server stderr to ours).
 */
export async function startServer(opts = {}) {
  const lib = await ensureLibrary();
  const { args = [], port = 0, lifetimeSec = 900, readyTimeoutMs = 60_000, waitHealthy: wait = true } = opts;
  // timeout relays our SIGTERM and arms --kill-after then: it must outlast a drain under load.
  const argv = ['--kill-after=60', String(lifetimeSec), config.bin, 'serve', '--lib', lib, '--model', config.model,
    '--host', '127.0.0.1', '--port', String(port), ...args];
  const proc = spawn('timeout', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const server = new Server(proc, opts);
  const echo = opts.echo ?? process.env.GPT2C_SERVER_LOG === '1';

  const listening = new Promise((resolve, reject) => {
    let pending = '';
    const onData = (chunk) => {
      const s = chunk.toString();
      server.log = (server.log + s).slice(-200_000);
      if (echo) process.stderr.write(`[serve:${server.port || '?'}] ${s}`);
      pending += s;
      const m = pending.match(/gpt2c serve: listening on http:\/\/([^\s:]+|\[[^\]]+\]):(\d+)/);
      if (m) {
        server.host = m[1];
        server.port = Number(m[2]);
        pending = '';
        resolve();
      } else if (pending.length > 100_000) {
        pending = pending.slice(-1000);
      }
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    server.exited.then(({ code, signal }) =>
      reject(new Error(`gpt2c serve exited (code ${code}, signal ${signal}) before listening:\n${server.tail()}`)));
  });
  try {
    await withTimeout(listening, readyTimeoutMs, 'gpt2c serve listening line');
    if (wait) await waitHealthy(server.baseURL, readyTimeoutMs);
  } catch (e) {
    server.signal('SIGKILL');
    e.message += `\nserver log:\n${server.tail()}`;
    throw e;
  }
  return server;
}

/** Polls GET /health until 200 (bounded by timeoutMs). */
export async function waitHealthy(baseURL, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < end) {
    try {
      const r = await fetch(`${baseURL}/health`, { signal: AbortSignal.timeout(2000) });
      await r.text();
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await sleep(100);
  }
  throw new Error(`${baseURL}/health not 200 within ${timeoutMs} ms (last: ${last})`);
}

/** A free TCP port on 127.0.0.1 (for processes that need a port number up front, such as HAProxy). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- HTTP

/** POST JSON; resolves to {status, headers, body (parsed JSON or null), text}. Never throws on an HTTP status. */
export async function postJSON(url, body, { apiKey, timeoutMs = 120_000, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  const r = await fetch(url, {
    method: 'POST', headers: h,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, body: json, text };
}

/**
 * A streamed completion over raw fetch. Resolves to
 * {status, text, chunks, done (saw [DONE]), finishReason, times (ms since start of each chunk), error}.
 * Throws only when the connection fails before the response headers.
 * opts.onChunk(chunk, index) may return 'abort' to drop the connection.
 */
export async function streamCompletion(url, body, { apiKey, timeoutMs = 120_000, onChunk } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(new Error('stream timeout')), timeoutMs);
  const h = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  const t0 = performance.now();
  const out = { status: 0, text: '', chunks: [], done: false, finishReason: null, times: [], error: null, aborted: false };
  try {
    const r = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ ...body, stream: true }), signal: ctrl.signal });
    out.status = r.status;
    out.headers = r.headers;
    if (r.status !== 200) {
      out.text = await r.text();
      try { out.body = JSON.parse(out.text); } catch { /* not JSON */ }
      return out;
    }
    const parse = sseDataParser();
    const reader = r.body.getReader();
    for (;;) {
      let step;
      try {
        step = await reader.read();
      } catch (e) {
        if (out.aborted) break;
        out.error = e;
        break;
      }
      if (step.done) break;
      for (const data of parse(step.value)) {
        if (data === '[DONE]') { out.done = true; continue; }
        const chunk = JSON.parse(data);
        out.chunks.push(chunk);
        out.times.push(performance.now() - t0);
        const c = chunk.choices?.[0];
        if (c) {
          out.text += c.text ?? '';
          if (c.finish_reason) out.finishReason = c.finish_reason;
        }
        if (chunk.error) out.error = new Error(`error event: ${JSON.stringify(chunk.error)}`);
        if (onChunk && onChunk(chunk, out.chunks.length - 1) === 'abort') {
          out.aborted = true;
          ctrl.abort();
          break;
        }
      }
      if (out.aborted) break;
    }
    if (!out.done && !out.aborted && !out.error) out.error = new Error('stream ended without [DONE]');
    return out;
  } finally {
    clearTimeout(timer);
  }
}

/** Parses Prometheus text into a Map of `name{labels}` -> number (and `name` -> sum over its series). */
export function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (!match) continue;
    const [, name, labels = '', value] = match;
    const v = Number(value);
    m.set(name + labels, v);
    if (labels) m.set(`${name}#sum`, (m.get(`${name}#sum`) ?? 0) + v);
  }
  return m;
}

export async function getMetrics(baseURL) {
  const r = await fetch(`${baseURL}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`/metrics: ${r.status} ${text.slice(0, 200)}`);
  return { text, map: parseMetrics(text) };
}

/** The name of the busy-slots gauge (a gauge whose name says busy/active slots). */
export function busySlotsMetric(text) {
  const gauges = [...text.matchAll(/^# TYPE (\S+) gauge/gm)].map((m) => m[1]);
  if (gauges.includes('gpt2c_busy_slots')) return 'gpt2c_busy_slots';
  return gauges.find((n) => /slot/.test(n) && /busy|active|used|running/.test(n)) ??
    gauges.find((n) => /busy|active_requests|running/.test(n));
}

export async function busySlots(baseURL) {
  const { text, map } = await getMetrics(baseURL);
  const name = busySlotsMetric(text);
  if (!name) throw new Error(`no busy-slots gauge in /metrics:\n${text.slice(0, 2000)}`);
  return map.get(name) ?? map.get(`${name}#sum`) ?? 0;
}

/** Runs `fn(item, index)` over items with at most `limit` in flight. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

// ---------------------------------------------------------------- prompts

const SHAKESPEARE = `First Citizen:
Before we proceed any further, hear me speak.
All:
Speak, speak.
First Citizen:
You are all resolved rather to die than to famish?
All:
Resolved. resolved.
First Citizen:
First, you know Caius Marcius is chief enemy to the people.
All:
We know't, we know't.
First Citizen:
Let us kill him, and we'll have corn at our own price.
Is't a verdict?
All:
No more talking on't; let it be done: away, away!
Second Citizen:
One word, good citizens.
First Citizen:
We are accounted poor citizens, the patricians good.
What authority surfeits on would relieve us: if they
would yield us but the superfluity, while it were
wholesome, we might guess they relieved us humanely;
but they think we are too dear: the leanness that
afflicts us, the object of our misery, is as an
inventory to particularise their abundance; our
sufferance is a gain to them Let us revenge this with
our pikes, ere we become rakes: for the gods know I
speak this in hunger for bread, not in thirst for revenge.
`;

/** Roughly `words` words of Shakespeare starting at word `offset` (GPT-2 BPE: ~1.3 tokens per word). */
export function shakespeare(words, offset = 0) {
  const all = SHAKESPEARE.split(/(?<=\s)/);
  const out = [];
  for (let i = 0; i < words; i++) out.push(all[(offset + i) % all.length]);
  return out.join('').trimEnd();
}

export const SHORT_PROMPTS = ['ROMEO:', 'JULIET:\nO', 'KING HENRY:', 'First Citizen:\n', 'MENENIUS:\nWhy,', 'All:\nSpeak'];

/**
 * Spawns any helper process (HAProxy, ...) under coreutils `timeout` in its own process group,
 * tracked so it is killed when this process exits. Returns {proc, exited, log(), stop()}.
 */
export function spawnTracked(file, args, { lifetimeSec = 600, echo = false, label = file } = {}) {
  const proc = spawn('timeout', ['--kill-after=60', String(lifetimeSec), file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let log = '';
  const onData = (d) => {
    log = (log + d.toString()).slice(-200_000);
    if (echo) process.stderr.write(`[${label}] ${d}`);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { children.delete(proc); resolve({ code, signal }); }));
  let running = true;
  exited.then(() => { running = false; });
  return {
    proc, exited,
    log: () => log,
    get running() { return running; },
    async stop(timeoutMs = 5000) {
      if (!running) return exited;
      try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ }
      try { return await withTimeout(exited, timeoutMs, `${label} exit`); } catch {
        try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ }
        return exited;
      }
    },
  };
}
