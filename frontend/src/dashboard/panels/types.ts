import type { Panel } from "../model";
import type { PanelData } from "../query";
import type { Annotation } from "../features";

export interface PanelProps {
  panel: Panel;
  data: PanelData;
  width: number;
  height: number;
  timezone?: string;
  vars: any[];
  /** Shared crosshair group (graphTooltip > 0). */
  syncKey?: string;
  graphTooltip?: number;
  onZoom?: (from: number, to: number) => void;
  theme: string;
  /** Annotations to mark on the time axis (time series panels). */
  annotations?: Annotation[];
}
