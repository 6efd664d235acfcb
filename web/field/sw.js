// The field app's service worker: precaches the shell the server lists at /field/shell.json (one
// cache per build) and serves it when there is no network. The API is never cached: what the app
// needs offline lives in IndexedDB. The server writes the build into BUILD below, so each new build
// is a new worker and the old build's cache goes when it takes over.

const BUILD = '__V__';
const CACHE = `field-shell:${BUILD}`;
// Debug builds are all called "dev" while their files change under them: ask the network first.
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

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  // The page is cached under /field/ whatever its hash or query.
  const url = new URL(request.url);
  const key = request.mode === 'navigate' ? '/field/' : url.pathname;
  return cache.match(key);
}

// A page on a weak signal should not hang on the network: after this long the cached shell answers.
const PAGE_PATIENCE_MS = 3000;

function patiently(request) {
  if (request.mode !== 'navigate') return fetch(request);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('slow network')), PAGE_PATIENCE_MS);
    fetch(request).then((r) => { clearTimeout(timer); resolve(r); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

async function networkFirst(request) {
  try {
    const res = await patiently(request);
    if (res.ok && request.method === 'GET') {
      const copy = res.clone();
      const url = new URL(request.url);
      const key = request.mode === 'navigate' ? '/field/' : url.pathname;
      caches.open(CACHE).then((c) => c.put(key, copy)).catch(() => {});
    }
    return res;
  } catch (e) {
    const hit = await fromCache(request);
    if (hit) return hit;
    throw e;
  }
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
    event.respondWith(networkFirst(request));
    return;
  }
  // A versioned file never changes: the cache answers, the network only for a file not precached.
  event.respondWith(fromCache(request).then((hit) => hit || fetch(request)));
});
