// Sync as the SDK does it (mobile-api/src/store.rs): pages from the stored cursor until the server
// has nothing more; a cursor the server refuses is dropped and the full set fetched instead. The
// worker's grid (its boundary, for the map) comes along when the network is there.

import { api, ApiError, session } from './net.js';
import { applySync, getMeta, setMeta, form, putForm, tasks } from './store.js';

export async function sync() {
  const report = { pages: 0, tasks: 0, households: 0, forms: 0, removed: 0 };
  let cursor = (await getMeta('cursor')) ?? null;
  for (let guard = 0; guard < 1000; guard++) {
    let page;
    try {
      page = await api('GET', `/sync${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
    } catch (e) {
      if (cursor && e instanceof ApiError && e.status === 400) {
        cursor = null;
        continue;
      }
      throw e;
    }
    await applySync(page, cursor === null);
    report.pages++;
    report.tasks += page.tasks.length;
    report.households += page.households.length;
    report.forms += page.forms.length;
    report.removed += page.tombstones.length;
    cursor = page.cursor;
    if (!page.has_more) break;
  }
  await pinForms();
  await refreshGrid();
  await setMeta('synced_at', new Date().toISOString());
  return report;
}

/** Every task's pinned form version is on the phone (sync brings them; this fills any gap). */
async function pinForms() {
  for (const t of await tasks()) {
    if (t.form_version === null || t.form_version === undefined) continue;
    if (await form(t.form_key, t.form_version)) continue;
    const fv = await api('GET', `/forms/${encodeURIComponent(t.form_key)}/versions/${t.form_version}`);
    await putForm(fv.key, fv.version, fv.definition);
  }
}

async function refreshGrid() {
  const unit = session.value?.user?.org_unit_id;
  if (!unit) return;
  try {
    const grid = await api('GET', `/org-units/${unit}`);
    await setMeta('grid', grid);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 0) throw e;
    // A unit without a boundary or out of reach is not a reason to fail the sync.
  }
}
