// Data frames (Grafana's columnar wire format), display names, reducers, field config.
import { PALETTE, resolveColor } from "./colors";
import { formatValue, type Formatted } from "../lib/units";

export type FieldType = "time" | "number" | "string" | "boolean" | "other" | "enum";

export interface FieldConfig {
  unit?: string;
  decimals?: number | null;
  min?: number | null;
  max?: number | null;
  displayName?: string;
  displayNameFromDS?: string;
  color?: { mode?: string; fixedColor?: string; seriesBy?: string };
  thresholds?: Thresholds;
  mappings?: any[];
  noValue?: string;
  links?: any[];
  custom?: Record<string, any>;
  [k: string]: any;
}

export interface Field {
  name: string;
  type: FieldType;
  values: any[];
  labels?: Record<string, string>;
  config: FieldConfig;
  /** Resolved display name (filled by prepareFrames). */
  displayName?: string;
  /** Series colour (filled by prepareFrames). */
  color?: string;
  /** Index across all frames, for palette colours. */
  seriesIndex?: number;
}

export interface DataFrame {
  name?: string;
  refId?: string;
  meta?: any;
  fields: Field[];
  length: number;
}

export interface Thresholds {
  mode?: "absolute" | "percentage";
  steps: { color: string; value: number | null }[];
}

// ---- wire format -------------------------------------------------------------------------

/** Decode one frame of /api/ds/query into a DataFrame (entities restore NaN and ±Inf). */
export function decodeFrame(raw: any, refId?: string): DataFrame {
  const schema = raw?.schema || {};
  const data = raw?.data || {};
  const values: any[][] = data.values || [];
  const entities: any[] = data.entities || [];
  const nanos: any[] = data.nanos || [];
  const fields: Field[] = (schema.fields || []).map((f: any, i: number) => {
    let vals: any[] = values[i] ? values[i].slice() : [];
    const ent = entities[i];
    if (ent) {
      for (const idx of ent.NaN || []) vals[idx] = NaN;
      for (const idx of ent.Inf || []) vals[idx] = Infinity;
      for (const idx of ent.NegInf || []) vals[idx] = -Infinity;
    }
    let type: FieldType = f.type || "other";
    if (type === "time" && nanos[i]) {
      // sub-millisecond part is dropped: ms resolution is enough to draw
    }
    if (type === "time") vals = vals.map((v) => (typeof v === "string" ? Date.parse(v) : v));
    if (type === "other" && vals.length && vals.every((v) => v === null || typeof v === "number")) type = "number";
    return { name: f.name ?? "", type, values: vals, labels: f.labels || undefined, config: { ...(f.config || {}) } };
  });
  const length = fields.reduce((m, f) => Math.max(m, f.values.length), 0);
  return { name: schema.name, refId: schema.refId || refId, meta: schema.meta, fields, length };
}

// ---- display names -------------------------------------------------------------------------

function labelsText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).filter((k) => k !== "__name__");
  return keys.map((k) => `${k}="${labels[k]}"`).join(", ");
}

export function renderLegendFormat(fmt: string, labels: Record<string, string> | undefined): string {
  return fmt.replace(/\{\{\s*([a-zA-Z_][\w.]*)\s*\}\}/g, (_m, k) => (labels && labels[k] !== undefined ? labels[k] : ""));
}

export function fieldDisplayName(frame: DataFrame, field: Field, frameCount: number, legendFormats: Record<string, string>): string {
  const cfg = field.config;
  if (cfg.displayName) return interpolateFieldText(cfg.displayName, frame, field);
  if (cfg.displayNameFromDS) return cfg.displayNameFromDS;
  const lf = frame.refId ? legendFormats[frame.refId] : undefined;
  if (lf && lf !== "__auto" && field.type !== "time") return renderLegendFormat(lf, field.labels);
  const labels = field.labels || {};
  const hasLabels = Object.keys(labels).some((k) => k !== "__name__");
  const metric = labels.__name__;
  if (hasLabels) return `${metric || (field.name && field.name !== "Value" ? field.name : "")}{${labelsText(labels)}}`;
  if (metric) return metric;
  const valueFields = frame.fields.filter((f) => f.type === "number").length;
  if (frame.name && (valueFields <= 1 || field.name === "Value" || field.name === "")) {
    return frame.name;
  }
  if (field.name && field.name !== "Value") return field.name;
  return frame.name || field.name || frame.refId || "Value";
  void frameCount;
}

function interpolateFieldText(text: string, frame: DataFrame, field: Field): string {
  return text.replace(/\$\{__(field|series)\.([\w.]+)\}/g, (_m, scope, path) => {
    if (scope === "series" && path === "name") return frame.name || "";
    if (path === "name") return field.name;
    if (path === "displayName") return field.name;
    if (path.startsWith("labels.")) return field.labels?.[path.slice(7)] ?? "";
    if (path === "labels") return labelsText(field.labels || {});
    return "";
  });
}

// ---- thresholds, mappings, colours --------------------------------------------------------

export function thresholdStep(value: number, th: Thresholds | undefined, min = 0, max = 100): { color: string; index: number } {
  const steps = th?.steps?.length ? th.steps : [{ color: "green", value: null }];
  let v = value;
  if (th?.mode === "percentage") v = max === min ? 0 : ((value - min) / (max - min)) * 100;
  let idx = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (s.value === null || s.value === undefined || s.value === -Infinity) {
      idx = i;
      continue;
    }
    if (v >= Number(s.value)) idx = i;
    else break;
  }
  return { color: resolveColor(steps[idx].color, "#73BF69"), index: idx };
}

export interface MappingResult {
  text?: string;
  color?: string;
  icon?: string;
}

/** Apply value mappings (new object form and the legacy list form). */
export function applyMappings(value: any, mappings: any[] | undefined): MappingResult | null {
  if (!mappings || !mappings.length) return null;
  for (const m of mappings) {
    const type = m?.type;
    if (type === "value" && m.options) {
      const hit = m.options[String(value)];
      if (hit) return hit;
    } else if (type === "range" && m.options) {
      const o = m.options;
      const n = Number(value);
      if (value !== null && !isNaN(n) && (o.from === null || o.from === undefined || n >= o.from) && (o.to === null || o.to === undefined || n <= o.to)) {
        return o.result || {};
      }
    } else if (type === "regex" && m.options?.pattern) {
      try {
        const re = new RegExp(m.options.pattern);
        const s = String(value);
        const mm = re.exec(s);
        if (mm) {
          const res = { ...(m.options.result || {}) };
          if (res.text) res.text = s.replace(re, res.text);
          return res;
        }
      } catch {
        /* bad pattern: ignore */
      }
    } else if (type === "special" && m.options) {
      const match = m.options.match;
      const isNull = value === null || value === undefined;
      const isNaNv = typeof value === "number" && isNaN(value);
      if (
        (match === "null" && isNull) ||
        (match === "nan" && isNaNv) ||
        (match === "null+nan" && (isNull || isNaNv)) ||
        (match === "true" && value === true) ||
        (match === "false" && value === false) ||
        (match === "empty" && value === "")
      ) {
        return m.options.result || {};
      }
    } else if (type === 1 || type === "1") {
      // legacy value map
      if (m.value === "null" ? value === null : String(m.value) === String(value)) return { text: m.text };
    } else if (type === 2 || type === "2") {
      const n = Number(value);
      const from = m.from === "" || m.from === undefined || m.from === null ? -Infinity : Number(m.from);
      const to = m.to === "" || m.to === undefined || m.to === null ? Infinity : Number(m.to);
      if (value !== null && !isNaN(n) && n >= from && n <= to) return { text: m.text };
    }
  }
  return null;
}

export interface DisplayValue extends Formatted {
  numeric: number;
  color: string;
  title?: string;
  percent?: number;
}

/** Turn a value into text and colour with the field's unit, decimals, mappings and thresholds. */
export function displayValue(value: any, cfg: FieldConfig, seriesColor?: string): DisplayValue {
  const mapped = applyMappings(value, cfg.mappings);
  const num = typeof value === "number" ? value : value === null || value === undefined ? NaN : Number(value);
  const min = cfg.min ?? 0;
  const max = cfg.max ?? 100;
  let color: string;
  const mode = cfg.color?.mode;
  if (mode === "fixed" || mode === "shades") color = resolveColor(cfg.color?.fixedColor, seriesColor || PALETTE[0]);
  else if (mode && mode.startsWith("palette") && seriesColor) color = seriesColor;
  else if (mode === "thresholds" || !mode || !seriesColor) color = isNaN(num) ? resolveColor("text") : thresholdStep(num, cfg.thresholds, min, max).color;
  else if (mode.startsWith("continuous")) color = continuousColor(mode, num, min, max);
  else color = seriesColor;
  if (mapped?.color) color = resolveColor(mapped.color);
  const percent = max === min ? 0 : (num - min) / (max - min);
  if (mapped && mapped.text !== undefined && mapped.text !== "") return { text: String(mapped.text), numeric: num, color, percent };
  if (value === null || value === undefined || (typeof value === "number" && isNaN(value) && cfg.noValue)) {
    return { text: cfg.noValue ?? "No data", numeric: NaN, color, percent };
  }
  if (typeof value !== "number") {
    if (!isNaN(num) && value !== "" && typeof value !== "boolean") return { ...formatValue(num, cfg.unit, cfg.decimals), numeric: num, color, percent };
    return { text: String(value), numeric: num, color, percent };
  }
  return { ...formatValue(value, cfg.unit, cfg.decimals), numeric: num, color, percent };
}

function continuousColor(mode: string, v: number, min: number, max: number): string {
  const t = max === min ? 0 : Math.max(0, Math.min(1, (v - min) / (max - min)));
  const ramps: Record<string, [string, string]> = {
    "continuous-GrYlRd": ["#73BF69", "#F2495C"],
    "continuous-RdYlGr": ["#F2495C", "#73BF69"],
    "continuous-BlYlRd": ["#5794F2", "#F2495C"],
    "continuous-YlRd": ["#FADE2A", "#F2495C"],
    "continuous-BlPu": ["#5794F2", "#B877D9"],
    "continuous-YlBl": ["#FADE2A", "#5794F2"],
    "continuous-blues": ["#C0D8FF", "#1F60C4"],
    "continuous-reds": ["#FFA6B0", "#C4162A"],
    "continuous-greens": ["#C8F2C2", "#37872D"],
    "continuous-purples": ["#DEB6F2", "#8F3BB8"],
  };
  const [a, b] = ramps[mode] || ramps["continuous-GrYlRd"];
  const pa = hex(a);
  const pb = hex(b);
  const mix = pa.map((x, i) => Math.round(x + (pb[i] - x) * t));
  return `rgb(${mix[0]},${mix[1]},${mix[2]})`;
}
function hex(c: string): number[] {
  const n = parseInt(c.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

// ---- overrides ---------------------------------------------------------------------------

function setPath(obj: any, path: string, value: any): void {
  const parts = path.split(".");
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    if (typeof o[parts[i]] !== "object" || o[parts[i]] === null) o[parts[i]] = {};
    o = o[parts[i]];
  }
  o[parts[parts.length - 1]] = value;
}

// Override matchers' patterns compiled once: a dashboard re-tests them for every field of every
// panel on each refresh (null: not a valid pattern, matches nothing).
const regexCache = new Map<string, RegExp | null>();
function compiled(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    if (regexCache.size > 500) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function matches(matcher: any, frame: DataFrame, field: Field): boolean {
  const id = matcher?.id;
  const opt = matcher?.options;
  const name = field.displayName || field.name;
  switch (id) {
    case "byName":
      return opt === name || opt === field.name;
    case "byNames":
      return Array.isArray(opt?.names) && (opt.names.includes(name) || opt.names.includes(field.name));
    case "byRegexp":
      return compiled(String(opt))?.test(name) ?? false;
    case "byFrameRefID":
      return frame.refId === opt;
    case "byType":
      return field.type === opt;
    case "byFieldType":
      return field.type === opt;
    default:
      return false;
  }
}

/** Resolve each field's config: panel defaults, the DS config, then matching overrides. */
export function prepareFrames(
  frames: DataFrame[],
  fieldConfig: { defaults?: FieldConfig; overrides?: any[] } | undefined,
  legendFormats: Record<string, string> = {},
): DataFrame[] {
  const defaults = fieldConfig?.defaults || {};
  const overrides = fieldConfig?.overrides || [];
  let seriesIndex = 0;
  return frames.map((frame) => {
    const fields = frame.fields.map((f) => {
      const config: FieldConfig = { ...f.config };
      for (const [k, v] of Object.entries(defaults)) {
        if (v === undefined || v === null) continue;
        if (k === "custom") config.custom = { ...(v as any), ...(f.config.custom || {}) };
        else if (config[k] === undefined || k !== "displayNameFromDS") config[k] = v;
      }
      // keep the DS's unit when the panel does not set one
      if (!defaults.unit && f.config.unit) config.unit = f.config.unit;
      const field: Field = { ...f, config };
      field.displayName = fieldDisplayName(frame, field, frames.length, legendFormats);
      for (const ov of overrides) {
        if (!matches(ov.matcher, frame, field)) continue;
        for (const p of ov.properties || []) {
          if (!p || !p.id) continue;
          if (p.id === "displayName") field.config.displayName = p.value;
          else {
            field.config.custom = { ...(field.config.custom || {}) };
            setPath(field.config, p.id, p.value);
          }
        }
        if (field.config.displayName) field.displayName = fieldDisplayName(frame, field, frames.length, legendFormats);
      }
      if (field.type === "number") {
        field.seriesIndex = seriesIndex++;
        const c = field.config.color;
        if (c?.mode === "fixed" || c?.mode === "shades") field.color = resolveColor(c.fixedColor, PALETTE[field.seriesIndex % PALETTE.length]);
        else if (c?.mode === "thresholds") {
          const last = lastNotNull(field.values);
          field.color = thresholdStep(last ?? 0, field.config.thresholds, field.config.min ?? 0, field.config.max ?? 100).color;
        } else field.color = PALETTE[field.seriesIndex % PALETTE.length];
      }
      return field;
    });
    return { ...frame, fields };
  });
}

// ---- reducers ------------------------------------------------------------------------------

function lastNotNull(vals: any[]): number | null {
  for (let i = vals.length - 1; i >= 0; i--) {
    const v = vals[i];
    if (v !== null && v !== undefined && !(typeof v === "number" && isNaN(v))) return v;
  }
  return null;
}

export const REDUCERS: Record<string, string> = {
  lastNotNull: "Last *",
  last: "Last",
  firstNotNull: "First *",
  first: "First",
  min: "Min",
  max: "Max",
  mean: "Mean",
  median: "Median",
  sum: "Total",
  count: "Count",
  range: "Range",
  delta: "Delta",
  diff: "Difference",
  diffperc: "Difference %",
  stdDev: "StdDev",
  variance: "Variance",
  distinctCount: "Distinct count",
  changeCount: "Change count",
  allIsNull: "All null",
  allIsZero: "All zero",
};

const LEGACY_CALC: Record<string, string> = {
  avg: "mean",
  current: "lastNotNull",
  total: "sum",
  name: "name",
  last_time: "lastTime",
  first: "firstNotNull",
};

export function normalizeCalc(c: string): string {
  return LEGACY_CALC[c] || c;
}

export function reduce(values: any[], calc: string): any {
  calc = normalizeCalc(calc);
  const nums: number[] = [];
  for (const v of values) if (typeof v === "number" && !isNaN(v)) nums.push(v);
  switch (calc) {
    case "lastNotNull":
      return lastNotNull(values);
    case "last":
      return values.length ? values[values.length - 1] : null;
    case "firstNotNull":
      for (const v of values) if (v !== null && v !== undefined && !(typeof v === "number" && isNaN(v))) return v;
      return null;
    case "first":
      return values.length ? values[0] : null;
    case "min":
      return nums.length ? nums.reduce((a, b) => (b < a ? b : a), Infinity) : null;
    case "max":
      return nums.length ? nums.reduce((a, b) => (b > a ? b : a), -Infinity) : null;
    case "mean":
      return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    case "median": {
      if (!nums.length) return null;
      const s = nums.slice().sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
    case "sum":
      return nums.length ? nums.reduce((a, b) => a + b, 0) : null;
    case "count":
      return values.length;
    case "range":
      return nums.length ? Math.max(...nums) - Math.min(...nums) : null;
    case "delta": {
      let d = 0;
      for (let i = 1; i < nums.length; i++) {
        const x = nums[i] - nums[i - 1];
        d += x >= 0 ? x : nums[i]; // counter reset
      }
      return nums.length ? d : null;
    }
    case "diff":
      return nums.length ? nums[nums.length - 1] - nums[0] : null;
    case "diffperc":
      return nums.length && nums[0] !== 0 ? ((nums[nums.length - 1] - nums[0]) / nums[0]) * 100 : null;
    case "stdDev":
    case "variance": {
      if (!nums.length) return null;
      const mean = nums.reduce((a, b) => a + b, 0) / nums.length;
      const v = nums.reduce((a, b) => a + (b - mean) ** 2, 0) / nums.length;
      return calc === "variance" ? v : Math.sqrt(v);
    }
    case "distinctCount":
      return new Set(values).size;
    case "changeCount": {
      let c = 0;
      for (let i = 1; i < values.length; i++) if (values[i] !== values[i - 1]) c++;
      return c;
    }
    case "allIsNull":
      return values.every((v) => v === null || v === undefined) ? 1 : 0;
    case "allIsZero":
      return values.every((v) => v === 0) ? 1 : 0;
    default:
      return lastNotNull(values);
  }
}

/** Number fields with their time field, across frames (for series visualisations). */
export function seriesFields(frames: DataFrame[]): { frame: DataFrame; time?: Field; field: Field }[] {
  const out: { frame: DataFrame; time?: Field; field: Field }[] = [];
  for (const frame of frames) {
    const time = frame.fields.find((f) => f.type === "time");
    for (const f of frame.fields) if (f.type === "number") out.push({ frame, time, field: f });
  }
  return out;
}

/** CSV text of frames (the panel menu's download). */
export function framesToCsv(frames: DataFrame[]): string {
  const esc = (v: any) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const parts: string[] = [];
  for (const frame of frames) {
    const header = frame.fields.map((f) => esc(f.displayName || f.name)).join(",");
    const rows: string[] = [header];
    for (let i = 0; i < frame.length; i++) {
      rows.push(
        frame.fields
          .map((f) => {
            const v = f.values[i];
            return esc(f.type === "time" && typeof v === "number" ? new Date(v).toISOString() : v);
          })
          .join(","),
      );
    }
    parts.push(rows.join("\n"));
  }
  return parts.join("\n\n");
}
