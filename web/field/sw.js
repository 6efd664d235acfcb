// The field app's service worker: precaches the shell the server lists at /field/shell.json (one
// cache per build) and serves it when there is no network. The API is never cached: what the app
// needs offline lives in IndexedDB. The server writes the build into BUILD below, so each new build
// is a new worker and the old build's cache goes when it takes over.

const BUILD = '__V__';
const CACHE = `field-shell:${BUILD}`;
// Debug builds are all called "dev" while their files change under them: refresh the cache behind each answer.
const DEV = BUILD.endsWith('/dev');
const MANIFEST = '/field/manifest.webmanifest';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const res = await fetch('/field/shell.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`shell.json: HTTP ${res.status}`);
    const { files } = await res.json();
    // The manifest lives beside the page, unversioned; the browser asks for it on every opening.
    files.push(MANIFEST);
    const cache = await caches.open(CACHE);
    await cache.addAll(files.map((f) => new Request(f, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('field-shell:') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function keyOf(request) {
  return request.mode === 'navigate' ? '/field/' : new URL(request.url).pathname;
}

/**
 * The cached copy at once, and a fresh one fetched behind it for the next opening: a worker on a
 * weak signal must not wait on the network to see the day's tasks. A new build is a new worker
 * (this file names the build), so the old page and its assets stay consistent until it takes over.
 */
async function staleWhileRevalidate(event) {
  const request = event.request;
  const cache = await caches.open(CACHE);
  const hit = await cache.match(keyOf(request));
  const fresh = fetch(request).then((res) => {
    if (res.ok) return cache.put(keyOf(request), res.clone()).then(() => res);
    return res;
  });
  if (hit) {
    event.waitUntil(fresh.catch(() => {}));
    return hit;
  }
  return fresh;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) return;
  const page = request.mode === 'navigate' && url.pathname.startsWith('/field/');
  const shell = url.pathname.startsWith('/v/') || page || url.pathname === MANIFEST;
  if (!shell) return;
  if (page || DEV || url.pathname === MANIFEST) {
    event.respondWith(staleWhileRevalidate(event));
    return;
  }
  // A versioned file never changes: the cache answers, the network only for a file not precached.
  event.respondWith(caches.open(CACHE).then((c) => c.match(keyOf(request))).then((hit) => hit || fetch(request)));
});
