// What the workflow tests need from the demo city, found through the public API (never the
// database): units and people of the coordinator's community, and — where the seeded activity
// holds none — a flagged visit or an application at a given step, made through the same API a
// phone and an officer use.

import { randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { apiCall, apiToken } from './harness.mjs';

/** Every item of a paged list. */
export async function all(server, token, path, params = {}, max = 20) {
  const items = [];
  let after = null;
  for (let i = 0; i < max; i++) {
    const q = new URLSearchParams({ ...params, limit: '500', ...(after ? { after } : {}) });
    const page = await apiCall(server, token, 'GET', `${path}?${q}`);
    items.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  return items;
}

export const me = (server, token) => apiCall(server, token, 'GET', '/me');

/** Tokens of the demo's log-ins, by username. */
export async function tokens(server, ...usernames) {
  const out = {};
  for (const u of usernames) out[u] = await apiToken(server, u);
  return out;
}

/** China's date n days from now. */
export function chinaDate(days = 0, now = Date.now()) {
  return new Date(now + 8 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
}

/** The grids of a unit's subtree (a community's grids). */
export async function gridsUnder(server, token, unitId) {
  return all(server, token, '/org-units', { parent_id: unitId, kind: 'grid' });
}

/**
 * A home-visit answer set for `fixtures/forms/home_visit.xlsx` (the same shape as the server's
 * own tests): `day` is the visit's date in China.
 */
export function homeVisitAnswers(lat, lon, day, photo = randomUUID()) {
  const member = (name, relation, id, born, wages) => ({
    member_name: name, relation, id_number: id, birth_date: born,
    health: 'healthy', disability_level: 'none', work_status: 'employed', income_wages: wages,
  });
  return {
    visit_date: day,
    dibao_investigation: 'yes',
    staff_present: ['staff_01', 'staff_02'],
    location: { lat, lon },
    members: [
      member('张伟', 'head', idNumber('32040219750302001'), '1975-03-02', 12000),
      member('刘丽', 'spouse', idNumber('32040219781120002'), '1978-11-20', 6000),
    ],
    housing_type: 'owned', housing_area: 62.5, safety_grade: 'b',
    vehicles: 0, savings: 3000, medical_oop_12m: 9000, school_oop_12m: 0,
    hardship_causes: ['illness'], illness_detail: '长期慢性病',
    house_photo: photo, staff_signature: photo, family_signature: photo,
  };
}

/** GB 11643's check character appended to 17 digits. */
export function idNumber(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

/** Households of worker1's grid with a registered position (`skip` passed over), and worker1. */
export async function workerHousehold(server, tk, { skip = 0 } = {}) {
  const worker = await me(server, tk.worker1);
  const households = await all(server, tk.coordinator, '/households', { grid_id: worker.org_unit_id }, 2);
  let seen = 0;
  for (const h of households) {
    const full = await apiCall(server, tk.coordinator, 'GET', `/households/${h.id}`);
    if (full.location && seen++ >= skip) return { worker, household: full };
  }
  throw new Error('no household with a position in worker1’s grid');
}

/**
 * A home visit submitted by worker1 through the API as a phone would: a task assigned by the
 * coordinator, the answers, and a fix `offsetM` metres north of the household (far enough, and
 * the server flags it). `staff`: the other staff present.
 */
export async function submitVisit(server, tk, { household, worker, offsetM = 0, staff = [], accuracy = 8, photos = [] }) {
  const task = await apiCall(server, tk.coordinator, 'POST', '/tasks', {
    kind: 'visit', household_id: household.id, form_key: 'home_visit', assignee_id: worker.id, due_date: chinaDate(7),
  });
  const now = Date.now();
  const started = now - 40 * 60e3;
  const lat = household.location.lat + offsetM / 110540;
  const lon = household.location.lon;
  const body = {
    id: randomUUID(),
    task_id: task.id,
    form_key: 'home_visit',
    form_version: task.form_version ?? 1,
    answers: homeVisitAnswers(lat, lon, chinaDate(0, started), photos[0]),
    location: { lat, lon, accuracy_m: accuracy, fix_time: new Date(now - 20 * 60e3).toISOString(), mock: false },
    started_at: new Date(started).toISOString(),
    finished_at: new Date(now - 5 * 60e3).toISOString(),
    photo_ids: photos,
    staff,
  };
  return apiCall(server, tk.worker1, 'POST', '/visits', body);
}

/**
 * An open finding in the coordinator's community: one the demo seeded, or else a citizen's
 * self-report from a point of worker1's grid (routed to it as a `self_report` finding).
 */
export async function openFinding(server, tk) {
  const open = await all(server, tk.coordinator, '/findings', { state: 'open' }, 2);
  const withHousehold = open.filter((f) => f.household_id);
  if (withHousehold.length >= 2) return withHousehold;
  const { household } = await workerHousehold(server, tk);
  const citizen = tk.citizen ?? await apiToken(server, 'citizen');
  for (let i = 0; i < 2; i++) {
    await apiCall(server, citizen, 'POST', '/self-reports', {
      description: `家中老人重病，生活困难（测试 ${i}）`,
      location: { ...household.location, crs: 'wgs84' },
      contact_phone: `1380000${String(1000 + i)}`,
      address: household.address,
    });
  }
  return (await all(server, tk.coordinator, '/findings', { state: 'open' }, 2)).filter((f) => f.household_id);
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A 640×480 PNG picture (a doorway in a wall, coloured by `seed`): the photo pipeline takes PNG
 * as it takes a phone's JPEG. */
export function picture(seed = 1) {
  const w = 640;
  const h = 480;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const row = y * (w * 3 + 1);
    raw[row] = 0;
    for (let x = 0; x < w; x++) {
      const door = x > 260 && x < 380 && y > 180;
      const brick = ((Math.floor(y / 20) + Math.floor((x + (Math.floor(y / 20) % 2) * 20) / 40)) % 2) * 18;
      const i = row + 1 + x * 3;
      raw[i] = door ? 90 : (150 + brick + seed * 37) % 256;
      raw[i + 1] = door ? 60 : (110 + brick + seed * 11) % 256;
      raw[i + 2] = door ? 40 : (90 + (y >> 2) + seed * 5) % 256;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Uploads `bytes` as a photo of the worker (PUT /photos/{uuid}, as the phone does); its id. */
export async function uploadPhoto(server, token, bytes) {
  const id = randomUUID();
  const res = await fetch(`${server.url}/api/v1/photos/${id}`, {
    method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' }, body: bytes,
  });
  if (!res.ok) throw new Error(`photo upload: ${res.status} ${await res.text()}`);
  return id;
}
