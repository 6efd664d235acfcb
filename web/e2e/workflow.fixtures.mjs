// What the workflow tests need from the demo city, found through the public API (never the
// database): units and people of the coordinator's community, and — where the seeded activity
// holds none — a flagged visit or an application at a given step, made through the same API a
// phone and an officer use.

import { randomUUID } from 'node:crypto';
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
export function homeVisitAnswers(lat, lon, day) {
  const photo = randomUUID();
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

/** A household of worker1's grid with a registered position, and worker1. */
export async function workerHousehold(server, tk) {
  const worker = await me(server, tk.worker1);
  const households = await all(server, tk.coordinator, '/households', { grid_id: worker.org_unit_id }, 2);
  for (const h of households) {
    const full = await apiCall(server, tk.coordinator, 'GET', `/households/${h.id}`);
    if (full.location) return { worker, household: full };
  }
  throw new Error('no household with a position in worker1’s grid');
}

/**
 * A home visit submitted by worker1 through the API as a phone would: a task assigned by the
 * coordinator, the answers, and a fix `offsetM` metres north of the household (far enough, and
 * the server flags it). `staff`: the other staff present.
 */
export async function submitVisit(server, tk, { household, worker, offsetM = 0, staff = [], accuracy = 8 }) {
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
    answers: homeVisitAnswers(lat, lon, chinaDate(0, started)),
    location: { lat, lon, accuracy_m: accuracy, fix_time: new Date(now - 20 * 60e3).toISOString(), mock: false },
    started_at: new Date(started).toISOString(),
    finished_at: new Date(now - 5 * 60e3).toISOString(),
    photo_ids: [],
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
