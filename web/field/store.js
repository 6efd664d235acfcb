// The phone's memory, in IndexedDB (idb): what sync brought (tasks, masked households, pinned form
// versions, the grid's boundary, the cursor), the worker's drafts, and the outbox (visits and their
// photos as blobs) until the server has them. Mirrors mobile-api's store.rs and outbox.rs.

import { openDB } from '../vendor/idb.js';

const NAME = 'jiuzhu-field';
const VERSION = 1;

let dbPromise = null;

export function db() {
  if (!dbPromise) {
    dbPromise = openDB(NAME, VERSION, {
      upgrade(d) {
        d.createObjectStore('meta');
        d.createObjectStore('tasks', { keyPath: 'id' });
        d.createObjectStore('households', { keyPath: 'id' });
        d.createObjectStore('forms', { keyPath: 'id' }); // id = `${key}@${version}`
        d.createObjectStore('drafts', { keyPath: 'task_id' });
        const visits = d.createObjectStore('visits', { keyPath: 'id' });
        visits.createIndex('seq', 'seq');
        const photos = d.createObjectStore('photos', { keyPath: 'id' });
        photos.createIndex('owner', 'owner');
      },
      blocking() {
        // A newer app version wants the database: let it have it.
        dbPromise?.then((x) => x.close());
        dbPromise = null;
      },
    });
  }
  return dbPromise;
}

export async function getMeta(key) {
  return (await db()).get('meta', key);
}

export async function setMeta(key, value) {
  const d = await db();
  if (value === undefined || value === null) await d.delete('meta', key);
  else await d.put('meta', value, key);
}

/**
 * Applies one sync page in one transaction, as store.rs does: a full page (no cursor before it)
 * replaces the task list; tombstones remove tasks; households no task needs any more leave the phone.
 */
export async function applySync(page, full) {
  const d = await db();
  const tx = d.transaction(['tasks', 'households', 'forms', 'meta'], 'readwrite');
  const tasks = tx.objectStore('tasks');
  if (full) await tasks.clear();
  for (const t of page.tasks) await tasks.put(t);
  for (const h of page.households) await tx.objectStore('households').put(h);
  for (const f of page.forms) {
    const id = `${f.key}@${f.version}`;
    if (!(await tx.objectStore('forms').get(id))) await tx.objectStore('forms').put({ id, key: f.key, version: f.version, definition: f.definition });
  }
  for (const t of page.tombstones) if (t.entity === 'task') await tasks.delete(t.id);
  const needed = new Set((await tasks.getAll()).map((t) => t.household_id));
  for (const key of await tx.objectStore('households').getAllKeys()) {
    if (!needed.has(key)) await tx.objectStore('households').delete(key);
  }
  await tx.objectStore('meta').put(page.cursor, 'cursor');
  await tx.done;
}

export async function tasks() {
  return (await db()).getAll('tasks');
}

export async function task(id) {
  return (await db()).get('tasks', id);
}

export async function household(id) {
  return (await db()).get('households', id);
}

export async function households() {
  return (await db()).getAll('households');
}

export async function form(key, version) {
  return (await db()).get('forms', `${key}@${version}`);
}

export async function putForm(key, version, definition) {
  await (await db()).put('forms', { id: `${key}@${version}`, key, version, definition });
}

export async function draft(taskId) {
  return (await db()).get('drafts', taskId);
}

export async function saveDraft(d) {
  await (await db()).put('drafts', { ...d, updated_at: new Date().toISOString() });
}

export async function drafts() {
  return (await db()).getAll('drafts');
}

/** A photo taken for a draft: kept as a blob under its own UUID until the server has it. */
export async function putPhoto(p) {
  await (await db()).put('photos', p);
}

export async function photo(id) {
  return (await db()).get('photos', id);
}

export async function photos() {
  return (await db()).getAll('photos');
}

export async function updatePhoto(id, change) {
  const d = await db();
  const tx = d.transaction('photos', 'readwrite');
  const p = await tx.store.get(id);
  if (p) await tx.store.put({ ...p, ...change });
  await tx.done;
}

export async function deletePhoto(id) {
  await (await db()).delete('photos', id);
}

/**
 * Moves a finished draft into the outbox in one transaction: the visit is queued, its photos
 * change owner from the draft to the visit, the draft and its unused photos go.
 */
export async function queueVisit(visit, meta) {
  const d = await db();
  const tx = d.transaction(['visits', 'drafts', 'photos', 'meta'], 'readwrite');
  const seq = ((await tx.objectStore('meta').get('seq')) ?? 0) + 1;
  await tx.objectStore('meta').put(seq, 'seq');
  const existing = await tx.objectStore('visits').get(visit.id);
  await tx.objectStore('visits').put({
    id: visit.id,
    body: visit,
    state: 'queued',
    attempts: 0,
    next_at: 0,
    error: null,
    created_at: existing?.created_at ?? new Date().toISOString(),
    sent_at: null,
    seq,
    ...meta,
  });
  const keep = new Set(visit.photo_ids);
  const photoStore = tx.objectStore('photos');
  for (const p of await photoStore.index('owner').getAll(`draft:${visit.task_id}`)) {
    if (keep.has(p.id)) await photoStore.put({ ...p, owner: `visit:${visit.id}` });
    else await photoStore.delete(p.id);
  }
  for (const id of keep) {
    const p = await photoStore.get(id);
    if (p && p.owner !== `visit:${visit.id}`) await photoStore.put({ ...p, owner: `visit:${visit.id}` });
  }
  await tx.objectStore('drafts').delete(visit.task_id);
  await tx.done;
}

export async function visits() {
  return (await db()).getAllFromIndex('visits', 'seq');
}

export async function visit(id) {
  return (await db()).get('visits', id);
}

export async function updateVisit(id, change) {
  const d = await db();
  const tx = d.transaction('visits', 'readwrite');
  const v = await tx.store.get(id);
  if (v) await tx.store.put({ ...v, ...change });
  await tx.done;
  return v ? { ...v, ...change } : null;
}

/** A visit the server refused, opened again as a draft (same UUID: the server never stored it). */
export async function reopenVisit(id) {
  const d = await db();
  const tx = d.transaction(['visits', 'drafts', 'photos'], 'readwrite');
  const v = await tx.objectStore('visits').get(id);
  if (!v) return null;
  const b = v.body;
  await tx.objectStore('drafts').put({
    task_id: b.task_id, visit_id: b.id, answers: b.answers, started_at: b.started_at, fix: b.location,
    updated_at: new Date().toISOString(),
  });
  for (const p of await tx.objectStore('photos').index('owner').getAll(`visit:${id}`)) {
    await tx.objectStore('photos').put({ ...p, owner: `draft:${b.task_id}` });
  }
  await tx.objectStore('visits').delete(id);
  await tx.done;
  return b.task_id;
}

export async function deleteVisit(id) {
  const d = await db();
  const tx = d.transaction(['visits', 'photos'], 'readwrite');
  for (const p of await tx.objectStore('photos').index('owner').getAll(`visit:${id}`)) await tx.objectStore('photos').delete(p.id);
  await tx.objectStore('visits').delete(id);
  await tx.done;
}

/** Sent visits stay listed for a week (the worker sees what went), then leave the phone with their photo records. */
export async function pruneSent(keepMs = 7 * 86_400_000) {
  const before = new Date(Date.now() - keepMs).toISOString();
  for (const v of await visits()) if (v.state === 'sent' && v.sent_at && v.sent_at < before) await deleteVisit(v.id);
}

/** Everything of the signed-in worker, on log-out: nothing of one worker stays for the next. */
export async function wipe() {
  const d = await db();
  for (const name of ['meta', 'tasks', 'households', 'forms', 'drafts', 'visits', 'photos']) await d.clear(name);
}

/** Bytes of photo blobs held, and the browser's own estimate of the origin's storage. */
export async function usage() {
  let photoBytes = 0;
  let count = 0;
  const d = await db();
  let cursor = await d.transaction('photos').store.openCursor();
  while (cursor) {
    photoBytes += cursor.value.size ?? cursor.value.blob?.size ?? 0;
    count += cursor.value.blob ? 1 : 0;
    cursor = await cursor.continue();
  }
  const estimate = navigator.storage?.estimate ? await navigator.storage.estimate() : null;
  const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : false;
  return { photoBytes, photoCount: count, usage: estimate?.usage ?? null, quota: estimate?.quota ?? null, persisted };
}
