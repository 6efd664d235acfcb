// What the screens share: the route, the network, the sync's state, and refresh() (sync, then send).

import { signal } from '../shared/html.js';
import { session, ApiError } from './net.js';
import { sync } from './sync.js';
import { push } from './outbox.js';

/** `#/task/ID` → ['task', 'ID']. */
export const route = signal(parseHash());
function parseHash() {
  return (location.hash.replace(/^#\/?/, '') || 'tasks').split('/').filter(Boolean);
}
window.addEventListener('hashchange', () => { route.value = parseHash(); window.scrollTo(0, 0); });

export function go(path) {
  location.hash = `#/${path}`;
}

export const online = signal(navigator.onLine);
/** { state: 'idle' | 'syncing' | 'done' | 'error', at, error } */
export const syncState = signal({ state: 'idle' });
/** Bumped after each sync, so screens re-read the store. */
export const dataTick = signal(0);

let syncing = null;

/** Sync, then send the outbox. One at a time; a second call joins the running one. */
export function refresh({ force = true } = {}) {
  if (!session.value) return Promise.resolve();
  if (!syncing) {
    syncing = (async () => {
      syncState.value = { state: 'syncing' };
      try {
        // Visits first: what the worker did matters more than what is new, and a sent visit's task
        // then leaves the list in the same sync.
        const sent = await push({ force });
        if (sent.unauthorized) throw new ApiError(401, 'token_expired', '登录已过期 / session expired');
        const report = await sync();
        syncState.value = { state: 'done', at: new Date().toISOString(), report };
      } catch (e) {
        syncState.value = { state: 'error', at: new Date().toISOString(), error: e };
        if (e instanceof ApiError && e.status === 401) session.value = { ...session.value, expired: true };
      } finally {
        dataTick.value++;
        syncing = null;
      }
    })();
  }
  return syncing;
}

export function listenToNetwork() {
  window.addEventListener('online', () => { online.value = true; refresh(); });
  window.addEventListener('offline', () => { online.value = false; });
}

