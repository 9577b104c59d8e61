// Load: 64 concurrent clients with mixed prompt lengths (short, and ~150 tokens),
// half of them streaming, greedy and seeded sampling. Every request must complete
// with exactly the text it gets when sent alone; none may be lost.
//
//   node --test load.test.mjs      (GPT2C_BIN / GPT2C_LIB / GPT2C_MODEL, see harness.mjs)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, globalDeadline, postJSON, streamCompletion, withTimeout, getMetrics, busySlots,
  shakespeare, SHORT_PROMPTS, sleep,
} from './harness.mjs';

globalDeadline(420_000, 'load.test.mjs');

const CLIENTS = Number(process.env.GPT2C_LOAD_CLIENTS ?? 64);
const SLOTS = Number(process.env.GPT2C_LOAD_SLOTS ?? 16);
let server;

before(async () => {
  server = await startServer({
    args: ['--slots', String(SLOTS), '--max-queue', String(CLIENTS * 2), '--max-connections', String(CLIENTS * 4)],
    lifetimeSec: 480,
  });
});

after(async () => {
  if (!server) return;
  const r = await server.stop();
  assert.equal(r.forced, false, 'server did not exit within 15 s of SIGTERM');
  assert.equal(r.code, 0, `server exit code after SIGTERM:\n${server.tail()}`);
});

/** The 64 requests: every combination of short/long prompt, stream or not, greedy or seeded. */
function requests() {
  const out = [];
  for (let i = 0; i < CLIENTS; i++) {
    const long = i % 2 === 1;
    const stream = (i >> 1) % 2 === 1;
    const sampled = (i >> 2) % 2 === 1;
    const prompt = long ? shakespeare(88, (i * 7) % 150) : SHORT_PROMPTS[i % SHORT_PROMPTS.length];
    const body = { prompt, max_tokens: 16 + (i % 5) * 8 }; // 16..48 new tokens
    if (sampled) Object.assign(body, { temperature: 0.8, top_k: 40, top_p: 0.95, seed: 1000 + i });
    else body.temperature = 0;
    if (i % 16 === 15) body.prompt = [33676, 4720, 25, 198]; // token ids: "ROMEO:\n"
    out.push({ i, stream, body });
  }
  return out;
}

async function once(req) {
  const url = server.url('/v1/completions');
  if (req.stream) {
    const r = await streamCompletion(url, req.body, { timeoutMs: 240_000 });
    if (r.status !== 200) return { status: r.status, error: r.text };
    if (r.error) return { status: 200, error: String(r.error), text: r.text };
    return { status: 200, text: r.text, finish: r.finishReason };
  }
  const r = await postJSON(url, req.body, { timeoutMs: 240_000 });
  if (r.status !== 200) return { status: r.status, error: r.text };
  const c = r.body.choices[0];
  return { status: 200, text: c.text, finish: c.finish_reason, usage: r.body.usage };
}

test(`${CLIENTS} concurrent clients each get exactly what they get alone`, { timeout: 400_000 }, async () => {
  const reqs = requests();

  // Alone, one after another, non-streaming.
  const alone = [];
  for (const req of reqs) {
    const r = await postJSON(server.url('/v1/completions'), req.body, { timeoutMs: 60_000 });
    assert.equal(r.status, 200, `request ${req.i} alone: ${r.text}`);
    const c = r.body.choices[0];
    alone.push({ text: c.text, finish: c.finish_reason, usage: r.body.usage });
    assert.ok(r.body.usage.prompt_tokens > 0);
    if (req.i % 2 === 1 && req.i % 16 !== 15) {
      assert.ok(r.body.usage.prompt_tokens >= 120 && r.body.usage.prompt_tokens <= 200,
        `long prompt ${req.i} has ${r.body.usage.prompt_tokens} tokens`);
    }
  }
  assert.equal(await busySlots(server.baseURL), 0);

  // All at once. Each client starts with a small jitter so they join a running batch at different steps.
  const t0 = performance.now();
  const results = await withTimeout(Promise.all(reqs.map(async (req) => {
    await sleep((req.i * 37) % 200);
    try {
      return await once(req);
    } catch (e) {
      return { status: 0, error: `${e.message} ${e.cause?.code ?? ''}` };
    }
  })), 300_000, `${CLIENTS} concurrent requests`);
  const seconds = (performance.now() - t0) / 1000;

  const failures = [];
  results.forEach((r, i) => {
    const req = reqs[i];
    const what = `request ${i} (${req.stream ? 'stream' : 'plain'}, ${req.body.temperature ? 'seeded' : 'greedy'}, ` +
      `${typeof req.body.prompt === 'string' && req.body.prompt.length > 100 ? 'long' : 'short'})`;
    if (r.status !== 200) failures.push(`${what}: status ${r.status} ${r.error ?? ''}`);
    else if (r.error) failures.push(`${what}: ${r.error}`);
    else if (r.text !== alone[i].text) failures.push(`${what}: text differs\n  alone:   ${JSON.stringify(alone[i].text)}\n  batched: ${JSON.stringify(r.text)}`);
    else if (r.finish !== alone[i].finish) failures.push(`${what}: finish_reason ${r.finish} vs ${alone[i].finish} alone`);
    else if (r.usage && JSON.stringify(r.usage) !== JSON.stringify(alone[i].usage)) failures.push(`${what}: usage ${JSON.stringify(r.usage)} vs ${JSON.stringify(alone[i].usage)}`);
  });
  assert.deepEqual(failures, [], `${failures.length} of ${CLIENTS} requests failed:\n${failures.join('\n')}\n${server.tail(2000)}`);

  const tokens = alone.reduce((s, a) => s + a.usage.completion_tokens, 0);
  console.log(`# ${CLIENTS} concurrent: ${tokens} tokens in ${seconds.toFixed(2)} s (${(tokens / seconds).toFixed(0)} tok/s)`);

  // Nothing left running, and the metrics counted them.
  const end = Date.now() + 10_000;
  let busy;
  while ((busy = await busySlots(server.baseURL)) !== 0 && Date.now() < end) await sleep(100);
  assert.equal(busy, 0, 'busy slots back to 0');
  const { text } = await getMetrics(server.baseURL);
  assert.match(text, /# TYPE \S+ histogram/, 'latency histograms in /metrics');
});
