// Table panel: new tables (field config, cell display modes) and old ones (`styles`, `transform`).
import { useMemo, useState } from "preact/hooks";
import { applyMappings, displayValue, prepareFrames, reduce, type DataFrame, type Field } from "../data";
import { contrastText, resolveColor, withAlpha } from "../colors";
import { formatDate } from "../../lib/time";
import { formatText } from "../../lib/units";
import { applyTransformations } from "../transform";
import type { PanelProps } from "./types";

interface Column {
  name: string;
  title: string;
  field: Field;
  render: (v: any, row: number) => { text: string; color?: string; bg?: string; gauge?: number };
  align: "left" | "right" | "center";
  width?: number;
  rowColor?: (v: any) => string | undefined;
}

interface TableModel {
  columns: Column[];
  rows: number;
  values: (c: Column, r: number) => any;
}

function timeseriesToRows(frames: DataFrame[]): DataFrame {
  const t: number[] = [];
  const m: string[] = [];
  const v: any[] = [];
  for (const f of frames) {
    const time = f.fields.find((x) => x.type === "time");
    for (const n of f.fields.filter((x) => x.type === "number")) {
      for (let i = 0; i < n.values.length; i++) {
        t.push(time ? time.values[i] : 0);
        m.push(n.displayName || n.name);
        v.push(n.values[i]);
      }
    }
  }
  return {
    fields: [
      { name: "Time", type: "time", values: t, config: {} },
      { name: "Metric", type: "string", values: m, config: {} },
      { name: "Value", type: "number", values: v, config: {} },
    ],
    length: t.length,
  };
}

function timeseriesToColumns(frames: DataFrame[]): DataFrame {
  const times = new Set<number>();
  const series: { name: string; map: Map<number, any> }[] = [];
  for (const f of frames) {
    const time = f.fields.find((x) => x.type === "time");
    if (!time) continue;
    for (const n of f.fields.filter((x) => x.type === "number")) {
      const map = new Map<number, any>();
      time.values.forEach((tv, i) => {
        times.add(tv);
        map.set(tv, n.values[i]);
      });
      series.push({ name: n.displayName || n.name, map });
    }
  }
  const ts = [...times].sort((a, b) => a - b);
  return {
    fields: [{ name: "Time", type: "time", values: ts, config: {} }, ...series.map((s) => ({ name: s.name, type: "number" as const, values: ts.map((x) => s.map.get(x) ?? null), config: {} }))],
    length: ts.length,
  };
}

function timeseriesAggregations(frames: DataFrame[], columns: any[]): DataFrame {
  const cols = columns && columns.length ? columns : [{ text: "Avg", value: "avg" }];
  const names: string[] = [];
  const aggs: any[][] = cols.map(() => []);
  for (const f of frames) {
    for (const n of f.fields.filter((x) => x.type === "number")) {
      names.push(n.displayName || n.name);
      cols.forEach((c: any, i: number) => aggs[i].push(reduce(n.values, c.value)));
    }
  }
  return {
    fields: [{ name: "Metric", type: "string", values: names, config: {} }, ...cols.map((c: any, i: number) => ({ name: c.text || c.value, type: "number" as const, values: aggs[i], config: {} }))],
    length: names.length,
  };
}

function mergeTables(frames: DataFrame[]): DataFrame {
  if (frames.length === 1) return frames[0];
  // rows of every frame one after another, columns by name
  const names: string[] = [];
  const types: Record<string, any> = {};
  for (const f of frames) for (const fl of f.fields) if (!names.includes(fl.name)) {
    names.push(fl.name);
    types[fl.name] = fl;
  }
  const cols: Record<string, any[]> = Object.fromEntries(names.map((n) => [n, []]));
  let len = 0;
  for (const f of frames) {
    for (const n of names) {
      const fl = f.fields.find((x) => x.name === n);
      for (let i = 0; i < f.length; i++) cols[n].push(fl ? fl.values[i] : null);
    }
    len += f.length;
  }
  return { fields: names.map((n) => ({ ...types[n], values: cols[n] })), length: len };
}

function styleFor(styles: any[], name: string): { style: any; match: RegExpExecArray | null } | null {
  for (const s of styles) {
    const pat = String(s.pattern ?? "");
    const m = /^\/(.*)\/([gimsuy]*)$/.exec(pat);
    if (m) {
      try {
        const re = new RegExp(m[1], m[2].replace("g", ""));
        const hit = re.exec(name);
        if (hit) return { style: s, match: hit };
      } catch {
        /* bad pattern */
      }
    } else if (pat === name) return { style: s, match: null };
  }
  return null;
}

function legacyModel(props: PanelProps): TableModel {
  const p = props.panel;
  const frames = prepareFrames(props.data.frames, undefined, props.data.legendFormats);
  const transform = p.transform || "timeseries_to_rows";
  const hasTable = frames.some((f) => !f.fields.some((x) => x.type === "time") || f.fields.filter((x) => x.type === "string").length > 0);
  let frame: DataFrame;
  if (transform === "timeseries_to_columns") frame = timeseriesToColumns(frames);
  else if (transform === "timeseries_aggregations") frame = timeseriesAggregations(frames, p.columns || []);
  else if (transform === "table" || transform === "json" || hasTable) frame = mergeTables(frames.length ? frames : [{ fields: [], length: 0 }]);
  else frame = timeseriesToRows(frames);
  const styles: any[] = p.styles || [];
  const columns: Column[] = [];
  for (const f of frame.fields) {
    const found = styleFor(styles, f.name);
    const s = found?.style || {};
    if (s.type === "hidden") continue;
    let title = f.name;
    if (s.alias) title = found?.match ? String(s.alias).replace(/\$(\d)/g, (_x: string, d: string) => found.match![Number(d)] ?? "") : s.alias;
    const thresholds = String(s.thresholds ?? "")
      .split(",")
      .map((x: any) => (typeof x === "string" ? x.trim() : x))
      .filter((x: any) => x !== "" && !isNaN(Number(x)))
      .map(Number);
    const colors: string[] = s.colors || [];
    const colorOf = (v: any) => {
      if (!s.colorMode || !thresholds.length || typeof v !== "number") return undefined;
      let i = 0;
      for (let k = 0; k < thresholds.length; k++) if (v >= thresholds[k]) i = k + 1;
      return colors[Math.min(i, colors.length - 1)];
    };
    const isTime = s.type === "date" || (f.type === "time" && s.type !== "number" && s.type !== "string");
    const render = (v: any) => {
      let text: string;
      if (v === null || v === undefined) text = "";
      else if (isTime) text = typeof v === "number" ? formatDate(v, props.timezone) : String(v);
      else if (s.type === "string" || typeof v !== "number") {
        const mapped = s.mappingType || s.valueMaps ? applyMappings(v, [...(s.valueMaps || []).map((m: any) => ({ type: 1, ...m })), ...(s.rangeMaps || []).map((m: any) => ({ type: 2, ...m }))]) : null;
        text = mapped?.text !== undefined ? String(mapped.text) : String(v);
      } else text = formatText(v, s.unit || "short", s.decimals === undefined || s.decimals === null ? undefined : Number(s.decimals));
      const c = colorOf(v);
      if (s.colorMode === "cell" && c) return { text, bg: resolveColor(c), color: contrastText(resolveColor(c)) };
      if (s.colorMode === "value" && c) return { text, color: resolveColor(c) };
      return { text };
    };
    columns.push({
      name: f.name,
      title,
      field: f,
      render,
      align: s.align && s.align !== "auto" ? s.align : f.type === "number" ? "right" : "left",
      rowColor: s.colorMode === "row" ? (v: any) => colorOf(v) : undefined,
    });
  }
  return { columns, rows: frame.length, values: (c, r) => c.field.values[r] };
}

function newModel(props: PanelProps, frameIndex: number): { model: TableModel; frames: DataFrame[] } {
  const p = props.panel;
  let frames = prepareFrames(props.data.frames, p.fieldConfig, props.data.legendFormats);
  frames = applyTransformations(frames, p.transformations || []);
  const frame = frames[Math.min(frameIndex, frames.length - 1)] || { fields: [], length: 0 };
  const columns: Column[] = [];
  for (const f of frame.fields) {
    const custom = f.config.custom || {};
    if (custom.hidden || custom.hideFrom?.viz) continue;
    const cell = custom.cellOptions?.type || custom.displayMode || "auto";
    const render = (v: any) => {
      if (f.type === "time" && typeof v === "number" && !f.config.unit) return { text: formatDate(v, props.timezone) };
      const d = displayValue(v, f.config, f.color);
      const text = v === null || v === undefined ? "" : `${d.prefix || ""}${d.text}${d.suffix || ""}`;
      if (cell === "color-background" || cell === "color-background-solid") return { text, bg: d.color, color: contrastText(d.color) };
      if (cell === "color-text") return { text, color: d.color };
      if (cell === "gauge" || cell.endsWith("-gauge")) {
        const min = f.config.min ?? 0;
        const max = f.config.max ?? 100;
        return { text, color: d.color, gauge: max === min ? 0 : Math.max(0, Math.min(1, (d.numeric - min) / (max - min))) };
      }
      const mapped = applyMappings(v, f.config.mappings);
      return { text, color: mapped?.color ? resolveColor(mapped.color) : undefined };
    };
    columns.push({
      name: f.name,
      title: f.config.displayName || (f.type === "number" && frame.fields.filter((x) => x.type === "number").length === 1 && f.labels ? f.name : f.displayName || f.name),
      field: f,
      render,
      align: custom.align && custom.align !== "auto" ? custom.align : f.type === "number" ? "right" : "left",
      width: custom.width,
    });
  }
  return { model: { columns, rows: frame.length, values: (c, r) => c.field.values[r] }, frames };
}

export function Table(props: PanelProps) {
  const legacy = !!(props.panel.styles || props.panel.transform || props.panel.columns) && !props.panel.fieldConfig?.defaults?.custom?.cellOptions;
  const [frameIndex, setFrameIndex] = useState(0);
  const built = useMemo(() => (legacy ? { model: legacyModel(props), frames: [] as DataFrame[] } : newModel(props, frameIndex)), [props.data, props.panel, frameIndex]);
  const model = built.model;
  const initialSort = legacy && props.panel.sort?.col !== undefined && props.panel.sort?.col !== null ? { col: Number(props.panel.sort.col), desc: !!props.panel.sort.desc } : null;
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(initialSort);
  const order = useMemo(() => {
    const idx = Array.from({ length: model.rows }, (_x, i) => i);
    if (sort && model.columns[sort.col]) {
      const c = model.columns[sort.col];
      idx.sort((a, b) => {
        const va = model.values(c, a);
        const vb = model.values(c, b);
        const r = va === vb ? 0 : va === null || va === undefined ? 1 : vb === null || vb === undefined ? -1 : va < vb ? -1 : 1;
        return sort.desc ? -r : r;
      });
    }
    return idx;
  }, [model, sort]);
  const limit = 1000;
  const multi = !legacy && built.frames.length > 1;
  return (
    <div class="table-panel" style={{ width: props.width, height: props.height }} data-drawn={String(model.columns.length > 0)}>
      <div class="table-scroll" style={{ height: props.height - (multi ? 30 : 0) }}>
        {model.columns.length === 0 ? (
          <div class="panel-nodata">No data</div>
        ) : (
          <table class="data-table">
            <thead>
              <tr>
                {model.columns.map((c, i) => (
                  <th key={i} style={{ textAlign: c.align, width: c.width }} onClick={() => setSort(sort && sort.col === i ? (sort.desc ? null : { col: i, desc: true }) : { col: i, desc: false })}>
                    {c.title}
                    {sort && sort.col === i ? (sort.desc ? " ▼" : " ▲") : ""}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {order.slice(0, limit).map((r) => {
                let rowBg: string | undefined;
                for (const c of model.columns) {
                  const rc = c.rowColor?.(model.values(c, r));
                  if (rc) rowBg = resolveColor(rc);
                }
                return (
                  <tr key={r} style={rowBg ? { background: rowBg, color: contrastText(rowBg) } : undefined}>
                    {model.columns.map((c, i) => {
                      const cell = c.render(model.values(c, r), r);
                      return (
                        <td key={i} style={{ textAlign: c.align, background: cell.bg, color: cell.color }}>
                          {cell.gauge !== undefined ? (
                            <div class="cell-gauge">
                              <div style={{ width: `${cell.gauge * 100}%`, background: withAlpha(cell.color || "#73BF69", 0.8) }} />
                              <span>{cell.text}</span>
                            </div>
                          ) : (
                            cell.text
                          )}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {model.rows > limit ? <div class="table-more">{model.rows - limit} more rows (download CSV from the panel menu)</div> : null}
      </div>
      {multi ? (
        <select class="table-frame-select" value={String(frameIndex)} onChange={(e) => setFrameIndex(Number((e.target as HTMLSelectElement).value))}>
          {built.frames.map((f, i) => (
            <option key={i} value={String(i)}>
              {f.name || f.refId || `Frame ${i + 1}`}
            </option>
          ))}
        </select>
      ) : null}
    </div>
  );
}
