// Options of old panel types (graph, singlestat, legacy table) read into the current shapes, the
// way Grafana's panel migrations do, without touching the stored panel.
import type { Panel } from "../model";

const num = (v: any): number | undefined => {
  if (v === null || v === undefined || v === "") return undefined;
  const n = Number(v);
  return isNaN(n) ? undefined : n;
};

function aliasMatcher(alias: string): any {
  const m = /^\/(.*)\/([gimsuy]*)$/.exec(alias);
  return m ? { id: "byRegexp", options: m[1] } : { id: "byName", options: alias };
}

const LEGACY_COLORS: Record<string, string> = { critical: "rgba(245, 54, 54, 0.9)", warning: "rgba(237, 129, 40, 0.89)", ok: "rgba(50, 172, 45, 0.97)" };

/** A legacy `graph` panel as timeseries fieldConfig + options. */
export function graphToTimeseries(p: Panel): { fieldConfig: any; options: any } {
  const y = (p.yaxes && p.yaxes[0]) || {};
  const y2 = (p.yaxes && p.yaxes[1]) || {};
  const custom: any = {
    drawStyle: p.bars && !p.lines ? "bars" : p.points && !p.lines ? "points" : "line",
    lineWidth: p.lines === false ? 0 : num(p.linewidth) ?? 1,
    fillOpacity: p.lines === false && !p.bars ? 0 : Math.max(0, Math.min(100, (num(p.fill) ?? 1) * 10)),
    showPoints: p.points ? "always" : "never",
    pointSize: (num(p.pointradius) ?? 2) * 2,
    lineInterpolation: p.steppedLine ? "stepAfter" : "linear",
    spanNulls: p.nullPointMode === "connected",
    stacking: { mode: p.stack ? (p.percentage ? "percent" : "normal") : "none", group: "A" },
    scaleDistribution: num(y.logBase) && num(y.logBase)! > 1 ? { type: "log", log: num(y.logBase) } : { type: "linear" },
    axisLabel: y.label || undefined,
    nullAsZero: p.nullPointMode === "null as zero",
  };
  const defaults: any = {
    unit: y.format || "short",
    min: num(y.min),
    max: num(y.max),
    decimals: num(y.decimals) ?? num(p.decimals),
    custom,
    color: { mode: "palette-classic" },
  };
  const overrides: any[] = [];
  for (const [alias, color] of Object.entries(p.aliasColors || {})) {
    overrides.push({ matcher: { id: "byName", options: alias }, properties: [{ id: "color", value: { mode: "fixed", fixedColor: color } }] });
  }
  for (const so of p.seriesOverrides || []) {
    if (!so || !so.alias) continue;
    const props: any[] = [];
    if (so.color) props.push({ id: "color", value: { mode: "fixed", fixedColor: so.color } });
    if (so.transform === "negative-Y") props.push({ id: "custom.transform", value: "negative-Y" });
    if (so.yaxis === 2) {
      props.push({ id: "custom.axisPlacement", value: "right" });
      if (y2.format) props.push({ id: "unit", value: y2.format });
    }
    if (so.fill !== undefined) props.push({ id: "custom.fillOpacity", value: num(so.fill)! * 10 });
    if (so.linewidth !== undefined) props.push({ id: "custom.lineWidth", value: num(so.linewidth) });
    if (so.lines === false) props.push({ id: "custom.lineWidth", value: 0 });
    if (so.bars === true) props.push({ id: "custom.drawStyle", value: "bars" });
    if (so.points === true) props.push({ id: "custom.showPoints", value: "always" });
    if (so.stack === false) props.push({ id: "custom.stacking", value: { mode: "none" } });
    if (so.dashes === true) props.push({ id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } });
    if (so.legend === false) props.push({ id: "custom.hideFrom", value: { legend: true, tooltip: false, viz: false } });
    if (so.hiddenSeries === true) props.push({ id: "custom.hideFrom", value: { legend: false, tooltip: false, viz: true } });
    if (props.length) overrides.push({ matcher: aliasMatcher(String(so.alias)), properties: props });
  }
  // legacy thresholds become threshold steps drawn as lines/areas
  const th = (p.thresholds || []).filter((t: any) => t && num(t.value) !== undefined);
  if (th.length) {
    const steps: any[] = [{ color: "transparent", value: null }];
    const sorted = th.slice().sort((a: any, b: any) => Number(a.value) - Number(b.value));
    for (const t of sorted) {
      const color = t.colorMode === "custom" ? t.lineColor || t.fillColor || "red" : LEGACY_COLORS[t.colorMode] || "red";
      if (t.op === "lt") {
        steps[steps.length - 1] = { ...steps[steps.length - 1], color: steps.length === 1 ? color : steps[steps.length - 1].color };
        steps.push({ color: "transparent", value: Number(t.value) });
      } else steps.push({ color, value: Number(t.value) });
    }
    defaults.thresholds = { mode: "absolute", steps };
    const fill = th.some((t: any) => t.fill);
    const line = th.some((t: any) => t.line);
    custom.thresholdsStyle = { mode: fill && line ? "line+area" : fill ? "area" : "line" };
  }
  const legend = p.legend || {};
  const calcs: string[] = [];
  if (legend.values) {
    if (legend.min) calcs.push("min");
    if (legend.max) calcs.push("max");
    if (legend.avg) calcs.push("mean");
    if (legend.current) calcs.push("lastNotNull");
    if (legend.total) calcs.push("sum");
  }
  const options = {
    legend: {
      showLegend: legend.show !== false,
      displayMode: legend.show === false ? "hidden" : legend.alignAsTable ? "table" : "list",
      placement: legend.rightSide ? "right" : "bottom",
      calcs,
      hideEmpty: !!legend.hideEmpty,
      hideZero: !!legend.hideZero,
    },
    tooltip: { mode: p.tooltip?.shared === false ? "single" : "multi", sort: p.tooltip?.sort === 2 ? "desc" : p.tooltip?.sort === 1 ? "asc" : "none" },
  };
  return { fieldConfig: { defaults, overrides }, options };
}

const SINGLESTAT_CALC: Record<string, string> = {
  avg: "mean",
  current: "lastNotNull",
  total: "sum",
  min: "min",
  max: "max",
  first: "firstNotNull",
  delta: "delta",
  diff: "diff",
  range: "range",
  name: "lastNotNull",
  last_time: "lastNotNull",
};

/** A legacy `singlestat` panel as stat (or gauge) fieldConfig + options. */
export function singlestatToStat(p: Panel): { type: "stat" | "gauge"; fieldConfig: any; options: any; prefix?: string; postfix?: string } {
  const colors: string[] = p.colors || ["#299c46", "rgba(237, 129, 40, 0.89)", "#d44a3a"];
  const th = String(p.thresholds ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "" && !isNaN(Number(s)))
    .map(Number);
  const useThresholds = !!(p.colorValue || p.colorBackground || p.gauge?.show);
  const steps = useThresholds ? [{ color: colors[0], value: null }, ...th.map((v, i) => ({ color: colors[Math.min(i + 1, colors.length - 1)], value: v }))] : [{ color: "text", value: null }];
  const mappings: any[] = [];
  if (p.mappingType === 2 || (p.rangeMaps && p.rangeMaps.length && p.mappingType !== 1)) {
    for (const r of p.rangeMaps || []) if (r && r.text !== undefined) mappings.push({ type: 2, from: r.from, to: r.to, text: r.text });
  }
  for (const v of p.valueMaps || []) if (v && v.text !== undefined && v.value !== undefined) mappings.push({ type: 1, value: v.value, text: v.text });
  const defaults: any = {
    unit: p.format || "none",
    decimals: num(p.decimals),
    min: p.gauge?.show ? num(p.gauge.minValue) ?? 0 : undefined,
    max: p.gauge?.show ? num(p.gauge.maxValue) ?? 100 : undefined,
    thresholds: { mode: "absolute", steps },
    mappings,
    color: { mode: useThresholds ? "thresholds" : "fixed", fixedColor: useThresholds ? undefined : "text" },
    noValue: p.nullText || undefined,
  };
  const options: any = {
    reduceOptions: { calcs: [SINGLESTAT_CALC[p.valueName] || "mean"], fields: p.tableColumn ? p.tableColumn : "", values: false },
    colorMode: p.colorBackground ? "background" : p.colorValue ? "value" : "none",
    graphMode: p.sparkline?.show ? "area" : "none",
    textMode: "value",
    justifyMode: "center",
    orientation: "auto",
    sparklineColor: p.sparkline?.lineColor,
    sparklineFill: p.sparkline?.fillColor,
    showThresholdMarkers: p.gauge?.thresholdMarkers !== false,
    showThresholdLabels: !!p.gauge?.thresholdLabels,
  };
  return { type: p.gauge?.show ? "gauge" : "stat", fieldConfig: { defaults, overrides: [] }, options, prefix: p.prefix || undefined, postfix: p.postfix || undefined };
}
