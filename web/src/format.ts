/** Dates as the seed shows them, in the browser's timezone. */

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DD HH:MM` in local time (Logs grid). */
export function formatTimestamp(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** e.g. `UTC+02:00 Europe/Warsaw` (Last Update tile). */
export function timezoneLabel(at: Date = new Date()): string {
  const offset = -at.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)} ${zone}`.trim();
}

/** Minutes east of UTC, for the server's day buckets (syncActivity). */
export function utcOffsetMinutes(): number {
  return -new Date().getTimezoneOffset();
}

export function shortDay(isoDay: string): string {
  const [, m, d] = isoDay.split("-");
  return `${m}-${d}`;
}
