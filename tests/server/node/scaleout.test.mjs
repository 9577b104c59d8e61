// Scale-out: HAProxy (deploy/haproxy.cfg as the template) in front of 2 replicas.
//  - under load, a rolling restart (SIGTERM A, start it again, wait until HAProxy
//    has it up, then B) fails no non-streaming request;
//  - after a SIGKILL of one replica, new requests are served by the other, and the
//    streams that were on the killed one end with an error the client sees.
//
//   node --test scaleout.test.mjs    (GPT2C_BIN / GPT2C_LIB / GPT2C_MODEL; HAPROXY=/usr/sbin/haproxy)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  config, startServer, spawnTracked, globalDeadline, freePort, postJSON, streamCompletion, withTimeout, sleep,
  shakespeare, SHORT_PROMPTS,
} from './harness.mjs';

globalDeadline(420_000, 'scaleout.test.mjs');

const REPLICA_ARGS = ['--slots', '8', '--max-queue', '32', '--threads', '1', '--drain-seconds', '60'];
const replicas = { r1: null, r2: null };
let haproxy;
let lbPort;
let statsPort;
let workDir;

function startReplica(port = 0) {
  return startServer({ args: REPLICA_ARGS, port, lifetimeSec: 480 });
}

/** deploy/haproxy.cfg with the test's ports: the frontend and stats `bind` lines and one `server` line per replica. */
function haproxyConfig(ports) {
  const template = fs.readFileSync(path.join(config.repo, 'deploy', 'haproxy.cfg'), 'utf8');
  let frontend = null;
  const out = [];
  let serversWritten = false;
  for (const line of template.split('\n')) {
    const section = line.match(/^(frontend|backend|listen|global|defaults)\s*(\S*)/);
    if (section) frontend = section[1] === 'frontend' ? section[2] : null;
    if (/^\s*bind\s/.test(line)) {
      out.push(`    bind 127.0.0.1:${frontend === 'stats' ? statsPort : lbPort}`);
    } else if (/^\s*server\s/.test(line)) {
      if (!serversWritten) {
        for (const [name, port] of Object.entries(ports)) out.push(`    server ${name} 127.0.0.1:${port}`);
        serversWritten = true;
      }
    } else {
      out.push(line);
    }
  }
  assert.ok(serversWritten, 'deploy/haproxy.cfg has server lines');
  return out.join('\n');
}

/** HAProxy's view of the replicas: {r1: 'UP', r2: 'DOWN', ...}. */
async function haproxyStatus() {
  const r = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`, { signal: AbortSignal.timeout(3000) });
  const lines = (await r.text()).split('\n');
  const header = lines[0].replace(/^# /, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const st = header.indexOf('status');
  const out = {};
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    if (f[px] === 'gpt2c_replicas' && f[sv] in replicas) out[f[sv]] = f[st];
  }
  return out;
}

async function waitStatus(name, want, ms = 30_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = (await haproxyStatus())[name];
    if (last?.startsWith(want)) return;
    await sleep(100);
  }
  throw new Error(`HAProxy never saw ${name} ${want} (last: ${last})\n${haproxy.log().slice(-3000)}`);
}

before(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpt2c-scaleout-'));
  [replicas.r1, replicas.r2] = await Promise.all([startReplica(), startReplica()]);
  lbPort = await freePort();
  statsPort = await freePort();
  const cfg = path.join(workDir, 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig({ r1: replicas.r1.port, r2: replicas.r2.port }));
  const check = spawnTracked(config.haproxy, ['-c', '-f', cfg], { lifetimeSec: 30 });
  const c = await check.exited;
  assert.equal(c.code, 0, `haproxy -c:\n${check.log()}`);
  haproxy = spawnTracked(config.haproxy, ['-db', '-f', cfg], { lifetimeSec: 480, label: 'haproxy', echo: process.env.GPT2C_SERVER_LOG === '1' });
  await withTimeout((async () => {
    for (;;) {
      try { await haproxyStatus(); return; } catch { await sleep(100); }
    }
  })(), 15_000, 'haproxy stats page');
  await waitStatus('r1', 'UP');
  await waitStatus('r2', 'UP');
});

after(async () => {
  await haproxy?.stop();
  await Promise.all(Object.values(replicas).map((s) => s?.stop({ timeoutMs: 5000 })));
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

const lb = () => `http://127.0.0.1:${lbPort}/v1/completions`;

function workload() {
  const reqs = [];
  for (let i = 0; i < 8; i++) {
    const prompt = i % 2 ? shakespeare(60, i * 11) : SHORT_PROMPTS[i % SHORT_PROMPTS.length];
    reqs.push(i % 4 === 3
      ? { prompt, max_tokens: 24 + i * 4, temperature: 0.8, seed: 40 + i }
      : { prompt, max_tokens: 24 + i * 4, temperature: 0 });
  }
  return reqs;
}

test('rolling restart under load fails no non-streaming request', { timeout: 240_000 }, async () => {
  const reqs = workload();
  const expected = [];
  for (const body of reqs) {
    const r = await postJSON(lb(), body, { timeoutMs: 30_000 });
    assert.equal(r.status, 200, r.text);
    expected.push(r.body.choices[0].text);
  }

  // Load: 6 clients sending non-streaming requests back to back, 2 streaming; bounded in count and time.
  let stop = false;
  const plain = [];
  const streams = [];
  const loadEnd = Date.now() + 200_000;
  const client = async (k, streaming) => {
    for (let n = 0; !stop && n < 5000 && Date.now() < loadEnd; n++) {
      const i = (k + n) % reqs.length;
      try {
        if (streaming) {
          const r = await streamCompletion(lb(), reqs[i], { timeoutMs: 60_000 });
          streams.push({ i, ok: r.status === 200 && !r.error && r.text === expected[i], status: r.status, error: String(r.error ?? r.text.slice(0, 200)) });
        } else {
          const r = await postJSON(lb(), reqs[i], { timeoutMs: 60_000 });
          plain.push({ i, ok: r.status === 200 && r.body?.choices?.[0]?.text === expected[i], status: r.status,
            replica: r.headers.get('x-gpt2c-replica'), error: r.text.slice(0, 200) });
        }
      } catch (e) {
        (streaming ? streams : plain).push({ i, ok: false, status: 0, error: `${e.message} ${e.cause?.code ?? ''}` });
      }
    }
  };
  const load = Promise.all([...Array.from({ length: 6 }, (_, k) => client(k, false)), client(6, true), client(7, true)]);

  try {
    await sleep(1000);
    for (const name of ['r1', 'r2']) {
      const old = replicas[name];
      const before = plain.length;
      const exit = await old.stop({ signal: 'SIGTERM', timeoutMs: 70_000 });
      assert.equal(exit.forced, false, `${name} did not exit after SIGTERM`);
      assert.equal(exit.code, 0, `${name} exit code after SIGTERM:\n${old.tail()}`);
      await waitStatus(name, 'DOWN');
      replicas[name] = await startReplica(old.port);
      await waitStatus(name, 'UP');
      await sleep(1000); // let the restarted replica take some load
      assert.ok(plain.length > before, `requests kept completing while ${name} restarted`);
    }
  } finally {
    stop = true;
    await withTimeout(load, 90_000, 'load clients');
  }

  const failed = plain.filter((r) => !r.ok);
  assert.deepEqual(failed, [], `${failed.length} of ${plain.length} non-streaming requests failed`);
  assert.ok(plain.length >= 20, `enough load (${plain.length} requests)`);
  const served = new Set(plain.map((r) => r.replica));
  assert.ok(served.has('r1') && served.has('r2'), `both replicas served (${[...served]})`);
  const streamFailures = streams.filter((r) => !r.ok);
  console.log(`# rolling restart: ${plain.length} non-streaming requests, all ok; ${streams.length} streams, ${streamFailures.length} failed`);
  assert.deepEqual(streamFailures, [], 'streams also survive a rolling restart (drained, not cut)');
});

test('after SIGKILL of a replica: new requests go to the other; its streams end with an error', { timeout: 120_000 }, async () => {
  await waitStatus('r1', 'UP');
  await waitStatus('r2', 'UP');
  const body = { prompt: 'ROMEO:', max_tokens: 240, temperature: 0 };
  const full = await postJSON(lb(), body);
  assert.equal(full.status, 200);

  // 8 long streams spread over both replicas (leastconn); kill r1 once every stream has its first chunk.
  let started = 0;
  let allStarted;
  const gotFirst = new Promise((resolve) => { allStarted = resolve; });
  const streams = Array.from({ length: 8 }, () => streamCompletion(lb(), body, {
    timeoutMs: 60_000,
    onChunk: (_c, i) => { if (i === 0 && ++started === 8) allStarted(); },
  }));
  await withTimeout(gotFirst, 30_000, 'first chunks of 8 streams');
  replicas.r1.signal('SIGKILL');
  await replicas.r1.exited;

  // New requests right away, before HAProxy's health check has noticed: retried on r2.
  const after = [];
  for (let n = 0; n < 20; n++) {
    const r = await postJSON(lb(), { prompt: SHORT_PROMPTS[n % SHORT_PROMPTS.length], max_tokens: 8, temperature: 0 }, { timeoutMs: 30_000 });
    after.push({ status: r.status, replica: r.headers.get('x-gpt2c-replica'), text: r.text.slice(0, 200) });
  }
  assert.deepEqual(after.filter((r) => r.status !== 200 || r.replica !== 'r2'), [], 'every new request served by r2');

  const results = await withTimeout(Promise.all(streams), 60_000, 'streams after SIGKILL');
  const onKilled = results.filter((r) => r.headers?.get('x-gpt2c-replica') === 'r1');
  const onLive = results.filter((r) => r.headers?.get('x-gpt2c-replica') === 'r2');
  assert.equal(onKilled.length + onLive.length, 8);
  assert.ok(onKilled.length >= 1, 'some streams were on the killed replica');
  for (const r of onKilled) {
    assert.ok(r.error, `a stream on the killed replica ended without an error (${r.text.length} chars, done=${r.done})`);
    assert.equal(r.done, false, 'no [DONE] from a killed replica');
  }
  for (const r of onLive) {
    assert.equal(r.error, null, `a stream on the live replica failed: ${r.error}`);
    assert.equal(r.text, full.body.choices[0].text);
  }
  await waitStatus('r1', 'DOWN');
});
