// Heatmap: pre-bucketed series (Prometheus `le` buckets, TestData bucket data) or buckets
// calculated from plain series; new options and the legacy heatmap's.
import { useEffect, useMemo, useRef } from "preact/hooks";
import { prepareFrames } from "../data";
import { schemeColor, parseRgb, resolveColor } from "../colors";
import { formatDate, formatTick } from "../../lib/time";
import { formatText } from "../../lib/units";
import type { PanelProps } from "./types";

interface Grid {
  xs: number[]; // bucket start times
  dx: number;
  yLabels: string[];
  counts: number[][]; // [x][y]
  max: number;
  yUnit?: string;
  yDecimals?: number;
}

function numLe(name: string): number {
  if (/^\+?inf$/i.test(name)) return Infinity;
  const n = parseFloat(name);
  return isNaN(n) ? NaN : n;
}

function bucketsFromSeries(props: PanelProps): Grid | null {
  const frames = prepareFrames(props.data.frames, props.panel.fieldConfig, props.data.legendFormats);
  const cols: { name: string; time: number[]; values: any[] }[] = [];
  for (const fr of frames) {
    const t = fr.fields.find((f) => f.type === "time");
    if (!t) continue;
    for (const f of fr.fields.filter((x) => x.type === "number")) {
      const name = f.labels?.le ?? f.displayName ?? f.name;
      cols.push({ name: String(name), time: t.values, values: f.values });
    }
  }
  if (!cols.length) return null;
  const sortable = cols.every((c) => !isNaN(numLe(c.name)));
  if (sortable) cols.sort((a, b) => numLe(a.name) - numLe(b.name));
  const xs = cols[0].time.slice();
  const counts = xs.map((_x, i) => cols.map((c) => (typeof c.values[i] === "number" ? c.values[i] : 0)));
  let max = 0;
  for (const row of counts) for (const v of row) if (v > max) max = v;
  const dx = xs.length > 1 ? xs[1] - xs[0] : 60_000;
  return { xs, dx, yLabels: cols.map((c) => c.name), counts, max };
}

function calculate(props: PanelProps, yBuckets = 16): Grid | null {
  const frames = prepareFrames(props.data.frames, props.panel.fieldConfig, props.data.legendFormats);
  const pts: [number, number][] = [];
  for (const fr of frames) {
    const t = fr.fields.find((f) => f.type === "time");
    if (!t) continue;
    for (const f of fr.fields.filter((x) => x.type === "number")) {
      for (let i = 0; i < f.values.length; i++) {
        const v = f.values[i];
        if (typeof v === "number" && isFinite(v)) pts.push([t.values[i], v]);
      }
    }
  }
  if (!pts.length) return null;
  const from = props.data.range.from;
  const to = props.data.range.to;
  const xCount = Math.max(5, Math.min(200, Math.floor(props.width / 12)));
  const dx = Math.max(1, (to - from) / xCount);
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const [, v] of pts) {
    ymin = Math.min(ymin, v);
    ymax = Math.max(ymax, v);
  }
  if (ymin === ymax) {
    ymin -= 1;
    ymax += 1;
  }
  const dy = (ymax - ymin) / yBuckets;
  const counts = Array.from({ length: xCount }, () => new Array(yBuckets).fill(0));
  for (const [t, v] of pts) {
    const xi = Math.floor((t - from) / dx);
    if (xi < 0 || xi >= xCount) continue;
    const yi = Math.min(yBuckets - 1, Math.floor((v - ymin) / dy));
    counts[xi][yi]++;
  }
  let max = 0;
  for (const row of counts) for (const v of row) if (v > max) max = v;
  const unit = props.panel.yAxis?.format || props.panel.fieldConfig?.defaults?.unit;
  const dec = props.panel.yAxis?.decimals ?? props.panel.options?.yAxis?.decimals;
  return {
    xs: Array.from({ length: xCount }, (_x, i) => from + i * dx),
    dx,
    yLabels: Array.from({ length: yBuckets }, (_x, i) => formatText(ymin + i * dy, unit, dec)),
    counts,
    max,
  };
}

export function Heatmap(props: PanelProps) {
  const p = props.panel;
  const legacy = !!p.dataFormat && !p.options?.calculate;
  const calc = legacy ? p.dataFormat === "timeseries" : p.options?.calculate === true;
  const grid = useMemo(() => (calc ? calculate(props) : bucketsFromSeries(props)), [props.data, props.panel, props.width]);
  const ref = useRef<HTMLCanvasElement>(null);
  const colorOpts = legacy ? p.color || {} : p.options?.color || {};
  const scheme = legacy ? colorOpts.colorScheme : colorOpts.scheme;
  const opacityMode = colorOpts.mode === "opacity";
  const baseColor = resolveColor(legacy ? colorOpts.cardColor : colorOpts.fill, "#F2495C");
  const exponent = colorOpts.exponent ?? 0.5;
  const useExp = legacy ? colorOpts.colorScale === "sqrt" : colorOpts.scale === "exponential";
  const hideZero = legacy ? p.hideZeroBuckets : p.options?.filterValues?.le !== undefined;
  const reverse = !!colorOpts.reverse;

  useEffect(() => {
    const cv = ref.current;
    if (!cv) return;
    const dpr = window.devicePixelRatio || 1;
    cv.width = props.width * dpr;
    cv.height = props.height * dpr;
    const ctx = cv.getContext("2d")!;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, props.width, props.height);
    const styles = getComputedStyle(document.documentElement);
    const textColor = styles.getPropertyValue("--text-muted").trim() || "#999";
    if (!grid || !grid.xs.length) {
      cv.dataset.drawn = "false";
      return;
    }
    const left = Math.min(90, 12 + Math.max(...grid.yLabels.map((l) => l.length)) * 6.5);
    const bottom = 20;
    const legendH = p.legend?.show || p.options?.legend?.show ? 18 : 0;
    const w = props.width - left - 6;
    const h = props.height - bottom - 6 - legendH;
    const from = props.data.range.from;
    const to = props.data.range.to;
    const xPos = (t: number) => left + ((t - from) / (to - from)) * w;
    const ny = grid.yLabels.length;
    const cellH = h / ny;
    const [br, bgc, bb] = parseRgb(baseColor);
    for (let xi = 0; xi < grid.xs.length; xi++) {
      const x0 = xPos(grid.xs[xi]);
      const x1 = xPos(grid.xs[xi] + grid.dx);
      if (x1 < left || x0 > left + w) continue;
      for (let yi = 0; yi < ny; yi++) {
        const v = grid.counts[xi][yi];
        if (v <= 0 && hideZero) continue;
        let t = grid.max ? v / grid.max : 0;
        if (useExp) t = Math.pow(t, exponent);
        if (reverse) t = 1 - t;
        ctx.fillStyle = opacityMode ? `rgba(${br},${bgc},${bb},${Math.max(0.02, t)})` : v <= 0 ? "rgba(0,0,0,0)" : schemeColor(scheme, t);
        const y = 6 + h - (yi + 1) * cellH;
        ctx.fillRect(Math.max(left, x0), y, Math.max(1, Math.min(x1, left + w) - Math.max(left, x0) - 1), Math.max(1, cellH - 1));
      }
    }
    ctx.fillStyle = textColor;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const step = Math.max(1, Math.ceil(ny / Math.max(1, Math.floor(h / 16))));
    for (let yi = 0; yi < ny; yi += step) ctx.fillText(grid.yLabels[yi], left - 6, 6 + h - (yi + 0.5) * cellH);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const ticks = Math.max(2, Math.floor(w / 90));
    for (let i = 0; i <= ticks; i++) {
      const t = from + ((to - from) * i) / ticks;
      ctx.fillText(formatTick(t, to - from, props.timezone), xPos(t), 6 + h + 4);
    }
    if (legendH) {
      const lw = Math.min(200, w * 0.5);
      for (let i = 0; i < lw; i++) {
        const t = i / lw;
        ctx.fillStyle = opacityMode ? `rgba(${br},${bgc},${bb},${t})` : schemeColor(scheme, reverse ? 1 - t : t);
        ctx.fillRect(left + i, props.height - legendH + 4, 1, 10);
      }
      ctx.fillStyle = textColor;
      ctx.textAlign = "left";
      ctx.fillText(`0 – ${grid.max}`, left + lw + 8, props.height - legendH + 2);
    }
    cv.dataset.drawn = "true";
  }, [grid, props.width, props.height, props.theme, scheme, opacityMode]);

  const onMove = (ev: MouseEvent) => {
    const cv = ref.current;
    if (!cv || !grid) return;
    const r = cv.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    const left = Math.min(90, 12 + Math.max(...grid.yLabels.map((l) => l.length)) * 6.5);
    const legendH = p.legend?.show || p.options?.legend?.show ? 18 : 0;
    const w = props.width - left - 6;
    const h = props.height - 26 - legendH;
    const t = props.data.range.from + ((x - left) / w) * (props.data.range.to - props.data.range.from);
    const xi = grid.xs.findIndex((s) => t >= s && t < s + grid.dx);
    const yi = Math.floor((6 + h - y) / (h / grid.yLabels.length));
    if (xi >= 0 && yi >= 0 && yi < grid.yLabels.length) cv.title = `${formatDate(grid.xs[xi], props.timezone)}\n${grid.yLabels[yi]}: ${grid.counts[xi][yi]}`;
  };

  return (
    <div class="heatmap-panel" style={{ width: props.width, height: props.height, position: "relative" }}>
      <canvas ref={ref} style={{ width: props.width, height: props.height }} onMouseMove={onMove} />
      {!grid ? <div class="panel-nodata">No data</div> : null}
    </div>
  );
}
