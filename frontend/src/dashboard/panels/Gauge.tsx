// Gauge panel: an SVG arc per value with threshold bands.
import { useMemo } from "preact/hooks";
import { resolveColor } from "../colors";
import { formatText } from "../../lib/units";
import { reduceValues } from "./reduceValues";
import type { PanelProps } from "./types";

function arc(cx: number, cy: number, r: number, a0: number, a1: number): string {
  const p0 = [cx + r * Math.cos(a0), cy + r * Math.sin(a0)];
  const p1 = [cx + r * Math.cos(a1), cy + r * Math.sin(a1)];
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return `M${p0[0].toFixed(2)},${p0[1].toFixed(2)} A${r},${r} 0 ${large} 1 ${p1[0].toFixed(2)},${p1[1].toFixed(2)}`;
}

export function Gauge(props: PanelProps & { override?: { fieldConfig: any; options: any } }) {
  const fieldConfig = props.override?.fieldConfig || props.panel.fieldConfig || { defaults: {}, overrides: [] };
  const options = props.override?.options || props.panel.options || {};
  const values = useMemo(() => reduceValues(props, fieldConfig, options), [props.data, props.panel, props.override]);
  const n = values.length;
  const horizontal = props.width >= props.height;
  const cols = horizontal ? Math.min(n, Math.max(1, Math.round(props.width / Math.max(props.height, 1)))) : 1;
  const rows = Math.ceil(n / cols);
  const cw = props.width / cols;
  const ch = props.height / rows;
  const showMarkers = options.showThresholdMarkers !== false;
  const showLabels = !!options.showThresholdLabels;
  return (
    <div class="gauge-panel" style={{ width: props.width, height: props.height, gridTemplateColumns: `repeat(${cols}, 1fr)` }} data-drawn="true">
      {values.map((v, i) => {
        const showTitle = n > 1;
        const titleH = showTitle ? Math.min(20, ch * 0.15) : 0;
        const size = Math.min(cw, (ch - titleH) * 1.25);
        const r = size * 0.38;
        const cx = cw / 2;
        const cy = titleH + Math.min((ch - titleH) * 0.62, r * 1.25);
        const a0 = Math.PI * 0.75;
        const a1 = Math.PI * 2.25;
        const min = v.min;
        const max = v.max;
        const frac = (x: number) => (max === min ? 0 : Math.max(0, Math.min(1, (x - min) / (max - min))));
        const val = isNaN(v.display.numeric) ? min : v.display.numeric;
        const steps = (v.field?.config.thresholds || fieldConfig.defaults?.thresholds)?.steps || [];
        const pct = (v.field?.config.thresholds || fieldConfig.defaults?.thresholds)?.mode === "percentage";
        const stepVal = (s: any) => (pct ? min + ((max - min) * Number(s.value)) / 100 : Number(s.value));
        const bandW = Math.max(2, r * 0.08);
        const mainW = Math.max(4, r * 0.22);
        const text = `${v.display.prefix || ""}${v.display.text}${v.display.suffix || ""}`;
        return (
          <div key={i} class="gauge-cell">
            {showTitle ? (
              <div class="stat-title" style={{ fontSize: titleH * 0.8 }}>
                {v.title}
              </div>
            ) : null}
            <svg width={cw} height={ch - titleH} viewBox={`0 ${titleH} ${cw} ${ch - titleH}`}>
              {showMarkers
                ? steps.map((s: any, k: number) => {
                    const lo = s.value === null || s.value === undefined ? min : stepVal(s);
                    const hi = k + 1 < steps.length ? stepVal(steps[k + 1]) : max;
                    if (hi <= lo) return null;
                    return <path key={k} d={arc(cx, cy, r + mainW / 2 + bandW, a0 + (a1 - a0) * frac(lo), a0 + (a1 - a0) * frac(hi))} stroke={resolveColor(s.color)} stroke-width={bandW} fill="none" />;
                  })
                : null}
              <path d={arc(cx, cy, r, a0, a1)} stroke="var(--gauge-bg)" stroke-width={mainW} fill="none" />
              {frac(val) > 0 ? <path class="gauge-value-arc" d={arc(cx, cy, r, a0, a0 + (a1 - a0) * Math.max(0.002, frac(val)))} stroke={v.display.color} stroke-width={mainW} fill="none" /> : null}
              {showLabels
                ? steps
                    .filter((s: any) => s.value !== null && s.value !== undefined)
                    .map((s: any, k: number) => {
                      const a = a0 + (a1 - a0) * frac(stepVal(s));
                      const rr = r + mainW + bandW + 8;
                      return (
                        <text key={k} x={cx + rr * Math.cos(a)} y={cy + rr * Math.sin(a)} font-size={Math.max(8, r * 0.09)} fill="var(--text-muted)" text-anchor="middle">
                          {formatText(stepVal(s), v.field?.config.unit, v.field?.config.decimals)}
                        </text>
                      );
                    })
                : null}
              <text x={cx} y={cy + r * 0.12} text-anchor="middle" dominant-baseline="middle" font-size={Math.max(10, Math.min(r * 0.45, (r * 2.6) / Math.max(3, text.length)))} fill={v.display.color} font-weight="500">
                {text}
              </text>
            </svg>
          </div>
        );
      })}
    </div>
  );
}
