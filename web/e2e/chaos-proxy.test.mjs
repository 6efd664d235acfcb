// The chaos proxy on its own (no browser, no jiuzhu server): a small HTTP server behind it, one
// connection per request. While chaotic every kind of fault reaches the client and the server
// sees the requests that were cut mid-way; the same seed gives the same faults; calm passes all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startProxy } from './chaos-proxy.mjs';

const BODY = 'x'.repeat(8000);

async function backend() {
  const seen = [];
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => { seen.push(n); res.end(BODY); });
    req.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, seen, close: () => new Promise((r) => server.close(r)) };
}

/** One POST of `size` bytes on a new connection: 'ok', 'short' (a cut body), 'hung', or the error's code. */
function post(port, size) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers: { 'Content-Length': size } }, (res) => {
      let got = 0;
      res.on('data', (c) => { got += c.length; });
      res.on('end', () => resolve(got === BODY.length ? 'ok' : 'short'));
      res.on('error', () => resolve('short'));
      res.on('aborted', () => resolve('short'));
    });
    req.on('error', (e) => resolve(e.code ?? e.message));
    // A proxy that swallowed the request without cutting it: the client would wait for ever.
    req.setTimeout(5000, () => { resolve('hung'); req.destroy(); });
    req.end(Buffer.alloc(size, 1));
  });
}

async function run(seed, n) {
  const b = await backend();
  const proxy = await startProxy({ upstream: b.port, seed, chaotic: true, log: () => {} });
  const outcomes = {};
  for (let i = 0; i < n; i++) {
    const o = await post(proxy.port, (i % 5) * 100_000 + 10);
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  proxy.calm();
  let calm = 0;
  for (let i = 0; i < 20; i++) if (await post(proxy.port, 200_000) === 'ok') calm++;
  const counts = proxy.counts();
  await proxy.close();
  await b.close();
  return { outcomes, counts, calm, seen: b.seen };
}

test('the chaos proxy: every fault happens, the seed replays them, calm passes everything', async () => {
  const a = await run(7, 40);
  for (const kind of ['passed', 'delayed', 'dropped', 'truncated', 'reset_in_request', 'reset_answer_lost']) {
    assert.ok(a.counts[kind] > 0, `${kind} happened: ${JSON.stringify(a.counts)}`);
  }
  assert.equal(a.outcomes.hung, undefined, `no request left hanging: ${JSON.stringify(a.outcomes)}`);
  assert.ok(a.outcomes.ok > 0 && a.outcomes.ECONNRESET > 0 && (a.outcomes.short ?? 0) + (a.outcomes.ECONNRESET ?? 0) > a.counts.truncated / 2,
    `the client saw the faults: ${JSON.stringify(a.outcomes)}`);
  assert.equal(a.calm, 20, 'calm: every request answered in full');
  // Whether a connection outlives its 0.3–2.5 s is timing, not the seed.
  const drawn = ({ expired, ...rest }) => rest;
  const b = await run(7, 40);
  assert.deepEqual(drawn(b.counts), drawn(a.counts), 'the same seed, the same faults');
  const c = await run(8, 20);
  assert.notDeepEqual(drawn(c.counts), drawn(a.counts), 'another seed, other faults');
});

test('the chaos proxy resets connections while the server is down, and follows a new upstream', async () => {
  const b = await backend();
  const proxy = await startProxy({ upstream: b.port, seed: 1, log: () => {} });
  assert.equal(await post(proxy.port, 10), 'ok');
  await b.close();
  assert.equal(await post(proxy.port, 10), 'ECONNRESET');
  assert.equal(proxy.counts().upstream_down_reset, 1);
  const again = await backend();
  proxy.setUpstream(again.port);
  assert.equal(await post(proxy.port, 10), 'ok');
  await proxy.close();
  await again.close();
});
