import type { Panel } from "../model";
import type { PanelData } from "../query";

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
}
