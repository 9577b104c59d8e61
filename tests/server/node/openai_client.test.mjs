// The official OpenAI client (`openai` npm package) against `gpt2c serve`:
// completions, streamed completions, and the errors the client surfaces.
//
//   node --test openai_client.test.mjs      (GPT2C_BIN / GPT2C_LIB / GPT2C_MODEL, see harness.mjs)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, globalDeadline, postJSON } from './harness.mjs';

globalDeadline(240_000, 'openai_client.test.mjs');

const API_KEY = 'sk-gpt2c-test-key';
let server;
let client;
let model;

before(async () => {
  server = await startServer({ args: ['--slots', '4', '--api-key', API_KEY], lifetimeSec: 300 });
  client = new OpenAI({ baseURL: server.url('/v1'), apiKey: API_KEY, maxRetries: 0, timeout: 60_000 });
});

after(async () => {
  if (!server) return;
  const r = await server.stop();
  assert.equal(r.forced, false, 'server did not exit within 15 s of SIGTERM');
  assert.equal(r.code, 0, `server exit code after SIGTERM:\n${server.tail()}`);
});

test('models.list names the served model', { timeout: 30_000 }, async () => {
  const page = await client.models.list();
  assert.ok(page.data.length >= 1, 'at least one model');
  model = page.data[0].id;
  assert.equal(typeof model, 'string');
  assert.equal(page.data[0].object, 'model');
});

test('a greedy completion', { timeout: 60_000 }, async () => {
  const r = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 16, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.id, 'string');
  assert.equal(r.choices.length, 1);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(r.choices[0].text.length > 0, 'some text');
  assert.ok(['length', 'stop'].includes(r.choices[0].finish_reason), r.choices[0].finish_reason);
  assert.equal(r.choices[0].index, 0);
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 16);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  if (r.choices[0].finish_reason === 'length') assert.equal(r.usage.completion_tokens, 16);

  // Greedy is deterministic.
  const again = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 16, temperature: 0 });
  assert.equal(again.choices[0].text, r.choices[0].text);
});

test('a streamed completion concatenates to the non-streamed text', { timeout: 60_000 }, async () => {
  const body = { model, prompt: 'JULIET:\nO', max_tokens: 24, temperature: 0 };
  const whole = await client.completions.create(body);
  const stream = await client.completions.create({ ...body, stream: true });
  let text = '';
  let chunks = 0;
  let finish = null;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'text_completion');
    const c = chunk.choices[0];
    text += c.text;
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.ok(chunks >= 2, `several chunks (got ${chunks})`);
});

test('stream_options.include_usage ends the stream with the usage', { timeout: 60_000 }, async () => {
  const body = { model, prompt: 'JULIET:\nO', max_tokens: 12, temperature: 0 };
  const whole = await client.completions.create(body);
  let usage = null;
  let text = '';
  for await (const chunk of await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } })) {
    if (chunk.usage) usage = chunk.usage;
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, whole.choices[0].text);
  assert.deepEqual(usage, whole.usage);
});

test('seeded sampling is reproducible, and streaming gives the same text', { timeout: 60_000 }, async () => {
  const body = { model, prompt: 'KING HENRY:', max_tokens: 20, temperature: 0.9, top_p: 0.95, seed: 1234 };
  const a = await client.completions.create(body);
  const b = await client.completions.create(body);
  assert.equal(a.choices[0].text, b.choices[0].text);
  let text = '';
  for await (const chunk of await client.completions.create({ ...body, stream: true })) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, a.choices[0].text);
});

test('a prompt of token ids, stop strings, n, echo and logprobs', { timeout: 60_000 }, async () => {
  const ids = await client.completions.create({ model, prompt: [33676, 4720, 25], max_tokens: 8, temperature: 0 }); // "ROMEO:"
  assert.equal(ids.usage.prompt_tokens, 3);
  const text = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 8, temperature: 0 });
  assert.equal(ids.choices[0].text, text.choices[0].text);

  const long = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 40, temperature: 0 });
  const full = long.choices[0].text;
  const cut = full.slice(4, 8);
  if (cut.length === 4) {
    const stopped = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 40, temperature: 0, stop: [cut] });
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.equal(stopped.choices[0].text, full.slice(0, full.indexOf(cut)));
  }

  const many = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 8, temperature: 0.8, seed: 7, n: 3 });
  assert.equal(many.choices.length, 3);
  assert.deepEqual(many.choices.map((c) => c.index).sort(), [0, 1, 2]);

  const echoed = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 4, temperature: 0, echo: true });
  assert.ok(echoed.choices[0].text.startsWith('ROMEO:'), echoed.choices[0].text);

  const lp = await client.completions.create({ model, prompt: 'ROMEO:', max_tokens: 4, temperature: 0, logprobs: 2 });
  const l = lp.choices[0].logprobs;
  assert.ok(l, 'logprobs object');
  assert.equal(l.tokens.length, lp.usage.completion_tokens);
  assert.equal(l.token_logprobs.length, l.tokens.length);
  for (const v of l.token_logprobs) assert.ok(v <= 0, `log probability ${v}`);
  assert.equal(l.tokens.join(''), lp.choices[0].text);
});

test('a wrong API key is an AuthenticationError (401)', { timeout: 30_000 }, async () => {
  const bad = new OpenAI({ baseURL: server.url('/v1'), apiKey: 'sk-wrong', maxRetries: 0, timeout: 30_000 });
  await assert.rejects(bad.completions.create({ model, prompt: 'ROMEO:', max_tokens: 4 }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 401);
    return true;
  });
  // Also without any Authorization header.
  const r = await postJSON(server.url('/v1/completions'), { model, prompt: 'ROMEO:', max_tokens: 4 });
  assert.equal(r.status, 401);
  assert.equal(typeof r.body?.error?.message, 'string');
});

test('bad parameters are a BadRequestError (400)', { timeout: 30_000 }, async () => {
  const cases = [
    { model, prompt: 'ROMEO:', max_tokens: -1 },
    { model, prompt: 'ROMEO:', max_tokens: 'many' },
    { model, prompt: 'ROMEO:', temperature: -1 },
    { model, prompt: 'ROMEO:', top_p: 2 },
    { model, prompt: 42 },
    { model, prompt: 'ROMEO:', n: 0 },
    { model, prompt: 'ROMEO: '.repeat(400), max_tokens: 4 }, // longer than the 256-token context
  ];
  for (const body of cases) {
    await assert.rejects(client.completions.create(body), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError,
        `${JSON.stringify(body).slice(0, 80)}: ${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 400);
      assert.equal(typeof e.error?.message, 'string', 'an OpenAI error object');
      return true;
    }, `accepted: ${JSON.stringify(body).slice(0, 80)}`);
  }
});

test('an unknown model is a NotFoundError (404)', { timeout: 30_000 }, async () => {
  await assert.rejects(client.completions.create({ model: 'no-such-model', prompt: 'ROMEO:', max_tokens: 4 }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 404);
    return true;
  });
  // An unknown route too.
  const r = await fetch(server.url('/v1/nowhere'), { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(r.status, 404);
  assert.equal(typeof (await r.json()).error?.message, 'string');
});
