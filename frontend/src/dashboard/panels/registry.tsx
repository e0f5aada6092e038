import type { ComponentType } from "preact";
import { TimeSeries } from "./TimeSeries";
import { Stat } from "./Stat";
import { Gauge } from "./Gauge";
import { BarGauge } from "./BarGauge";
import { Table } from "./Table";
import { Text } from "./Text";
import { Heatmap } from "./Heatmap";
import type { PanelProps } from "./types";

export const PANEL_TYPES: Record<string, { name: string; component: ComponentType<PanelProps>; needsData: boolean; pickable: boolean }> = {
  timeseries: { name: "Time series", component: TimeSeries, needsData: true, pickable: true },
  graph: { name: "Graph (old)", component: TimeSeries, needsData: true, pickable: false },
  stat: { name: "Stat", component: Stat, needsData: true, pickable: true },
  singlestat: { name: "Singlestat (old)", component: Stat, needsData: true, pickable: false },
  gauge: { name: "Gauge", component: Gauge, needsData: true, pickable: true },
  bargauge: { name: "Bar gauge", component: BarGauge, needsData: true, pickable: true },
  table: { name: "Table", component: Table, needsData: true, pickable: true },
  "table-old": { name: "Table (old)", component: Table, needsData: true, pickable: false },
  text: { name: "Text", component: Text, needsData: false, pickable: true },
  heatmap: { name: "Heatmap", component: Heatmap, needsData: true, pickable: true },
};

export function isSupported(type: string): boolean {
  return type in PANEL_TYPES;
}
