// Time ranges as Grafana writes them: "now-6h", "now/d", "now-1d/d", epoch ms, ISO strings.

export interface RawRange {
  from: string;
  to: string;
}
export interface TimeRange {
  from: number; // epoch ms
  to: number;
  raw: RawRange;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Parse "30s", "5m", "1h", "2d" to ms (undefined when not a duration). */
export function parseDuration(s: string | undefined | null): number | undefined {
  if (!s) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|M|y)\s*$/.exec(String(s));
  if (!m) return undefined;
  return parseFloat(m[1]) * UNIT_MS[m[2]];
}

/** Format a duration in ms the way Grafana's intervals read: 15s, 1m, 2h, 1d. */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ["y", UNIT_MS.y],
    ["w", UNIT_MS.w],
    ["d", UNIT_MS.d],
    ["h", UNIT_MS.h],
    ["m", UNIT_MS.m],
    ["s", UNIT_MS.s],
  ];
  for (const [u, size] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size}${u}`;
  }
  if (ms >= 1000) return `${Math.round(ms / 1000)}s`;
  return `${Math.max(1, Math.round(ms))}ms`;
}

// ---- time zone aware calendar helpers ---------------------------------------------------

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
}

const dtfCache = new Map<string, Intl.DateTimeFormat>();
function dtf(tz: string): Intl.DateTimeFormat {
  let f = dtfCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    dtfCache.set(tz, f);
  }
  return f;
}

export function resolveTz(tz: string | undefined | null): string | undefined {
  if (!tz || tz === "browser" || tz === "") return undefined; // local
  if (tz === "utc") return "UTC";
  try {
    dtf(tz);
    return tz;
  } catch {
    return undefined;
  }
}

function toParts(ms: number, tz?: string): Parts {
  if (!tz) {
    const d = new Date(ms);
    return { y: d.getFullYear(), mo: d.getMonth(), d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds(), ms: d.getMilliseconds() };
  }
  const p: Record<string, number> = {};
  for (const x of dtf(tz).formatToParts(new Date(ms))) {
    if (x.type !== "literal") p[x.type] = parseInt(x.value, 10);
  }
  return { y: p.year, mo: p.month - 1, d: p.day, h: p.hour % 24, mi: p.minute, s: p.second, ms: ((ms % 1000) + 1000) % 1000 };
}

function fromParts(p: Parts, tz?: string): number {
  if (!tz) return new Date(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms).getTime();
  // Guess as UTC, then correct by the zone's offset at that instant (twice for DST edges).
  let guess = Date.UTC(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms);
  for (let i = 0; i < 2; i++) {
    const q = toParts(guess, tz);
    const asUtc = Date.UTC(q.y, q.mo, q.d, q.h, q.mi, q.s, q.ms);
    guess += Date.UTC(p.y, p.mo, p.d, p.h, p.mi, p.s, p.ms) - asUtc;
  }
  return guess;
}

function roundTo(ms: number, unit: string, up: boolean, tz?: string, weekStart = 1): number {
  const p = toParts(ms, tz);
  const start = { ...p };
  switch (unit) {
    case "y":
      Object.assign(start, { mo: 0, d: 1, h: 0, mi: 0, s: 0, ms: 0 });
      break;
    case "M":
      Object.assign(start, { d: 1, h: 0, mi: 0, s: 0, ms: 0 });
      break;
    case "w": {
      const dow = new Date(Date.UTC(p.y, p.mo, p.d)).getUTCDay();
      const back = (dow - weekStart + 7) % 7;
      Object.assign(start, { d: p.d - back, h: 0, mi: 0, s: 0, ms: 0 });
      break;
    }
    case "d":
      Object.assign(start, { h: 0, mi: 0, s: 0, ms: 0 });
      break;
    case "h":
      Object.assign(start, { mi: 0, s: 0, ms: 0 });
      break;
    case "m":
      Object.assign(start, { s: 0, ms: 0 });
      break;
    case "s":
      Object.assign(start, { ms: 0 });
      break;
  }
  if (!up) return fromParts(start, tz);
  const end = { ...start };
  switch (unit) {
    case "y":
      end.y += 1;
      break;
    case "M":
      end.mo += 1;
      break;
    case "w":
      end.d += 7;
      break;
    case "d":
      end.d += 1;
      break;
    case "h":
      end.h += 1;
      break;
    case "m":
      end.mi += 1;
      break;
    case "s":
      end.s += 1;
      break;
  }
  return fromParts(end, tz) - 1;
}

function addUnit(ms: number, n: number, unit: string, tz?: string): number {
  if (unit === "M" || unit === "y" || unit === "d" || unit === "w") {
    const p = toParts(ms, tz);
    if (unit === "M") p.mo += n;
    else if (unit === "y") p.y += n;
    else if (unit === "w") p.d += 7 * n;
    else p.d += n;
    return fromParts(p, tz);
  }
  return ms + n * UNIT_MS[unit];
}

/** Parse one end of a range; `up` rounds "/d" to the end of the day (for "to"). */
export function parseTime(text: string | number, up: boolean, now: number, tz?: string): number | undefined {
  if (typeof text === "number") return text;
  const s = String(text).trim();
  if (/^\d+$/.test(s)) {
    const n = parseInt(s, 10);
    return s.length === 8 ? undefined : n; // YYYYMMDD is ambiguous: not supported
  }
  if (s.startsWith("now")) {
    let t = now;
    let rest = s.slice(3);
    const re = /^([+-])(\d+)(ms|s|m|h|d|w|M|y)|^\/(s|m|h|d|w|M|y)/;
    while (rest.length) {
      const m = re.exec(rest);
      if (!m) return undefined;
      if (m[4]) t = roundTo(t, m[4], up, tz);
      else t = addUnit(t, (m[1] === "-" ? -1 : 1) * parseInt(m[2], 10), m[3], tz);
      rest = rest.slice(m[0].length);
    }
    return t;
  }
  const iso = Date.parse(s);
  if (!isNaN(iso)) return iso;
  // "2024-01-02 10:00:00" as written in the picker, in the dashboard's zone
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (m) {
    return fromParts({ y: +m[1], mo: +m[2] - 1, d: +m[3], h: +(m[4] || 0), mi: +(m[5] || 0), s: +(m[6] || 0), ms: 0 }, tz);
  }
  return undefined;
}

export function resolveRange(raw: RawRange, tzName?: string, now = Date.now()): TimeRange {
  const tz = resolveTz(tzName);
  const from = parseTime(raw.from, false, now, tz) ?? now - 6 * 3_600_000;
  const to = parseTime(raw.to, true, now, tz) ?? now;
  return { from: Math.min(from, to), to: Math.max(from, to), raw };
}

export function isRelative(raw: RawRange): boolean {
  return String(raw.from).startsWith("now") || String(raw.to).startsWith("now");
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export function formatDate(ms: number, tzName?: string, withSeconds = true): string {
  const p = toParts(ms, resolveTz(tzName));
  const base = `${p.y}-${pad(p.mo + 1)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}`;
  return withSeconds ? `${base}:${pad(p.s)}` : base;
}

/** Short label for an axis tick. */
export function formatTick(ms: number, spanMs: number, tzName?: string): string {
  const p = toParts(ms, resolveTz(tzName));
  if (spanMs > 365 * 86_400_000) return `${p.y}-${pad(p.mo + 1)}`;
  if (spanMs > 3 * 86_400_000) return `${pad(p.mo + 1)}/${pad(p.d)}`;
  if (spanMs > 86_400_000) return `${pad(p.mo + 1)}/${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}`;
  if (spanMs > 5 * 60_000) return `${pad(p.h)}:${pad(p.mi)}`;
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

export const QUICK_RANGES: { from: string; to: string; display: string }[] = [
  { from: "now-5m", to: "now", display: "Last 5 minutes" },
  { from: "now-15m", to: "now", display: "Last 15 minutes" },
  { from: "now-30m", to: "now", display: "Last 30 minutes" },
  { from: "now-1h", to: "now", display: "Last 1 hour" },
  { from: "now-3h", to: "now", display: "Last 3 hours" },
  { from: "now-6h", to: "now", display: "Last 6 hours" },
  { from: "now-12h", to: "now", display: "Last 12 hours" },
  { from: "now-24h", to: "now", display: "Last 24 hours" },
  { from: "now-2d", to: "now", display: "Last 2 days" },
  { from: "now-7d", to: "now", display: "Last 7 days" },
  { from: "now-30d", to: "now", display: "Last 30 days" },
  { from: "now-90d", to: "now", display: "Last 90 days" },
  { from: "now-1y", to: "now", display: "Last 1 year" },
  { from: "now/d", to: "now/d", display: "Today" },
  { from: "now-1d/d", to: "now-1d/d", display: "Yesterday" },
  { from: "now/w", to: "now/w", display: "This week" },
  { from: "now/M", to: "now/M", display: "This month" },
];

export function describeRange(raw: RawRange, tzName?: string): string {
  const q = QUICK_RANGES.find((r) => r.from === raw.from && r.to === raw.to);
  if (q) return q.display;
  const m = /^now-(\d+)(s|m|h|d|w|M|y)$/.exec(String(raw.from));
  if (m && raw.to === "now") {
    const names: Record<string, string> = { s: "second", m: "minute", h: "hour", d: "day", w: "week", M: "month", y: "year" };
    return `Last ${m[1]} ${names[m[2]]}${m[1] === "1" ? "" : "s"}`;
  }
  const r = resolveRange(raw, tzName);
  const show = (s: string, ms: number) => (String(s).startsWith("now") ? s : formatDate(ms, tzName));
  return `${show(raw.from, r.from)} to ${show(raw.to, r.to)}`;
}

/** Grafana's interval rounding: a "nice" interval close to range/points, at least minMs. */
export function calcInterval(rangeMs: number, maxPoints: number, minMs = 0): number {
  const raw = Math.max(rangeMs / Math.max(1, maxPoints), minMs, 1);
  const nice = [
    1, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    900_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000,
    2_592_000_000, 31_536_000_000,
  ];
  for (const n of nice) if (n >= raw) return n;
  return raw;
}
