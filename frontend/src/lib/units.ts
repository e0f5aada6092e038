// Value formatting by unit id, after Grafana's unit names (our own implementation).
import { formatDate } from "./time";

export interface Formatted {
  text: string;
  prefix?: string;
  suffix?: string;
}

export function toDisplayString(f: Formatted): string {
  return `${f.prefix || ""}${f.text}${f.suffix || ""}`;
}

function decimalsFor(v: number, decimals?: number | null): number {
  if (decimals !== undefined && decimals !== null && !isNaN(decimals)) return Math.max(0, Math.min(20, decimals));
  const a = Math.abs(v);
  if (a === 0 || !isFinite(a)) return 0;
  if (Number.isInteger(v)) return 0;
  // enough significant digits without noise
  const mag = Math.floor(Math.log10(a));
  return Math.max(0, Math.min(10, 2 - mag));
}

export function fixed(v: number, decimals?: number | null): string {
  if (!isFinite(v)) return isNaN(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  const d = decimalsFor(v, decimals);
  let s = v.toFixed(d);
  if (decimals === undefined || decimals === null) {
    if (s.includes(".")) s = s.replace(/\.?0+$/, "");
  }
  if (s === "-0") s = "0";
  return s;
}

function short(v: number, decimals?: number | null): Formatted {
  if (!isFinite(v)) return { text: fixed(v) };
  const a = Math.abs(v);
  if (a < 1000) return { text: fixed(v, decimals) };
  const names = ["", " K", " Mil", " Bil", " Tri", " Quadr", " Quint", " Sext", " Sept"];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1000 && i < names.length - 1) {
    x /= 1000;
    i++;
  }
  return { text: fixed(x, decimals), suffix: names[i] };
}

function si(v: number, decimals: number | null | undefined, unit: string, startIndex = 0): Formatted {
  // start index shifts for units given in k/M already (e.g. kwatt)
  const prefixes = ["p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E"];
  let i = 4 + startIndex;
  let x = v;
  if (!isFinite(x) || x === 0) return { text: fixed(x, decimals), suffix: " " + prefixes[i] + unit };
  while (Math.abs(x) >= 1000 && i < prefixes.length - 1) {
    x /= 1000;
    i++;
  }
  while (Math.abs(x) < 1 && i > 0) {
    x *= 1000;
    i--;
  }
  return { text: fixed(x, decimals), suffix: " " + prefixes[i] + unit };
}

function bin(v: number, decimals: number | null | undefined, unit: string, start = 0): Formatted {
  const p = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];
  let i = start;
  let x = v;
  while (Math.abs(x) >= 1024 && i < p.length - 1) {
    x /= 1024;
    i++;
  }
  return { text: fixed(x, decimals), suffix: " " + p[i] + unit };
}

function dec(v: number, decimals: number | null | undefined, unit: string, start = 0): Formatted {
  const p = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
  let i = start;
  let x = v;
  while (Math.abs(x) >= 1000 && i < p.length - 1) {
    x /= 1000;
    i++;
  }
  return { text: fixed(x, decimals), suffix: " " + p[i] + unit };
}

function duration(v: number, decimals: number | null | undefined, unitMs: number): Formatted {
  if (!isFinite(v)) return { text: fixed(v) };
  const ms = v * unitMs;
  const a = Math.abs(ms);
  const steps: [number, string][] = [
    [31_536_000_000, " year"],
    [604_800_000, " week"],
    [86_400_000, " day"],
    [3_600_000, " hour"],
    [60_000, " min"],
    [1000, " s"],
    [1, " ms"],
    [0.001, " µs"],
    [0.000001, " ns"],
  ];
  if (a === 0) return { text: "0", suffix: unitMs >= 1000 ? " s" : unitMs >= 1 ? " ms" : unitMs >= 0.001 ? " µs" : " ns" };
  for (const [size, name] of steps) {
    if (a >= size) {
      const x = ms / size;
      const plural = name.startsWith(" year") || name.startsWith(" week") || name.startsWith(" day") || name.startsWith(" hour");
      const t = fixed(x, decimals);
      return { text: t, suffix: plural && t !== "1" ? name + "s" : name };
    }
  }
  return { text: fixed(ms * 1e6, decimals), suffix: " ns" };
}

function dhms(v: number, unitMs: number): Formatted {
  let s = Math.floor(Math.abs(v * unitMs) / 1000);
  const neg = v < 0 ? "-" : "";
  const parts: string[] = [];
  const y = Math.floor(s / 31_536_000);
  s -= y * 31_536_000;
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (y) parts.push(`${y} year${y > 1 ? "s" : ""}`);
  if (d) parts.push(`${d} day${d > 1 ? "s" : ""}`);
  if (h) parts.push(`${h} hour${h > 1 ? "s" : ""}`);
  if (m && parts.length < 3) parts.push(`${m} minute${m > 1 ? "s" : ""}`);
  if ((s || !parts.length) && parts.length < 3) parts.push(`${s} second${s === 1 ? "" : "s"}`);
  return { text: neg + parts.slice(0, 2).join(", ") };
}

type Fmt = (v: number, d?: number | null) => Formatted;
const suffix =
  (s: string): Fmt =>
  (v, d) => ({ text: fixed(v, d), suffix: s });

const UNITS: Record<string, Fmt> = {
  none: (v, d) => ({ text: fixed(v, d) }),
  short,
  percent: suffix("%"),
  percentunit: (v, d) => ({ text: fixed(v * 100, d), suffix: "%" }),
  humidity: suffix("%H"),
  dB: suffix(" dB"),
  hex: (v) => ({ text: Math.round(v).toString(16).toUpperCase() }),
  hex0x: (v) => ({ text: "0x" + Math.round(v).toString(16).toUpperCase() }),
  sci: (v, d) => ({ text: v.toExponential(d ?? 2) }),
  locale: (v, d) => ({ text: v.toLocaleString(undefined, { maximumFractionDigits: d ?? 3 }) }),
  bytes: (v, d) => bin(v, d, "B"),
  decbytes: (v, d) => dec(v, d, "B"),
  bits: (v, d) => bin(v, d, "b"),
  decbits: (v, d) => dec(v, d, "b"),
  kbytes: (v, d) => bin(v, d, "B", 1),
  mbytes: (v, d) => bin(v, d, "B", 2),
  gbytes: (v, d) => bin(v, d, "B", 3),
  tbytes: (v, d) => bin(v, d, "B", 4),
  deckbytes: (v, d) => dec(v, d, "B", 1),
  decmbytes: (v, d) => dec(v, d, "B", 2),
  decgbytes: (v, d) => dec(v, d, "B", 3),
  Bps: (v, d) => dec(v, d, "B/s"),
  binBps: (v, d) => bin(v, d, "B/s"),
  bps: (v, d) => dec(v, d, "b/s"),
  binbps: (v, d) => bin(v, d, "b/s"),
  KBs: (v, d) => dec(v, d, "B/s", 1),
  Kbits: (v, d) => dec(v, d, "b/s", 1),
  MBs: (v, d) => dec(v, d, "B/s", 2),
  Mbits: (v, d) => dec(v, d, "b/s", 2),
  pps: (v, d) => dec(v, d, "p/s"),
  ops: (v, d) => short(v, d).suffix ? { ...short(v, d), suffix: short(v, d).suffix + " ops/s" } : { text: fixed(v, d), suffix: " ops/s" },
  reqps: (v, d) => ({ ...short(v, d), suffix: (short(v, d).suffix || "") + " req/s" }),
  rps: (v, d) => ({ ...short(v, d), suffix: (short(v, d).suffix || "") + " rd/s" }),
  wps: (v, d) => ({ ...short(v, d), suffix: (short(v, d).suffix || "") + " wr/s" }),
  iops: (v, d) => ({ ...short(v, d), suffix: (short(v, d).suffix || "") + " io/s" }),
  opm: (v, d) => ({ ...short(v, d), suffix: (short(v, d).suffix || "") + " ops/min" }),
  cps: (v, d) => ({ ...short(v, d), suffix: (short(v, d).suffix || "") + " c/s" }),
  hertz: (v, d) => si(v, d, "Hz"),
  ns: (v, d) => duration(v, d, 0.000001),
  µs: (v, d) => duration(v, d, 0.001),
  us: (v, d) => duration(v, d, 0.001),
  ms: (v, d) => duration(v, d, 1),
  s: (v, d) => duration(v, d, 1000),
  m: (v, d) => duration(v, d, 60_000),
  h: (v, d) => duration(v, d, 3_600_000),
  d: (v, d) => duration(v, d, 86_400_000),
  dtdurationms: (v) => dhms(v, 1),
  dtdurations: (v) => dhms(v, 1000),
  dthms: (v) => {
    const s = Math.floor(Math.abs(v));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return { text: `${h}:${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}` };
  },
  clockms: (v) => ({ text: new Date(v).toISOString().slice(11, 23) }),
  clocks: (v) => ({ text: new Date(v * 1000).toISOString().slice(11, 19) }),
  dateTimeAsIso: (v) => ({ text: formatDate(v) }),
  dateTimeAsIsoNoDateIfToday: (v) => ({ text: formatDate(v) }),
  dateTimeAsUS: (v) => ({ text: new Date(v).toLocaleString("en-US") }),
  dateTimeAsLocal: (v) => ({ text: new Date(v).toLocaleString() }),
  dateTimeFromNow: (v) => ({ text: fromNow(v) }),
  dateTimeAsSystem: (v) => ({ text: formatDate(v) }),
  celsius: suffix("°C"),
  fahrenheit: suffix("°F"),
  kelvin: suffix(" K"),
  watt: (v, d) => si(v, d, "W"),
  kwatt: (v, d) => si(v, d, "W", 1),
  mwatt: (v, d) => si(v, d, "W", -1),
  voltamp: (v, d) => si(v, d, "VA"),
  volt: (v, d) => si(v, d, "V"),
  amp: (v, d) => si(v, d, "A"),
  joule: (v, d) => si(v, d, "J"),
  watth: (v, d) => si(v, d, "Wh"),
  kwatth: (v, d) => si(v, d, "Wh", 1),
  areaM2: suffix(" m²"),
  areaF2: suffix(" ft²"),
  areaMI2: suffix(" mi²"),
  lengthm: (v, d) => si(v, d, "m"),
  lengthmm: (v, d) => si(v, d, "m", -1),
  lengthkm: (v, d) => si(v, d, "m", 1),
  massg: (v, d) => si(v, d, "g"),
  masskg: (v, d) => si(v, d, "g", 1),
  currencyUSD: (v, d) => ({ prefix: "$", ...short(v, d) }),
  currencyEUR: (v, d) => ({ prefix: "€", ...short(v, d) }),
  currencyGBP: (v, d) => ({ prefix: "£", ...short(v, d) }),
  bool: (v) => ({ text: v ? "True" : "False" }),
  bool_yes_no: (v) => ({ text: v ? "Yes" : "No" }),
  bool_on_off: (v) => ({ text: v ? "On" : "Off" }),
  string: (v) => ({ text: String(v) }),
  conms: (v, d) => dec(v, d, "B/s"),
  accG: suffix(" g"),
  rpm: suffix(" rpm"),
  degree: suffix("°"),
  radian: suffix(" rad"),
  pressurebar: suffix(" bar"),
  pressurembar: suffix(" mbar"),
  pressurehpa: suffix(" hPa"),
  pressurepsi: suffix(" psi"),
  velocityms: suffix(" m/s"),
  velocitykmh: suffix(" km/h"),
  flowlpm: suffix(" L/min"),
  litre: suffix(" L"),
  mlitre: suffix(" mL"),
};

function fromNow(v: number): string {
  const diff = Date.now() - v;
  const a = Math.abs(diff);
  const f = duration(a, 0, 1);
  return diff >= 0 ? `${f.text}${f.suffix} ago` : `in ${f.text}${f.suffix}`;
}

/** Format a number with a unit id (Grafana's names, plus "suffix:x", "prefix:x", "si:x", "count:x"). */
export function formatValue(v: number | null | undefined, unit?: string | null, decimals?: number | null): Formatted {
  if (v === null || v === undefined) return { text: "No data" };
  if (typeof v !== "number") return { text: String(v) };
  if (isNaN(v)) return { text: "NaN" };
  const u = unit || "short";
  const f = UNITS[u];
  if (f) return f(v, decimals);
  if (u.startsWith("suffix:")) return { text: fixed(v, decimals), suffix: u.slice(7) };
  if (u.startsWith("prefix:")) return { text: fixed(v, decimals), prefix: u.slice(7) };
  if (u.startsWith("si:")) return si(v, decimals, u.slice(3));
  if (u.startsWith("count:")) return { ...short(v, decimals), suffix: (short(v, decimals).suffix || "") + " " + u.slice(6) };
  if (u.startsWith("currency:")) return { prefix: u.slice(9), ...short(v, decimals) };
  if (u.startsWith("time:")) return { text: formatDate(v) };
  // unknown unit id: Grafana shows it as a custom suffix
  return { text: fixed(v, decimals), suffix: " " + u };
}

export function formatText(v: number | null | undefined, unit?: string | null, decimals?: number | null): string {
  return toDisplayString(formatValue(v, unit, decimals));
}

export const UNIT_CHOICES: [string, string][] = [
  ["short", "Short"],
  ["none", "None"],
  ["percent", "Percent (0-100)"],
  ["percentunit", "Percent (0.0-1.0)"],
  ["bytes", "Bytes (IEC)"],
  ["decbytes", "Bytes (SI)"],
  ["bits", "Bits (IEC)"],
  ["Bps", "Bytes/sec (SI)"],
  ["bps", "Bits/sec (SI)"],
  ["reqps", "Requests/sec"],
  ["ops", "Ops/sec"],
  ["iops", "IO ops/sec"],
  ["s", "Seconds"],
  ["ms", "Milliseconds"],
  ["µs", "Microseconds"],
  ["ns", "Nanoseconds"],
  ["dtdurations", "Duration (s)"],
  ["dateTimeAsIso", "Datetime ISO"],
  ["dateTimeFromNow", "From now"],
  ["hertz", "Hertz"],
  ["celsius", "Celsius"],
  ["watt", "Watt"],
  ["volt", "Volt"],
  ["currencyUSD", "Dollars"],
  ["currencyEUR", "Euro"],
  ["bool", "True / False"],
];

