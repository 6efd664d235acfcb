// Photos on the phone: shrunk to at most 1600 px as JPEG before they are queued, and since a canvas
// drops the metadata, the original's EXIF block (APP1) is carried into the shrunk file with its
// Orientation set to 1 (the canvas has already turned the picture upright). The server then reads
// position and time from the shrunk file exactly as from an original.

export const MAX_SIDE = 1600;
export const QUALITY = 0.85;

/** The APP1 "Exif" segment of a JPEG (marker included), or null. */
export function findExif(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1];
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { i += 2; continue; }
    if (marker === 0xda || marker === 0xd9) return null; // image data: no metadata after this
    const len = (bytes[i + 2] << 8) | bytes[i + 3];
    if (marker === 0xe1 && len >= 8 && bytes[i + 4] === 0x45 && bytes[i + 5] === 0x78 && bytes[i + 6] === 0x69
        && bytes[i + 7] === 0x66 && bytes[i + 8] === 0 && bytes[i + 9] === 0) {
      return bytes.slice(i, i + 2 + len);
    }
    i += 2 + len;
  }
  return null;
}

/** Sets the Orientation tag (0x0112) of IFD0 to 1 inside an APP1 segment, in place. Returns the old value. */
export function resetOrientation(app1) {
  const tiff = 10; // FF E1, length (2), "Exif\0\0"
  const view = new DataView(app1.buffer, app1.byteOffset, app1.byteLength);
  if (app1.length < tiff + 8) return null;
  const little = view.getUint16(tiff) === 0x4949;
  const u16 = (o) => view.getUint16(o, little);
  const u32 = (o) => view.getUint32(o, little);
  const ifd0 = tiff + u32(tiff + 4);
  if (ifd0 + 2 > app1.length) return null;
  const n = u16(ifd0);
  for (let k = 0; k < n; k++) {
    const e = ifd0 + 2 + k * 12;
    if (e + 12 > app1.length) return null;
    if (u16(e) === 0x0112) {
      const old = u16(e + 8);
      view.setUint16(e + 8, 1, little);
      return old;
    }
  }
  return null;
}

/** A JPEG's bytes with `app1` placed right after SOI (the canvas's own JFIF APP0 dropped). */
export function withExif(jpeg, app1) {
  let rest = 2;
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) rest = 4 + ((jpeg[4] << 8) | jpeg[5]);
  const out = new Uint8Array(2 + app1.length + (jpeg.length - rest));
  out.set([0xff, 0xd8], 0);
  out.set(app1, 2);
  out.set(jpeg.subarray(rest), 2 + app1.length);
  return out;
}

async function decode(file) {
  // The browser turns the picture by its EXIF orientation while decoding.
  if (typeof createImageBitmap === 'function') {
    try { return await createImageBitmap(file, { imageOrientation: 'from-image' }); } catch { /* fall back to <img> */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Shrinks a taken photo: { blob, width, height, exif (bool), original_size }. A photo already
 * small enough is still re-encoded, so every queued photo is a plain JPEG the server reads the same way.
 */
export async function shrink(file, { maxSide = MAX_SIDE, quality = QUALITY } = {}) {
  const head = new Uint8Array(await file.slice(0, 256 * 1024).arrayBuffer());
  const app1 = findExif(head);
  const image = await decode(file);
  const w0 = image.width;
  const h0 = image.height;
  const scale = Math.min(1, maxSide / Math.max(w0, h0));
  const width = Math.max(1, Math.round(w0 * scale));
  const height = Math.max(1, Math.round(h0 * scale));
  let blob;
  if (typeof OffscreenCanvas === 'function') {
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(image, 0, 0, width, height);
    blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(image, 0, 0, width, height);
    blob = await new Promise((res) => canvas.toBlob(res, 'image/jpeg', quality));
  }
  image.close?.();
  if (app1) {
    const exif = app1.slice();
    resetOrientation(exif);
    blob = new Blob([withExif(new Uint8Array(await blob.arrayBuffer()), exif)], { type: 'image/jpeg' });
  }
  return { blob, width, height, exif: Boolean(app1), original_size: file.size };
}

export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
