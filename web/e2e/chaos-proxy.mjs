// A TCP proxy for the browser's network chaos test (issue 21 §5; the Rust SDK's twin is
// tests/tests/chaos/proxy.rs). It sits between the phone app and `jiuzhu serve` and, while chaotic,
// gives each new connection a fault drawn from a generator seeded by the run's seed and the
// connection's number:
//
//   pass      forwarded as it is
//   delay     every chunk, both ways, arrives 10–400 ms late (a latency: order kept, no throttle)
//   drop      the request arrives and the connection is closed (FIN) before a byte is forwarded
//   truncate  the request goes through; the answer is cut after 0–3000 bytes and the connection closed
//   reset     RST after 0–400 KB of the request; a shorter request reaches the server and the
//             connection is reset as its answer starts (the server did the work, the phone never hears)
//
// A connection that is not cut is ended (FIN) after 0.3–2.5 s of life, as a mobile network or a NAT
// forgets idle flows; otherwise the browser would keep reusing its few lucky keep-alive connections
// and the faults would die out. A connection to a server that is down is reset. `calm()` stops
// every fault, on new connections and on those still open; `chaos()` starts them again.
//
// The seed: CHAOS_SEED, else random; printed at the start so that a failing run can be replayed
// (the same faults in the same connection order; the browser's timing still varies).

import { createServer, connect } from 'node:net';

/** splitmix32-style mixing, then mulberry32: a small, fast, seedable generator. */
export function rng(seed, stream = 0) {
  let s = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream + 1) >>> 0, 0x85ebca6b)) >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [lo, hi). */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    chance: (p) => next() < p,
  };
}

/** The run's seed: CHAOS_SEED, else a random 32-bit one. */
export function chaosSeed() {
  const given = process.env.CHAOS_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0) throw new Error(`CHAOS_SEED must be a non-negative integer, not ${JSON.stringify(given)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32);
}

/** What a new connection gets while the proxy is chaotic. */
function draw(seed, n) {
  const r = rng(seed, n);
  const roll = r.int(0, 100);
  const life = r.int(300, 2500);
  if (roll < 25) return { kind: 'pass', life };
  if (roll < 45) return { kind: 'delay', ms: r.int(10, 400), life };
  if (roll < 55) return { kind: 'drop' };
  if (roll < 80) return { kind: 'truncate', after: r.int(0, 3000) };
  return { kind: 'reset', after: r.chance(0.3) ? 0 : r.int(1, 400_000) };
}

/**
 * Starts the proxy on 127.0.0.1 (a free port unless `port` is given) in front of
 * 127.0.0.1:`upstream`. Starts calm unless `chaotic`. Returns
 * { port, url, seed, chaos(), calm(), chaotic, setUpstream(port), counts(), connections, close() }.
 */
export async function startProxy({ upstream, seed = chaosSeed(), port = 0, chaotic = false, log = console.error } = {}) {
  log(`[chaos-proxy] seed ${seed} (replay with CHAOS_SEED=${seed})`);
  const tally = {};
  const count = (what) => { tally[what] = (tally[what] ?? 0) + 1; };
  const live = new Set();
  let numbered = 0;
  let target = upstream;
  let wild = chaotic;

  const server = createServer({ noDelay: true }, (client) => {
    const n = numbered++;
    const fault = wild ? draw(seed, n) : { kind: 'pass' };
    const conn = { client, up: null, done: false, timer: null };
    live.add(conn);
    client.on('error', () => {});
    const finish = () => {
      conn.done = true;
      clearTimeout(conn.timer);
      live.delete(conn);
    };
    client.on('close', () => { finish(); conn.up?.destroy(); });
    /** Ends both sides: FIN to the phone, or RST with `hard`. */
    const cut = (what, hard = false) => {
      if (conn.done) return;
      count(what);
      finish();
      conn.up?.destroy();
      if (hard) client.resetAndDestroy();
      else client.end(() => client.destroy());
    };
    // A fault applies only while the proxy is chaotic: calm() disarms the connections still open too.
    const armed = () => wild && !conn.done;

    if (fault.kind === 'drop') {
      client.once('data', (first) => { if (armed()) cut('dropped'); else forward(first); });
    } else {
      forward(null);
    }

    function forward(first) {
      if (conn.done) return;
      const up = connect({ host: '127.0.0.1', port: target, noDelay: true });
      conn.up = up;
      let connected = false;
      let upSent = 0;
      let downSent = 0;
      // Delays keep each direction's order: every chunk waits for the one before it.
      let upChain = Promise.resolve();
      let downChain = Promise.resolve();
      // A latency, not a throttle: each chunk leaves `ms` after it came, and never before the one ahead.
      const later = (chain, fn) => {
        const due = Date.now() + fault.ms;
        return chain.then(() => new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())))).then(fn);
      };

      up.on('error', () => {
        if (!connected) cut('upstream_down_reset', true);
        else if (!conn.done) { finish(); client.destroy(); } // the server died under the connection
      });
      up.once('connect', () => {
        connected = true;
        if (fault.kind === 'pass') count('passed');
        if (fault.kind === 'delay') count('delayed');
        if (fault.life) conn.timer = setTimeout(() => { if (armed()) cut('expired'); }, fault.life);
      });
      up.on('end', () => { downChain.then(() => { if (!conn.done) { finish(); client.end(() => client.destroy()); } }); });
      client.on('end', () => { upChain.then(() => { if (!conn.done) up.end(); }); });

      const toServer = (chunk) => {
        if (conn.done) return;
        if (armed() && fault.kind === 'reset' && upSent + chunk.length > fault.after) {
          const part = chunk.subarray(0, Math.max(0, fault.after - upSent));
          if (part.length) up.write(part);
          cut('reset_in_request', true);
          return;
        }
        upSent += chunk.length;
        if (armed() && fault.kind === 'delay') upChain = later(upChain, () => { if (!conn.done) up.write(chunk); });
        else up.write(chunk);
      };
      if (first) toServer(first);
      client.on('data', toServer);

      up.on('data', (chunk) => {
        if (conn.done) return;
        if (armed() && fault.kind === 'reset') { cut('reset_answer_lost', true); return; }
        if (armed() && fault.kind === 'truncate' && downSent + chunk.length > fault.after) {
          const part = chunk.subarray(0, Math.max(0, fault.after - downSent));
          if (part.length) client.write(part);
          cut('truncated');
          return;
        }
        downSent += chunk.length;
        if (armed() && fault.kind === 'delay') downChain = later(downChain, () => { if (!conn.done) client.write(chunk); });
        else client.write(chunk);
      });
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = server.address().port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    seed,
    get chaotic() { return wild; },
    get connections() { return numbered; },
    /** Faults from the next connection on. */
    chaos() { wild = true; },
    /** No more faults, on new connections and on those still open. */
    calm() { wild = false; },
    /** Forwards new connections to another port (a server restarted elsewhere). */
    setUpstream(p) { target = p; },
    /** What the proxy did so far, by kind (each counted when it happened). */
    counts() { return { ...tally }; },
    async close() {
      for (const c of live) { c.upstream?.destroy(); c.client.destroy(); }
      await new Promise((r) => server.close(() => r()));
    },
  };
}
