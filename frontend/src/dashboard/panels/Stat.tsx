// Stat (and legacy singlestat) panel: big values with optional sparkline and colour.
import { useMemo } from "preact/hooks";
import { contrastText, resolveColor, withAlpha } from "../colors";
import { singlestatToStat } from "./legacy";
import { reduceValues } from "./reduceValues";
import { sparklinePath } from "./TimeSeries";
import type { PanelProps } from "./types";
import { Gauge } from "./Gauge";

function fitFont(text: string, w: number, h: number, max = 80): number {
  const byWidth = (w / Math.max(1, text.length)) * 1.7;
  return Math.max(10, Math.min(max, byWidth, h * 0.55));
}

export function Stat(props: PanelProps) {
  const conf = useMemo(() => {
    if (props.panel.type === "singlestat") return singlestatToStat(props.panel);
    return { type: "stat" as const, fieldConfig: props.panel.fieldConfig || { defaults: {}, overrides: [] }, options: props.panel.options || {}, prefix: undefined, postfix: undefined };
  }, [props.panel]);
  if (conf.type === "gauge") return <Gauge {...props} override={{ fieldConfig: conf.fieldConfig, options: conf.options }} />;
  const values = useMemo(() => reduceValues(props, conf.fieldConfig, conf.options), [props.data, conf]);
  const o = conf.options;
  const colorMode = o.colorMode || "value";
  const graphMode = o.graphMode || "area";
  const textMode = o.textMode || "auto";
  const n = values.length;
  const horizontal = o.orientation === "horizontal" || (o.orientation !== "vertical" && props.width > props.height * 2.5 && n > 1 ? false : o.orientation === "horizontal");
  const cols = horizontal ? 1 : Math.max(1, Math.min(n, Math.ceil(Math.sqrt((n * props.width) / Math.max(1, props.height)))));
  const rows = Math.ceil(n / cols);
  const cw = props.width / cols;
  const ch = props.height / rows;
  return (
    <div class="stat-panel" style={{ width: props.width, height: props.height, gridTemplateColumns: `repeat(${cols}, 1fr)` }} data-drawn="true">
      {values.map((v, i) => {
        const color = v.display.color;
        const bg = colorMode === "background" || colorMode === "background_solid";
        const showTitle = textMode === "value_and_name" || textMode === "name" || (textMode === "auto" && n > 1);
        const showValue = textMode !== "name" && textMode !== "none";
        const valueText = `${conf.prefix || ""}${v.display.prefix || ""}${v.display.text}${v.display.suffix || ""}${conf.postfix || ""}`;
        const fg = bg ? contrastText(color) : colorMode === "value" ? color : "var(--text)";
        const titleH = showTitle ? Math.min(24, ch * 0.2) : 0;
        const spark = graphMode === "area" && v.sparkline && v.sparkline.length > 1 ? sparklinePath(v.sparkline, cw, ch * 0.45) : "";
        const lineColor = (conf as any).options?.sparklineColor ? resolveColor((conf as any).options.sparklineColor) : bg ? withAlpha("#ffffff", 0.6) : color;
        return (
          <div key={i} class="stat-cell" style={{ background: bg ? (colorMode === "background" ? `linear-gradient(120deg, ${withAlpha(color, 0.85)}, ${color})` : color) : undefined, color: fg }}>
            {showTitle ? (
              <div class="stat-title" style={{ fontSize: titleH * 0.8 }}>
                {v.title}
              </div>
            ) : null}
            {showValue ? (
              <div class="stat-value" style={{ fontSize: fitFont(valueText, cw * 0.9, (ch - titleH) * (spark ? 0.7 : 1)) }}>
                {valueText}
              </div>
            ) : null}
            {spark ? (
              <svg class="stat-spark" width={cw} height={ch * 0.45} viewBox={`0 0 ${cw} ${ch * 0.45}`} preserveAspectRatio="none">
                <path d={`${spark}L${cw},${ch * 0.45}L0,${ch * 0.45}Z`} fill={withAlpha(lineColor, 0.2)} stroke="none" />
                <path d={spark} fill="none" stroke={lineColor} stroke-width="1.5" />
              </svg>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}
