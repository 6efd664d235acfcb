// Photos are shrunk on the phone before they leave it: a 12 MP picture is 4–8 MB, the shrunk JPEG a
// few hundred KB, which is what a weak 4G link can carry. The canvas applies the EXIF orientation and
// drops every piece of metadata (the citizen's home position among them): a self-report's place is
// the location the citizen chose, not the photo's.

export const MAX_SIDE = 1600;
export const QUALITY = 0.85;

async function decode(file) {
  if (typeof createImageBitmap === 'function') {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch { /* an older WebView: fall back to an <img> */ }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The size that fits a w×h picture within MAX_SIDE on its longer side (never enlarged). */
export function fitted(w, h, max = MAX_SIDE) {
  const scale = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/** A JPEG Blob of the picture at most MAX_SIDE px on its longer side, with its shrunk size. */
export async function shrink(file) {
  const image = await decode(file);
  const w = image.width ?? image.naturalWidth;
  const h = image.height ?? image.naturalHeight;
  if (!w || !h) throw new Error('unreadable image');
  const size = fitted(w, h);
  const canvas = document.createElement('canvas');
  canvas.width = size.width;
  canvas.height = size.height;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // a transparent PNG becomes white, not black
  ctx.fillRect(0, 0, size.width, size.height);
  ctx.drawImage(image, 0, 0, size.width, size.height);
  image.close?.();
  const blob = await new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/jpeg', QUALITY);
  });
  return { blob, width: size.width, height: size.height, original: { width: w, height: h, bytes: file.size } };
}
