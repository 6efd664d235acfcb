// Who and where, for lists that carry only ids: the caller's accounts in scope (names of workers
// and staff) and households (address, head, grid), each fetched once per page life and shared by
// the workflow screens.

import { html, useEffect, useState } from '../../shared/html.js';
import { get, getAll } from '../../shared/api.js';
import { t } from '../../shared/i18n.js';

let usersPromise = null;
let usersOf = null;

/** Accounts in the caller's scope by id (Map). Roles that may not list users get an empty map. */
export function usersById(me) {
  if (!['admin', 'district_officer', 'street_officer', 'coordinator'].includes(me?.role)) return Promise.resolve(new Map());
  if (usersOf !== me.id) {
    usersOf = me.id;
    usersPromise = null;
    households.clear();
  }
  if (!usersPromise) {
    usersPromise = getAll('/users', {}, { limit: 500, maxPages: 20 }).then((list) => new Map(list.map((u) => [u.id, u])));
    usersPromise.catch(() => { usersPromise = null; });
  }
  return usersPromise;
}

/** Forget the cached accounts (after a log-out, a new user is another scope). */
export function forgetPeople() {
  usersPromise = null;
  households.clear();
}

const households = new Map();

/** One household (cached); rejects like the API (404 outside scope). */
export function household(id) {
  if (!households.has(id)) {
    const p = get(`/households/${id}`);
    p.catch(() => households.delete(id));
    households.set(id, p);
  }
  return households.get(id);
}

/** Loads the households of `ids` a few at a time (a board shows dozens). */
export async function householdsOf(ids, { concurrency = 4 } = {}) {
  const queue = [...new Set(ids.filter(Boolean))];
  const out = new Map();
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      try { out.set(id, await household(id)); } catch { out.set(id, null); }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** The household's head and address in one line. */
export function householdLine(h) {
  if (!h) return '';
  const head = h.members?.find((m) => m.id === h.head_member_id)?.name ?? h.head_name ?? h.members?.[0]?.name;
  return `${head ? `${head} · ` : ''}${h.address}`;
}

/** A household's line, loaded on demand; a link to its card. */
export function HouseholdName({ id, link = true }) {
  const [h, setH] = useState(undefined);
  useEffect(() => {
    let live = true;
    if (id) household(id).then((x) => live && setH(x), () => live && setH(null));
    return () => { live = false; };
  }, [id]);
  if (!id) return html`<span class="muted">${t('无住户（网格外自报）', 'No household (reported outside every grid)')}</span>`;
  const text = h === undefined ? '…' : h === null ? `#${id.slice(-6)}` : householdLine(h);
  return link ? html`<a href=${`#/households/${id}`} onClick=${(e) => e.stopPropagation()}>${text}</a>` : html`<span>${text}</span>`;
}

/** A user's display name from the map (or the id's tail when out of sight). */
export function userName(users, id) {
  if (!id) return '—';
  const u = users?.get?.(id);
  return u ? u.display_name : `#${String(id).slice(-6)}`;
}
