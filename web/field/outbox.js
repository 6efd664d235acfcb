// The outbox, as mobile-api/src/outbox.rs: visits saved on the phone under their own UUID until the
// server has them, sent oldest first. A visit waits for its own photos (uploaded resumably first).
// A network failure, 5xx, 408 or 429 waits with backoff; a refusal because a photo is not on the
// server yet is such a wait too, never a dead end. Any other 4xx is permanent: the visit moves to
// "needs attention" with the server's reason and is never retried on its own, nor dropped.
// Sending the same visit again is answered as a replay (same UUID): never a second visit.

import { signal } from '../shared/html.js';
import { request, ApiError } from './net.js';
import { visits, updateVisit, updatePhoto, photo as getPhoto, putPhoto, pruneSent } from './store.js';
import { uploadPhoto } from './upload.js';

/** Bumped whenever an outbox item changes, so screens re-read. */
export const outboxTick = signal(0);
/** The pass in progress, if any: { visit, photo, sent, total }. */
export const sending = signal(null);

const BASE_MS = 2000;
/**
 * Photos uploaded at once. On a weak network each request waits a long round trip before its first
 * byte; a few uploads side by side keep the uplink busy meanwhile. Visits still go one by one, oldest first.
 */
export const PARALLEL_UPLOADS = 3;
const MAX_MS = 15 * 60 * 1000;

function backoff(attempts, retryAfter) {
  const ceiling = Math.min(MAX_MS, BASE_MS * 2 ** Math.min(attempts, 20));
  const wait = ceiling * Math.max(0.1, Math.random());
  return Math.max(wait, (retryAfter ?? 0) * 1000);
}

/** Every detail of a 422 says a named photo is not (yet) on the server. */
function onlyMissingPhotos(e) {
  return e.status === 422 && e.code === 'validation_failed' && e.details.length > 0
    && e.details.every((d) => d.code === 'unknown_photo' && /^photo_ids\[\d+\]$/.test(d.field));
}

let running = null;
let timer = null;

/**
 * Sends every due visit. `force` ignores the backoff (the worker asked, or the network came back).
 * Resolves to { sent, replayed, retry_later, needs_attention, unauthorized }.
 */
export function push({ force = false } = {}) {
  if (!running) {
    running = pass(force).finally(async () => {
      await pruneSent().catch(() => {});
      running = null;
      sending.value = null;
      outboxTick.value++;
      schedule();
    });
  }
  return running;
}

/**
 * Uploads the photos of the visits about to be sent, a few at a time, in the visits' order. `get(id)`
 * is that photo's upload (started now if the pool has not reached it). The first failure stops the
 * pool: the network or the server that failed it would fail the next one too.
 */
function photoPool(items) {
  const owner = new Map();
  for (const v of items) for (const pid of v.body.photo_ids) owner.set(pid, v);
  const ids = [...owner.keys()];
  const started = new Map();
  let next = 0;
  let stopped = false;
  const get = (pid) => {
    if (!started.has(pid)) {
      const v = owner.get(pid);
      const total = v?.body.photo_ids.length ?? 1;
      const index = (v?.body.photo_ids.indexOf(pid) ?? 0) + 1;
      const p = uploadPhoto(pid, {
        onProgress: (sent, size) => { sending.value = { visit: v?.id, photo: pid, index, total, sent, size }; },
      });
      p.catch(() => { stopped = true; });
      started.set(pid, p);
    }
    return started.get(pid);
  };
  const worker = async () => {
    while (!stopped && next < ids.length) {
      try { await get(ids[next++]); } catch { stopped = true; }
    }
  };
  for (let i = 0; i < PARALLEL_UPLOADS; i++) worker();
  return { get, stop: () => { stopped = true; } };
}

async function pass(force) {
  const report = { sent: 0, replayed: 0, retry_later: 0, needs_attention: 0, unauthorized: false };
  const now = Date.now();
  const due = (await visits()).filter((v) => (v.state === 'queued' || v.state === 'sending') && (force || v.next_at <= now));
  const pool = photoPool(due);
  try {
    for (const item of due) {
      const outcome = await sendNext(item, pool);
      if (outcome === 'sent' || outcome === 'replayed') {
        report[outcome]++;
        continue;
      }
      if (outcome === 'unauthorized') { report.unauthorized = true; break; }
      if (outcome === 'needs_attention') { report.needs_attention++; continue; }
      report.retry_later++;
      break; // the next visit would meet the same network or the same busy server
    }
  } finally {
    pool.stop();
  }
  return report;
}

async function sendNext(item, pool) {
  await updateVisit(item.id, { state: 'sending' });
  outboxTick.value++;
  return sendOne(item, pool);
}

async function sendOne(item, pool) {
  const body = item.body;
  try {
    // A visit waits for its own photos.
    for (const pid of body.photo_ids) await pool.get(pid);
    sending.value = { visit: item.id, photo: null, index: body.photo_ids.length, total: body.photo_ids.length };
    const res = await request('POST', '/visits', { body });
    const stored = await res.json();
    await updateVisit(item.id, {
      state: 'sent', sent_at: new Date().toISOString(), error: null, next_at: 0,
      replay: res.status === 200, flags: stored.flags ?? [],
    });
    // The server has the photos: their bytes can leave the phone.
    for (const pid of body.photo_ids) {
      const p = await getPhoto(pid);
      if (p) await putPhoto({ ...p, blob: null, size: 0 });
    }
    return res.status === 200 ? 'replayed' : 'sent';
  } catch (e) {
    if (!(e instanceof ApiError)) {
      await updateVisit(item.id, { state: 'queued', attempts: item.attempts + 1, next_at: Date.now() + backoff(item.attempts), error: { code: 'internal', message: String(e?.message ?? e), details: [] } });
      return 'retry';
    }
    const error = { code: e.code, message: e.message, details: e.details, status: e.status };
    if (e.status === 401) {
      await updateVisit(item.id, { state: 'queued', error });
      return 'unauthorized';
    }
    if (onlyMissingPhotos(e)) {
      // The server lost or never finished a photo: upload those again, then the visit.
      for (const d of e.details) {
        const pid = body.photo_ids[Number(/\d+/.exec(d.field)[0])];
        await updatePhoto(pid, { state: 'queued', upload_id: null, offset: 0 });
      }
      await updateVisit(item.id, { state: 'queued', attempts: item.attempts + 1, next_at: Date.now() + backoff(item.attempts), error });
      return 'retry';
    }
    if (e.retryable) {
      await updateVisit(item.id, { state: 'queued', attempts: item.attempts + 1, next_at: Date.now() + backoff(item.attempts, e.retryAfter), error });
      return 'retry';
    }
    await updateVisit(item.id, { state: 'needs_attention', error, next_at: 0 });
    return 'needs_attention';
  }
}

/** Sends again when the earliest backoff ends (while the app is open). */
async function schedule() {
  clearTimeout(timer);
  const due = (await visits()).filter((v) => v.state === 'queued').map((v) => v.next_at);
  if (!due.length) return;
  const wait = Math.max(1000, Math.min(...due) - Date.now());
  timer = setTimeout(() => { if (navigator.onLine) push(); }, Math.min(wait, MAX_MS));
}

/** Counts by state, for the tab badge and the outbox screen. */
export async function counts() {
  const out = { queued: 0, sending: 0, sent: 0, needs_attention: 0 };
  for (const v of await visits()) out[v.state] = (out[v.state] ?? 0) + 1;
  return out;
}
