// The phone's position for a visit: watchPosition until a fix is as good as the server wants
// (accuracy ≤ 30 m) or the time is up, keeping the best fix seen. Positions stay WGS-84 as the
// browser gives them; the grid map draws the project's own WGS-84 boundaries, so nothing here is
// converted to GCJ-02 (that would be for a Chinese base map, for display only).

import { signal } from '../shared/html.js';

export const GOOD_ACCURACY_M = 30;
export const FIX_TIMEOUT_MS = 60_000;

/** The last fix the app saw: { lat, lon, accuracy_m, fix_time }. */
export const lastFix = signal(null);

function toFix(pos) {
  return {
    lat: pos.coords.latitude,
    lon: pos.coords.longitude,
    accuracy_m: Math.round(pos.coords.accuracy * 10) / 10,
    fix_time: new Date(pos.timestamp || Date.now()).toISOString(),
  };
}

/**
 * Resolves with the best fix within `timeoutMs` (sooner once one is ≤ GOOD_ACCURACY_M); `onFix`
 * sees every improvement. Rejects when no fix came at all (denied, unavailable, time-out).
 */
export function locate({ timeoutMs = FIX_TIMEOUT_MS, onFix } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error('no_geolocation'));
      return;
    }
    let best = null;
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      navigator.geolocation.clearWatch(watch);
      clearTimeout(timer);
      if (best) resolve(best);
      else reject(err ?? new Error('timeout'));
    };
    const watch = navigator.geolocation.watchPosition((pos) => {
      const fix = toFix(pos);
      if (!best || fix.accuracy_m <= best.accuracy_m) {
        best = fix;
        lastFix.value = fix;
        onFix?.(fix);
      }
      if (fix.accuracy_m <= GOOD_ACCURACY_M) finish();
    }, (err) => {
      if (err.code === err.PERMISSION_DENIED) finish(new Error('denied'));
    }, { enableHighAccuracy: true, maximumAge: 0, timeout: timeoutMs });
    const timer = setTimeout(() => finish(), timeoutMs);
  });
}

/** Metres between two WGS-84 points (haversine, mean Earth radius, as the server measures). */
export function distanceM(a, b) {
  if (!a || !b) return null;
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function fmtDistance(m) {
  if (m === null || m === undefined) return '';
  return m < 1000 ? `${Math.round(m)} 米` : `${(m / 1000).toFixed(1)} 公里`;
}
