// Times are stored and sent in UTC; people read them in Asia/Shanghai whatever the browser's zone.
// Plain dates ("2026-12-06", a due date or a notice's last day) are calendar dates already and are
// shown as they are.

import { lang, t } from './i18n.js';

export const ZONE = 'Asia/Shanghai';
const DAY = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

const parts = new Intl.DateTimeFormat('en-CA', {
  timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

function toDate(v) {
  if (v === null || v === undefined || v === '') return null;
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v : DATE_ONLY.test(v) ? `${v}T00:00:00+08:00` : v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** {year, month, day, hour, minute, second} of an instant on Shanghai's clock. */
export function shanghaiParts(v) {
  const d = toDate(v);
  if (!d) return null;
  const o = {};
  for (const p of parts.formatToParts(d)) if (p.type !== 'literal') o[p.type] = Number(p.value);
  return o;
}

const pad = (n) => String(n).padStart(2, '0');

/** `2026-12-07` for a UTC instant (Shanghai's calendar), or a date-only string as it is. */
export function fmtDate(v) {
  if (typeof v === 'string' && DATE_ONLY.test(v)) return v;
  const p = shanghaiParts(v);
  return p ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : '';
}

/** `2026-12-07 08:30` on Shanghai's clock. */
export function fmtDateTime(v, { seconds = false } = {}) {
  if (typeof v === 'string' && DATE_ONLY.test(v)) return v;
  const p = shanghaiParts(v);
  if (!p) return '';
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}${seconds ? `:${pad(p.second)}` : ''}`;
}

/** Today's date in Shanghai, `YYYY-MM-DD`. */
export function todayShanghai(now = new Date()) {
  return fmtDate(now);
}

/** Whole calendar days from date a to date b in Shanghai (b − a). */
export function daysBetween(a, b) {
  const da = toDate(fmtDate(a));
  const db = toDate(fmtDate(b));
  if (!da || !db) return null;
  return Math.round((db - da) / DAY);
}

/** Shanghai date n days after v. */
export function addDays(v, n) {
  const d = toDate(fmtDate(v));
  return d ? fmtDate(new Date(d.getTime() + n * DAY)) : '';
}

/** Days a due date or instant is past, on Shanghai's calendar (0 or less: not overdue). */
export function overdueDays(due, now = new Date()) {
  const n = daysBetween(due, now);
  return n === null ? 0 : n;
}

/** "逾期 3 天" / "overdue by 3 days", "今天到期", "还剩 2 天". */
export function dueWords(due, now = new Date()) {
  const n = overdueDays(due, now);
  if (n > 0) return t(`逾期 ${n} 天`, `overdue by ${n} day${n === 1 ? '' : 's'}`);
  if (n === 0) return t('今天到期', 'due today');
  return t(`还剩 ${-n} 天`, `${-n} day${n === -1 ? '' : 's'} left`);
}

/** "3 分钟前" / "3 min ago" for recent instants, the date and time for older ones. */
export function fmtRelative(v, now = new Date()) {
  const d = toDate(v);
  if (!d) return '';
  const secs = Math.round((now - d) / 1000);
  if (secs >= 0 && secs < 60) return t('刚刚', 'just now');
  if (secs >= 0 && secs < 3600) return t(`${Math.floor(secs / 60)} 分钟前`, `${Math.floor(secs / 60)} min ago`);
  if (secs >= 0 && secs < DAY / 1000) return t(`${Math.floor(secs / 3600)} 小时前`, `${Math.floor(secs / 3600)} h ago`);
  return fmtDateTime(d);
}

/** A number with thousands separators in the current language. */
export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString(lang.value === 'en' ? 'en-US' : 'zh-CN', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A ratio 0..1 as a percentage. */
export function fmtPercent(r, digits = 1) {
  if (r === null || r === undefined || Number.isNaN(Number(r))) return '—';
  return `${(Number(r) * 100).toFixed(digits)}%`;
}
