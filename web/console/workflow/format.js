// What the shared time helpers (shared/time.js) leave to the workflow screens.

/** Monday-to-Friday days after `from` up to `to` (China dates; negative when `to` is earlier).
 * The server's limits already count holidays and adjusted working days; this is only the
 * countdown to them, and the screen says it counts weekdays. */
export function weekdaysBetween(from, to) {
  const sign = to >= from ? 1 : -1;
  const [a, b] = sign > 0 ? [from, to] : [to, from];
  let n = 0;
  for (let d = Date.parse(`${a}T00:00:00Z`) + 86400e3; d <= Date.parse(`${b}T00:00:00Z`); d += 86400e3) {
    const wd = new Date(d).getUTCDay();
    if (wd !== 0 && wd !== 6) n++;
  }
  return sign * n;
}

/** A short id for people to read out: its last 6 characters. */
export const shortId = (id) => (id ? String(id).slice(-6) : '—');
