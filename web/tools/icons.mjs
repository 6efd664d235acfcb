// Draws the field app's home-screen icons (web/field/icon-192.png, icon-512.png, maskable: the
// picture keeps to the middle 80 %) as plain PNGs, so no image tool is needed to rebuild them.
//
//   node tools/icons.mjs

import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIELD = join(dirname(fileURLToPath(import.meta.url)), '..', 'field');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x / size, y / size);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b; raw[o + 3] = a;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// A white house with a red heart in its door, on the app's red: "a visit to a household in need".
const RED = [200, 40, 40, 255];
const WHITE = [255, 255, 255, 255];

function inHouse(x, y) {
  const roof = y >= 0.22 && y <= 0.47 && Math.abs(x - 0.5) <= (y - 0.22) * 1.3;
  const body = y >= 0.45 && y <= 0.78 && x >= 0.27 && x <= 0.73;
  return roof || body;
}

function inHeart(x, y) {
  // The classic implicit heart (x² + y² − 1)³ − x² y³ ≤ 0, scaled into the door.
  const u = (x - 0.5) / 0.12;
  const v = -(y - 0.62) / 0.12;
  const q = u * u + v * v - 1;
  return q * q * q - u * u * v * v * v <= 0;
}

function pixel(x, y) {
  if (inHeart(x, y)) return RED;
  if (inHouse(x, y)) return WHITE;
  return RED;
}

for (const size of [192, 512]) {
  writeFileSync(join(FIELD, `icon-${size}.png`), png(size, pixel));
}
console.log('wrote field/icon-192.png and field/icon-512.png');
