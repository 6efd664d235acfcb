// Resumable photo uploads (server/src/routes/photos/uploads.rs): POST /uploads names the photo,
// its length and SHA-256; PATCH /uploads/{id} appends chunks at Upload-Offset. Each chunk is
// committed by the server before it moves the offset, so after a reload, a lost connection or a
// server restart, HEAD says where to go on and only the rest is sent again.

import { request, api, ApiError } from './net.js';
import { photo as getPhoto, updatePhoto } from './store.js';

/** Bytes per PATCH: small enough that a dropped connection loses little on a weak network. */
export let CHUNK = 256 * 1024;
export function setChunk(n) { CHUNK = n; }

/** Where the server's copy stands: its committed offset, or null when it has no such upload. */
async function serverOffset(uploadId) {
  try {
    const res = await request('HEAD', `/uploads/${uploadId}`);
    return Number(res.headers.get('Upload-Offset'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Uploads in progress by photo id: a second caller joins the first (two PATCHes of one upload collide). */
const inflight = new Map();

export function uploadPhoto(id, options) {
  if (!inflight.has(id)) inflight.set(id, send(id, options).finally(() => inflight.delete(id)));
  return inflight.get(id);
}

/**
 * Sends one queued photo to the end. Returns the server's Photo. Throws ApiError: retryable ones
 * (network, 5xx, 408, 429) leave the upload where the server has it.
 */
async function send(id, { onProgress } = {}) {
  let p = await getPhoto(id);
  if (!p) throw new ApiError(0, 'photo_missing', '照片已不在手机上 / the photo is no longer on the phone');
  if (p.state === 'sent') return p.server;
  let offset = null;
  // No upload yet, or the server's expired (or it completed and the answer was lost: then the
  // last PATCH of a new one answers 200 with the photo stored before).
  const begin = async () => {
    const up = await api('POST', '/uploads', { body: { photo_id: p.id, length: p.blob.size, sha256: p.sha256 } });
    await updatePhoto(id, { upload_id: up.id });
    p = { ...p, upload_id: up.id };
    offset = up.offset;
  };
  if (p.upload_id) offset = await serverOffset(p.upload_id);
  if (offset === null) await begin();
  let begunAgain = false;
  for (;;) {
    const end = Math.min(p.blob.size, offset + CHUNK);
    let res;
    try {
      res = await request('PATCH', `/uploads/${p.upload_id}`, {
        body: p.blob.slice(offset, end),
        headers: { 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.code === 'offset_mismatch') {
        const at = e.headers?.get('Upload-Offset');
        // Without the header another request holds the upload: ask again later, from HEAD.
        if (at === null || at === undefined) throw new ApiError(503, 'busy', e.message, { retryAfter: 2 });
        offset = Number(at);
        continue;
      }
      // The upload is gone: it expired, or an earlier copy of this PATCH completed it and its
      // answer was lost (a browser sends a request again by itself when its reused connection
      // dies before any answer). Once per photo and pass, begin again instead of giving up.
      if (e instanceof ApiError && e.status === 404 && !begunAgain) {
        begunAgain = true;
        await begin();
        continue;
      }
      throw e;
    }
    if (res.status === 204) {
      offset = Number(res.headers.get('Upload-Offset') ?? end);
      await updatePhoto(id, { offset });
      onProgress?.(offset, p.blob.size);
      continue;
    }
    const server = await res.json();
    await updatePhoto(id, { state: 'sent', offset: p.blob.size, server: { id: server.id, sha256: server.sha256 } });
    onProgress?.(p.blob.size, p.blob.size);
    return server;
  }
}
