// Reduce frames to display values (stat, gauge, bar gauge).
import { displayValue, prepareFrames, reduce, type DisplayValue, type Field } from "../data";
import type { PanelProps } from "./types";

export interface ReducedValue {
  title: string;
  display: DisplayValue;
  field?: Field;
  sparkline?: (number | null)[];
  min: number;
  max: number;
}

export function reduceValues(props: PanelProps, fieldConfig: any, options: any): ReducedValue[] {
  const frames = prepareFrames(props.data.frames, fieldConfig, props.data.legendFormats);
  const ro = options?.reduceOptions || {};
  const calc = (ro.calcs && ro.calcs[0]) || "lastNotNull";
  let fieldFilter: RegExp | null = null;
  if (ro.fields && typeof ro.fields === "string" && ro.fields !== "") {
    try {
      const m = /^\/(.*)\/([a-z]*)$/.exec(ro.fields);
      fieldFilter = m ? new RegExp(m[1], m[2]) : new RegExp(`^${ro.fields.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    } catch {
      fieldFilter = null;
    }
  }
  const out: ReducedValue[] = [];
  const limit = ro.limit || 5000;
  for (const frame of frames) {
    const time = frame.fields.find((f) => f.type === "time");
    let candidates = frame.fields.filter((f) => f.type === "number");
    if (fieldFilter) candidates = frame.fields.filter((f) => fieldFilter!.test(f.name) || fieldFilter!.test(f.displayName || ""));
    for (const f of candidates) {
      const cfg = f.config;
      const numeric = f.values.filter((v) => typeof v === "number" && isFinite(v)) as number[];
      const min = cfg.min ?? (numeric.length ? Math.min(0, ...numeric) : 0);
      const max = cfg.max ?? (numeric.length ? Math.max(...numeric, 1) : 100);
      const c2 = { ...cfg, min: cfg.min ?? min, max: cfg.max ?? max };
      if (ro.values) {
        for (let i = 0; i < Math.min(f.values.length, limit); i++) {
          const t = time ? new Date(time.values[i]).toISOString() : `${f.displayName} ${i + 1}`;
          out.push({ title: t, display: displayValue(f.values[i], c2, f.color), field: f, min: c2.min!, max: c2.max! });
        }
      } else {
        const v = reduce(f.values, calc);
        out.push({
          title: f.displayName || f.name,
          display: displayValue(v, c2, f.color),
          field: f,
          sparkline: time ? f.values.map((x) => (typeof x === "number" ? x : null)) : undefined,
          min: c2.min!,
          max: c2.max!,
        });
      }
    }
  }
  if (!out.length) {
    // strings only (e.g. a version label): show the last string value
    for (const frame of frames) {
      const s = frame.fields.find((f) => f.type === "string");
      if (s && s.values.length) {
        const cfg = { ...fieldConfig?.defaults, ...s.config };
        out.push({ title: s.displayName || s.name, display: displayValue(reduce(s.values, "lastNotNull"), cfg), field: s, min: 0, max: 100 });
      }
    }
  }
  if (!out.length) {
    const cfg = fieldConfig?.defaults || {};
    out.push({ title: "", display: displayValue(null, cfg), min: 0, max: 100 });
  }
  return out;
}
