// Time series (and the legacy graph panel) drawn with uPlot.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { prepareFrames, reduce, REDUCERS, thresholdStep, type Field } from "../data";
import { withAlpha, resolveColor } from "../colors";
import { formatText } from "../../lib/units";
import { formatDate, formatTick } from "../../lib/time";
import { graphToTimeseries } from "./legacy";
import type { PanelProps } from "./types";

interface Series {
  field: Field;
  name: string;
  color: string;
  values: (number | null)[];
  custom: any;
  unit?: string;
  decimals?: number | null;
  scale: string;
  hidden: boolean;
  hideLegend: boolean;
  hideTooltip: boolean;
}

// Theme colours read once per theme: getComputedStyle after DOM changes forces a style pass, and a
// dashboard creates a hundred charts in a row.
const cssCache = new Map<string, string>();
function cssVar(name: string, fallback: string): string {
  const key = (document.documentElement.dataset.theme || "") + name;
  let v = cssCache.get(key);
  if (v === undefined) {
    v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    cssCache.set(key, v);
  }
  return v || fallback;
}

export function seriesConfig(props: PanelProps): { fieldConfig: any; options: any } {
  const p = props.panel;
  if (p.type === "graph") return graphToTimeseries(p);
  return { fieldConfig: p.fieldConfig || { defaults: {}, overrides: [] }, options: p.options || {} };
}

/** Build aligned data (one x array) from every number field with a time field. */
function buildSeries(props: PanelProps, fieldConfig: any): { xs: number[]; series: Series[] } {
  const frames = prepareFrames(props.data.frames, fieldConfig, props.data.legendFormats);
  const tables: uPlot.AlignedData[] = [];
  const fields: Field[] = [];
  for (const frame of frames) {
    const time = frame.fields.find((f) => f.type === "time");
    if (!time) continue;
    const nums = frame.fields.filter((f) => f.type === "number");
    if (!nums.length) continue;
    // sort by time if needed (uPlot needs ascending x)
    let order: number[] | null = null;
    for (let i = 1; i < time.values.length; i++) {
      if (time.values[i] < time.values[i - 1]) {
        order = time.values.map((_v, k) => k).sort((a, b) => time.values[a] - time.values[b]);
        break;
      }
    }
    const pick = (vals: any[]) => (order ? order.map((k) => vals[k]) : vals);
    tables.push([pick(time.values), ...nums.map((f) => pick(f.values).map((v: any) => (typeof v === "number" && isFinite(v) ? v : null)))] as any);
    fields.push(...nums);
  }
  if (!tables.length) return { xs: [], series: [] };
  let aligned: uPlot.AlignedData;
  const sameX = tables.every((t) => t[0].length === tables[0][0].length && t[0][0] === tables[0][0][0] && t[0][t[0].length - 1] === tables[0][0][tables[0][0].length - 1]);
  if (tables.length === 1 || sameX) {
    aligned = [tables[0][0], ...tables.flatMap((t) => t.slice(1))] as any;
  } else {
    aligned = uPlot.join(tables);
  }
  const xs = aligned[0] as number[];
  const series: Series[] = fields.map((f, i) => {
    const custom = f.config.custom || {};
    let values = aligned[i + 1] as (number | null)[];
    if (custom.nullAsZero) values = values.map((v) => (v === null ? 0 : v));
    if (custom.transform === "negative-Y") values = values.map((v) => (v === null ? null : -v));
    const hideFrom = custom.hideFrom || {};
    return {
      field: f,
      name: f.displayName || f.name,
      color: f.color || "#73BF69",
      values,
      custom,
      unit: f.config.unit,
      decimals: f.config.decimals,
      scale: custom.axisPlacement === "right" ? "y2" : "y",
      hidden: !!hideFrom.viz,
      hideLegend: !!hideFrom.legend,
      hideTooltip: !!hideFrom.tooltip,
    };
  });
  return { xs, series };
}

function stack(series: Series[]): { bands: uPlot.Band[]; stacked: (number | null)[][] } {
  const stacked = series.map((s) => s.values);
  const bands: uPlot.Band[] = [];
  const groups = new Map<string, number[]>();
  series.forEach((s, i) => {
    const mode = s.custom.stacking?.mode;
    if (!mode || mode === "none" || s.hidden) return;
    const g = (s.custom.stacking?.group || "A") + ":" + mode + ":" + s.scale;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(i);
  });
  for (const [key, idxs] of groups) {
    const percent = key.includes(":percent:");
    const n = series[idxs[0]].values.length;
    const totals = new Array(n).fill(0);
    if (percent) for (const i of idxs) for (let k = 0; k < n; k++) totals[k] += Math.abs(series[i].values[k] ?? 0);
    const acc = new Array(n).fill(0);
    idxs.forEach((i, j) => {
      stacked[i] = series[i].values.map((v, k) => {
        const val = v === null ? 0 : percent ? (totals[k] ? v / totals[k] : 0) : v;
        acc[k] += val;
        return v === null && j === 0 ? null : acc[k];
      });
      if (j > 0) bands.push({ series: [i + 1, idxs[j - 1] + 1] });
    });
  }
  return { bands, stacked };
}

function pathsFor(custom: any): uPlot.Series.PathBuilder | undefined {
  const P = uPlot.paths;
  if (custom.drawStyle === "bars") return P.bars!({ size: [0.6, 100], align: 0 });
  if (custom.drawStyle === "points") return () => null;
  switch (custom.lineInterpolation) {
    case "smooth":
      return P.spline!();
    case "stepAfter":
      return P.stepped!({ align: 1 });
    case "stepBefore":
      return P.stepped!({ align: -1 });
    default:
      return P.linear!();
  }
}

export function TimeSeries(props: PanelProps) {
  const { fieldConfig, options } = useMemo(() => seriesConfig(props), [props.panel]);
  const built = useMemo(() => buildSeries(props, fieldConfig), [props.data, fieldConfig]);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const chartRef = useRef<HTMLDivElement>(null);
  const tipRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const legendOpts = options.legend || {};
  const showLegend = legendOpts.showLegend !== false && legendOpts.displayMode !== "hidden" && built.series.length > 0;
  const placement = legendOpts.placement === "right" ? "right" : "bottom";
  const calcs: string[] = legendOpts.calcs || [];
  const legendItems = built.series.filter((s) => !s.hideLegend && !(legendOpts.hideEmpty && s.values.every((v) => v === null)) && !(legendOpts.hideZero && s.values.every((v) => !v)));
  const tableLegend = legendOpts.displayMode === "table" || calcs.length > 0;
  const legendHeight = !showLegend || placement === "right" ? 0 : Math.min(props.height * 0.4, tableLegend ? 22 + legendItems.length * 20 : Math.ceil(legendItems.length / Math.max(1, Math.floor(props.width / 180))) * 20 + 6);
  const legendWidth = showLegend && placement === "right" ? Math.min(props.width * 0.45, 260 + calcs.length * 60) : 0;
  const chartW = Math.max(50, props.width - legendWidth);
  const chartH = Math.max(40, props.height - legendHeight);

  useEffect(() => {
    const el = chartRef.current;
    if (!el) return;
    const { xs, series } = built;
    const text = cssVar("--text-muted", "#9fa7b3");
    const grid = cssVar("--grid-line", "rgba(128,128,128,0.15)");
    const tz = props.timezone;
    const { bands, stacked } = stack(series);
    const defaults = fieldConfig.defaults || {};
    const anyRight = series.some((s) => s.scale === "y2");
    const leftSeries = series.find((s) => s.scale === "y") || series[0];
    const rightSeries = series.find((s) => s.scale === "y2");
    const percentStack = series.some((s) => s.custom.stacking?.mode === "percent");
    const logCfg = defaults.custom?.scaleDistribution;
    const yRange = (min?: number | null, max?: number | null, softMin?: number, softMax?: number): uPlot.Scale.Range => (_u, dmin, dmax) => {
      let lo = min ?? (dmin === null ? 0 : dmin);
      let hi = max ?? (dmax === null ? 1 : dmax);
      if (softMin !== undefined && softMin !== null) lo = Math.min(lo, softMin);
      if (softMax !== undefined && softMax !== null) hi = Math.max(hi, softMax);
      if (lo === hi) {
        const d = Math.abs(lo) * 0.1 || 1;
        lo -= d;
        hi += d;
      }
      const r = uPlot.rangeNum(lo, hi, 0.1, true);
      return [min ?? r[0], max ?? r[1]];
    };
    const scales: uPlot.Scales = {
      x: { time: true, min: props.data.range.from, max: props.data.range.to },
      y: logCfg?.type === "log" ? { distr: 3, log: (logCfg.log === 2 ? 2 : 10) as 2 | 10 } : { range: percentStack ? [0, 1] : yRange(defaults.min, defaults.max, defaults.custom?.axisSoftMin, defaults.custom?.axisSoftMax) },
      y2: { range: yRange(undefined, undefined) },
    };
    const fmtAxis = (s?: Series, percent = false) => (_u: uPlot, splits: number[]) =>
      splits.map((v) => (v === null ? "" : percent ? `${Math.round(v * 100)}%` : formatText(s?.custom.transform === "negative-Y" ? -v : v, s?.unit, s?.decimals ?? (Math.abs(v) < 10 && v % 1 !== 0 ? undefined : undefined))));
    const axes: uPlot.Axis[] = [
      {
        stroke: text,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1, size: 4 },
        values: (_u, splits) => splits.map((v) => formatTick(v, props.data.range.to - props.data.range.from, tz)),
        space: 70,
        size: 24,
        gap: 4,
        font: "11px system-ui, sans-serif",
      },
      {
        scale: "y",
        stroke: text,
        grid: { stroke: grid, width: 1 },
        ticks: { show: false },
        values: fmtAxis(leftSeries, percentStack),
        size: (u, values) => Math.max(30, Math.min(90, 10 + Math.max(0, ...(values || []).map((v) => String(v).length)) * 6.5)),
        font: "11px system-ui, sans-serif",
        label: defaults.custom?.axisLabel || undefined,
        labelFont: "11px system-ui, sans-serif",
        labelSize: defaults.custom?.axisLabel ? 16 : 0,
        space: 24,
      },
    ];
    if (anyRight) {
      axes.push({ scale: "y2", side: 1, stroke: text, grid: { show: false }, ticks: { show: false }, values: fmtAxis(rightSeries), size: 60, font: "11px system-ui, sans-serif" });
    }
    const uSeries: uPlot.Series[] = [{}];
    series.forEach((s) => {
      const c = s.custom;
      const lw = c.lineWidth ?? 1;
      const fillOpacity = (c.fillOpacity ?? (props.panel.type === "graph" ? 10 : 0)) / 100;
      let fill: any = undefined;
      if (fillOpacity > 0) {
        if (c.gradientMode === "opacity") {
          fill = (u: uPlot) => {
            const g = u.ctx.createLinearGradient(0, u.bbox.top, 0, u.bbox.top + u.bbox.height);
            g.addColorStop(0, withAlpha(s.color, fillOpacity));
            g.addColorStop(1, withAlpha(s.color, 0));
            return g;
          };
        } else fill = withAlpha(s.color, fillOpacity);
      }
      const bars = c.drawStyle === "bars";
      uSeries.push({
        label: s.name,
        scale: s.scale,
        stroke: bars ? s.color : lw > 0 ? s.color : "transparent",
        width: bars ? 1 : lw,
        fill: bars ? withAlpha(s.color, Math.max(fillOpacity, 0.8)) : fill,
        dash: c.lineStyle?.fill === "dash" ? c.lineStyle.dash || [10, 10] : c.lineStyle?.fill === "dot" ? [0, 10] : undefined,
        spanGaps: c.spanNulls === true,
        paths: pathsFor(c),
        points: {
          show: c.showPoints === "always" || c.drawStyle === "points" ? true : c.showPoints === "never" ? false : undefined,
          size: c.pointSize ?? 5,
          fill: s.color,
          stroke: s.color,
        },
        show: !s.hidden && !hidden.has(s.name),
      });
    });
    const data: uPlot.AlignedData = [xs, ...stacked] as any;
    const thresholds = defaults.thresholds;
    const thMode = defaults.custom?.thresholdsStyle?.mode;
    const annotations = props.annotations || [];
    const markers: { a: (typeof annotations)[number]; el: HTMLElement }[] = [];
    const hooks: uPlot.Hooks.Arrays = {
      drawClear: [],
      draw: [
        (u) => {
          // annotations: a line at each time (a shaded band for ranges), a marker below it
          if (!annotations.length) return;
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.beginPath();
          ctx.rect(left, top, width, height);
          ctx.clip();
          for (const a of annotations) {
            const x0 = u.valToPos(a.time, "x", true);
            if (a.timeEnd > a.time) {
              const x1 = u.valToPos(a.timeEnd, "x", true);
              ctx.fillStyle = withAlpha(a.color, 0.15);
              ctx.fillRect(x0, top, x1 - x0, height);
            }
            ctx.strokeStyle = a.color;
            ctx.lineWidth = Math.max(1, Math.round(devicePixelRatio));
            ctx.beginPath();
            ctx.moveTo(Math.round(x0) + 0.5, top);
            ctx.lineTo(Math.round(x0) + 0.5, top + height);
            ctx.stroke();
          }
          ctx.restore();
          const w = u.bbox.width / devicePixelRatio;
          for (const m of markers) {
            const x = u.valToPos(m.a.time, "x");
            m.el.style.display = x < -1 || x > w + 1 ? "none" : "block";
            m.el.style.left = `${x}px`;
          }
        },
        (u) => {
          if (!thresholds?.steps || !thMode || thMode === "off") return;
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          const steps = thresholds.steps;
          const pctMode = thresholds.mode === "percentage";
          const smin = u.scales.y.min ?? 0;
          const smax = u.scales.y.max ?? 1;
          const toY = (v: number) => u.valToPos(pctMode ? smin + ((smax - smin) * v) / 100 : v, "y", true);
          ctx.save();
          ctx.beginPath();
          ctx.rect(left, top, width, height);
          ctx.clip();
          for (let i = 0; i < steps.length; i++) {
            const st = steps[i];
            const color = resolveColor(st.color);
            const lo = st.value === null || st.value === undefined ? -Infinity : Number(st.value);
            const hi = i + 1 < steps.length ? Number(steps[i + 1].value) : Infinity;
            const y1 = lo === -Infinity ? top + height : Math.min(top + height, Math.max(top, toY(lo)));
            const y2 = hi === Infinity ? top : Math.min(top + height, Math.max(top, toY(hi)));
            if (thMode.includes("area") && color !== "rgba(0,0,0,0)") {
              ctx.fillStyle = withAlpha(color, 0.15);
              ctx.fillRect(left, y2, width, y1 - y2);
            }
            if ((thMode.includes("line") || thMode === "dashed") && lo !== -Infinity) {
              ctx.strokeStyle = color === "rgba(0,0,0,0)" ? withAlpha("#F2495C", 0.8) : color;
              ctx.lineWidth = 1.5 * devicePixelRatio;
              ctx.setLineDash(thMode === "dashed" || thMode === "line+area" ? [] : []);
              if (thMode === "dashed") ctx.setLineDash([8, 8]);
              ctx.beginPath();
              ctx.moveTo(left, y1);
              ctx.lineTo(left + width, y1);
              ctx.stroke();
            }
          }
          ctx.restore();
        },
      ],
      setSelect: [
        (u) => {
          if (u.select.width > 4 && props.onZoom) {
            const from = u.posToVal(u.select.left, "x");
            const to = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            props.onZoom(Math.round(from), Math.round(to));
          }
        },
      ],
      setCursor: [
        (u) => {
          const tip = tipRef.current;
          if (!tip) return;
          const idx = u.cursor.idx;
          const mode = options.tooltip?.mode || "single";
          const own = (u as any)._hovered;
          if (idx === null || idx === undefined || mode === "none" || (!own && props.graphTooltip !== 2)) {
            tip.style.display = "none";
            return;
          }
          const rows: { name: string; color: string; v: number | null; s: Series }[] = [];
          series.forEach((s, i) => {
            if (s.hideTooltip || !u.series[i + 1].show) return;
            rows.push({ name: s.name, color: s.color, v: s.values[idx], s });
          });
          let shown = rows;
          if (mode === "single" && rows.length > 1) {
            const top = u.cursor.top ?? 0;
            let best = rows[0];
            let bestD = Infinity;
            series.forEach((s, i) => {
              const v = stacked[i][idx];
              if (v === null || v === undefined || !u.series[i + 1].show) return;
              const d = Math.abs(u.valToPos(v, s.scale) - top);
              if (d < bestD) {
                bestD = d;
                best = rows.find((r) => r.s === s) || best;
              }
            });
            shown = [best];
          }
          const sort = options.tooltip?.sort;
          if (sort === "desc") shown = shown.slice().sort((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity));
          if (sort === "asc") shown = shown.slice().sort((a, b) => (a.v ?? Infinity) - (b.v ?? Infinity));
          tip.replaceChildren();
          const head = document.createElement("div");
          head.className = "tt-time";
          head.textContent = formatDate(xs[idx], tz);
          tip.appendChild(head);
          for (const r of shown.slice(0, 30)) {
            const row = document.createElement("div");
            row.className = "tt-row";
            const sw = document.createElement("span");
            sw.className = "swatch";
            sw.style.background = r.color;
            const nm = document.createElement("span");
            nm.className = "tt-name";
            nm.textContent = r.name;
            const val = document.createElement("span");
            val.className = "tt-val";
            const raw = r.v === null ? null : r.s.custom.transform === "negative-Y" ? -r.v : r.v;
            val.textContent = raw === null ? "–" : formatText(raw, r.s.unit, r.s.decimals);
            row.append(sw, nm, val);
            tip.appendChild(row);
          }
          if (shown.length > 30) {
            const more = document.createElement("div");
            more.textContent = `… ${shown.length - 30} more`;
            tip.appendChild(more);
          }
          tip.style.display = "block";
          const left = (u.cursor.left ?? 0) + u.bbox.left / devicePixelRatio;
          const w = tip.offsetWidth;
          tip.style.left = `${left + 14 + w > chartW ? Math.max(0, left - w - 14) : left + 14}px`;
          tip.style.top = `${Math.max(0, Math.min(chartH - tip.offsetHeight, (u.cursor.top ?? 0) - 10))}px`;
        },
      ],
    };
    const opts: uPlot.Options = {
      width: chartW,
      height: chartH,
      ms: 1,
      series: uSeries,
      scales,
      axes,
      bands,
      legend: { show: false },
      padding: [8, 8, 0, 0],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        sync: props.syncKey && props.graphTooltip ? { key: props.syncKey } : undefined,
        points: { size: 6 },
        focus: { prox: 30 },
      },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      hooks,
    };
    el.replaceChildren();
    if (annotations.length) {
      for (const a of annotations) {
        const m = document.createElement("div");
        m.className = "anno-marker";
        m.style.borderBottomColor = a.color;
        m.dataset.annotationTime = String(a.time);
        m.title = `${formatDate(a.time, tz)}${a.timeEnd > a.time ? " – " + formatDate(a.timeEnd, tz) : ""}\n${a.text}${a.tags.length ? "\n[" + a.tags.join(", ") + "]" : ""}`;
        markers.push({ a, el: m });
      }
    }
    const u = new uPlot(opts, data, el);
    if (markers.length) {
      const layer = document.createElement("div");
      layer.className = "anno-layer";
      layer.append(...markers.map((m) => m.el));
      u.over.appendChild(layer);
    }
    plotRef.current = u;
    const over = u.over;
    const enter = () => ((u as any)._hovered = true);
    const leave = () => {
      (u as any)._hovered = false;
      if (tipRef.current) tipRef.current.style.display = "none";
    };
    over.addEventListener("mouseenter", enter);
    over.addEventListener("mouseleave", leave);
    el.dataset.drawn = String(series.length > 0 && xs.length > 0);
    el.dataset.points = String(xs.length);
    // for benchmarks and tests: the chart of this element
    (el as any).__uplot = u;
    return () => {
      over.removeEventListener("mouseenter", enter);
      over.removeEventListener("mouseleave", leave);
      u.destroy();
      plotRef.current = null;
    };
  }, [built, chartW, chartH, hidden, props.theme, props.timezone, props.syncKey, props.graphTooltip, props.annotations]);

  const toggle = (name: string, ev: MouseEvent) => {
    const next = new Set(hidden);
    if (ev.ctrlKey || ev.metaKey) {
      if (next.has(name)) next.delete(name);
      else next.add(name);
    } else {
      const others = built.series.filter((s) => s.name !== name).map((s) => s.name);
      const isolated = others.every((o) => next.has(o)) && !next.has(name);
      next.clear();
      if (!isolated) others.forEach((o) => next.add(o));
    }
    setHidden(next);
  };

  const legend = showLegend ? (
    <div class={`legend legend-${placement}`} style={placement === "right" ? { width: legendWidth, height: props.height } : { height: legendHeight }}>
      {tableLegend ? (
        <table class="legend-table">
          <thead>
            <tr>
              <th />
              {calcs.map((c) => (
                <th key={c}>{REDUCERS[c] || c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {legendItems.map((s) => (
              <tr key={s.name} class={hidden.has(s.name) ? "off" : ""} onClick={(e) => toggle(s.name, e as any)}>
                <td class="legend-name">
                  <span class="swatch" style={{ background: s.color }} />
                  {s.name}
                </td>
                {calcs.map((c) => {
                  const raw = s.field.values.filter((v) => typeof v === "number");
                  const val = reduce(raw, c);
                  return <td key={c}>{val === null || val === undefined ? "–" : formatText(val, s.unit, s.decimals)}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div class="legend-list">
          {legendItems.map((s) => (
            <span key={s.name} class={`legend-item ${hidden.has(s.name) ? "off" : ""}`} onClick={(e) => toggle(s.name, e as any)}>
              <span class="swatch" style={{ background: s.color }} />
              {s.name}
            </span>
          ))}
        </div>
      )}
    </div>
  ) : null;

  return (
    <div class={`ts-panel ts-${placement}`} style={{ width: props.width, height: props.height }}>
      <div class="ts-chart" style={{ width: chartW, height: chartH, position: "relative" }}>
        <div ref={chartRef} class="uplot-host" />
        <div ref={tipRef} class="tooltip" style={{ display: "none" }} />
        {built.series.length === 0 ? <div class="panel-nodata">No data</div> : null}
      </div>
      {legend}
    </div>
  );
}

/** Small series drawing for stat panels (no axes). */
export function sparklinePath(values: (number | null)[], w: number, h: number): string {
  const nums = values.filter((v): v is number => typeof v === "number" && isFinite(v));
  if (nums.length < 2) return "";
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const span = max - min || 1;
  let d = "";
  const n = values.length;
  values.forEach((v, i) => {
    if (typeof v !== "number" || !isFinite(v)) return;
    const x = (i / (n - 1)) * w;
    const y = h - ((v - min) / span) * h * 0.9 - h * 0.05;
    d += (d ? "L" : "M") + x.toFixed(1) + "," + y.toFixed(1);
  });
  return d;
}

export { thresholdStep };
