// Bar gauge panel: one bar per value (gradient, lcd or basic).
import { useMemo } from "preact/hooks";
import { resolveColor, withAlpha } from "../colors";
import { thresholdStep } from "../data";
import { reduceValues } from "./reduceValues";
import type { PanelProps } from "./types";

export function BarGauge(props: PanelProps) {
  const fieldConfig = props.panel.fieldConfig || { defaults: {}, overrides: [] };
  const options = props.panel.options || {};
  const values = useMemo(() => reduceValues(props, fieldConfig, options), [props.data, props.panel]);
  const n = values.length;
  const auto = !options.orientation || options.orientation === "auto";
  const vertical = options.orientation === "vertical" || (auto && n > 1 && props.width > props.height * 1.5 && props.width / n >= 40);
  const mode = options.displayMode || "gradient";
  const showUnfilled = options.showUnfilled !== false;
  const gap = 6;
  if (vertical) {
    const bw = (props.width - gap * (n - 1)) / Math.max(1, n);
    return (
      <div class="bargauge-panel vertical" style={{ width: props.width, height: props.height }} data-drawn="true">
        {values.map((v, i) => {
          const frac = Math.max(0, Math.min(1, v.max === v.min ? 0 : (v.display.numeric - v.min) / (v.max - v.min)));
          const text = `${v.display.prefix || ""}${v.display.text}${v.display.suffix || ""}`;
          const barH = props.height - 40;
          return (
            <div key={i} class="bg-col" style={{ width: bw }}>
              <div class="bg-val" style={{ color: v.display.color }}>
                {text}
              </div>
              <div class="bg-track" style={{ height: barH, background: showUnfilled ? "var(--gauge-bg)" : undefined }}>
                <div class="bg-fill" style={{ height: `${(isNaN(frac) ? 0 : frac) * 100}%`, background: mode === "basic" ? v.display.color : `linear-gradient(0deg, ${withAlpha(v.display.color, 0.4)}, ${v.display.color})` }} />
              </div>
              <div class="bg-title">{v.title}</div>
            </div>
          );
        })}
      </div>
    );
  }
  const rowH = Math.max(14, (props.height - gap * (n - 1)) / Math.max(1, n));
  const titleW = n > 1 ? Math.min(props.width * 0.3, 160) : 0;
  return (
    <div class="bargauge-panel" style={{ width: props.width, height: props.height }} data-drawn="true">
      {values.map((v, i) => {
        const frac = Math.max(0, Math.min(1, v.max === v.min ? 0 : (v.display.numeric - v.min) / (v.max - v.min)));
        const f = isNaN(frac) ? 0 : frac;
        const text = `${v.display.prefix || ""}${v.display.text}${v.display.suffix || ""}`;
        const valueW = Math.min(props.width * 0.25, Math.max(50, text.length * 9));
        const barW = Math.max(10, props.width - titleW - valueW - 12);
        let fill: any;
        if (mode === "lcd") {
          const cells = Math.max(5, Math.floor(barW / 12));
          fill = (
            <div class="bg-lcd">
              {Array.from({ length: cells }, (_x, k) => {
                const at = v.min + ((v.max - v.min) * (k + 0.5)) / cells;
                const c = thresholdStep(at, v.field?.config.thresholds, v.min, v.max).color;
                const on = (k + 0.5) / cells <= f;
                return <span key={k} style={{ background: on ? resolveColor(c) : withAlpha(c, 0.15) }} />;
              })}
            </div>
          );
        } else {
          fill = <div class="bg-fill" style={{ width: `${f * 100}%`, background: mode === "basic" ? v.display.color : `linear-gradient(90deg, ${withAlpha(v.display.color, 0.35)}, ${v.display.color})` }} />;
        }
        return (
          <div key={i} class="bg-row" style={{ height: rowH, marginBottom: i < n - 1 ? gap : 0 }}>
            {titleW ? (
              <div class="bg-title" style={{ width: titleW }} title={v.title}>
                {v.title}
              </div>
            ) : null}
            <div class="bg-track" style={{ width: barW, background: showUnfilled && mode !== "lcd" ? "var(--gauge-bg)" : undefined }}>
              {fill}
            </div>
            <div class="bg-val" style={{ width: valueW, color: v.display.color, fontSize: Math.min(22, rowH * 0.7) }}>
              {text}
            </div>
          </div>
        );
      })}
    </div>
  );
}
