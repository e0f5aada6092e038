// The dashboard JSON model, migrated in the browser from old schema versions (never saved until
// the user saves), and the 24-column grid layout.

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Panel {
  id: number;
  type: string;
  title?: string;
  description?: string;
  gridPos: GridPos;
  datasource?: any;
  targets?: any[];
  fieldConfig?: { defaults?: any; overrides?: any[] };
  options?: any;
  transformations?: any[];
  panels?: Panel[]; // nested panels of a collapsed row
  collapsed?: boolean;
  repeat?: string;
  maxDataPoints?: number;
  interval?: string;
  timeFrom?: string | null;
  timeShift?: string | null;
  hideTimeOverride?: boolean;
  [k: string]: any;
}

export interface Dashboard {
  id?: number | null;
  uid?: string;
  title: string;
  tags?: string[];
  timezone?: string;
  editable?: boolean;
  graphTooltip?: number;
  time?: { from: string; to: string };
  timepicker?: { refresh_intervals?: string[]; hidden?: boolean };
  refresh?: string | boolean;
  schemaVersion?: number;
  version?: number;
  panels: Panel[];
  templating?: { list: any[] };
  annotations?: { list: any[] };
  links?: any[];
  [k: string]: any;
}

export const GRID_COLUMNS = 24;
export const CELL_HEIGHT = 30;
export const CELL_MARGIN = 8;
export const SCHEMA_VERSION = 41;

export function deepCopy<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

function pxToGridHeight(height: any, fallback = 250): number {
  let px = fallback;
  if (typeof height === "number") px = height;
  else if (typeof height === "string") {
    const n = parseInt(height, 10);
    if (!isNaN(n)) px = n;
  }
  return Math.max(1, Math.ceil(px / (CELL_HEIGHT + CELL_MARGIN)));
}

/** Convert legacy `rows` (schema < 16) into panels with gridPos. */
function rowsToPanels(dash: any): Panel[] {
  const rows: any[] = dash.rows || [];
  const panels: Panel[] = [];
  let y = 0;
  let nextId = 1;
  for (const row of rows) for (const p of row.panels || []) nextId = Math.max(nextId, (p.id || 0) + 1);
  const showRows = rows.length > 1 || rows.some((r) => r.collapse || (r.showTitle && r.title));
  for (const row of rows) {
    const rowHeight = pxToGridHeight(row.height);
    let rowPanel: Panel | null = null;
    if (showRows) {
      rowPanel = {
        id: nextId++,
        type: "row",
        title: row.showTitle === false && !row.title ? "" : row.title || "",
        collapsed: !!row.collapse,
        gridPos: { x: 0, y, w: 24, h: 1 },
        panels: [],
        repeat: row.repeat || undefined,
      };
      panels.push(rowPanel);
      y += 1;
    }
    let x = 0;
    let lineHeight = 0;
    const startY = y;
    for (const p of row.panels || []) {
      const span = typeof p.span === "number" && p.span > 0 ? p.span : 12;
      const w = Math.max(1, Math.min(24, Math.round(span * 2)));
      // old rows grew to fit tables and had a minimum height: keep panels readable
      let h = p.height ? pxToGridHeight(p.height, 250) : rowHeight;
      h = Math.max(h, p.type === "table" || p.type === "table-old" ? 8 : 3);
      if (x + w > GRID_COLUMNS) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      const panel: Panel = { ...p, gridPos: { x, y, w, h } };
      delete panel.span;
      delete panel.height;
      x += w;
      lineHeight = Math.max(lineHeight, h);
      if (rowPanel && rowPanel.collapsed) rowPanel.panels!.push(panel);
      else panels.push(panel);
    }
    if (rowPanel && rowPanel.collapsed) y = startY;
    else if ((row.panels || []).length) y += lineHeight;
    if (rowPanel && !rowPanel.collapsed) delete rowPanel.panels;
  }
  return panels;
}

/**
 * Bring any dashboard JSON to the shape the renderer reads. Works on a copy; the stored JSON is
 * changed only when the user saves.
 */
export function migrateDashboard(input: any): Dashboard {
  const d: any = deepCopy(input || {});
  if (d.dashboard && typeof d.dashboard === "object" && !d.panels && !d.rows) return migrateDashboard(d.dashboard);
  const from = typeof d.schemaVersion === "number" ? d.schemaVersion : 0;
  d.title = typeof d.title === "string" ? d.title : "New dashboard";
  if (!Array.isArray(d.panels)) d.panels = [];
  if (Array.isArray(d.rows)) {
    d.panels = [...d.panels, ...rowsToPanels(d)];
    delete d.rows;
  }
  if (d.sharedCrosshair !== undefined && d.graphTooltip === undefined) d.graphTooltip = d.sharedCrosshair ? 1 : 0;
  delete d.sharedCrosshair;
  if (d.originalTitle !== undefined) delete d.originalTitle;
  if (!d.time || typeof d.time !== "object") d.time = { from: "now-6h", to: "now" };
  if (!d.templating || !Array.isArray(d.templating.list)) d.templating = { list: [] };
  if (!d.annotations || !Array.isArray(d.annotations.list)) d.annotations = { list: [] };
  if (!Array.isArray(d.tags)) d.tags = [];
  // ids: every panel needs a unique id
  const used = new Set<number>();
  let next = 1;
  const all: Panel[] = [];
  for (const p of d.panels) {
    all.push(p);
    if (p.type === "row" && Array.isArray(p.panels)) all.push(...p.panels);
  }
  for (const p of all) if (typeof p.id === "number") next = Math.max(next, p.id + 1);
  for (const p of all) {
    if (typeof p.id !== "number" || used.has(p.id)) p.id = next++;
    used.add(p.id);
    migratePanel(p, from);
  }
  for (const v of d.templating.list) migrateVariable(v);
  d.schemaVersion = Math.max(from, SCHEMA_VERSION);
  return d as Dashboard;
}

function migratePanel(p: any, from: number): void {
  if (!p.gridPos || typeof p.gridPos !== "object") p.gridPos = { x: 0, y: 0, w: 12, h: 8 };
  const g = p.gridPos;
  g.x = clampInt(g.x, 0, 23, 0);
  g.w = clampInt(g.w, 1, 24, 12);
  if (g.x + g.w > 24) g.w = 24 - g.x;
  g.h = clampInt(g.h, 1, 200, 8);
  g.y = clampInt(g.y, 0, 100000, 0);
  if (p.type === "row") {
    g.x = 0;
    g.w = 24;
    g.h = 1;
  }
  if (!Array.isArray(p.targets) && p.type !== "row") p.targets = p.targets ? [p.targets] : [];
  if (Array.isArray(p.targets)) {
    const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const seen = new Set<string>();
    p.targets.forEach((t: any, i: number) => {
      if (!t || typeof t !== "object") return;
      if (!t.refId || seen.has(t.refId)) t.refId = letters[i % 26] + (i >= 26 ? String(Math.floor(i / 26)) : "");
      seen.add(t.refId);
    });
  }
  if (p.type === "text" && p.options === undefined && (p.content !== undefined || p.mode !== undefined)) {
    p.options = { mode: p.mode || "markdown", content: p.content || "" };
  }
  if (p.type === "text" && p.options?.mode === "text") p.options.mode = "markdown";
  if (p.type === "heatmap" && from < 36 && p.dataFormat) p._legacyHeatmap = true;
}

function migrateVariable(v: any): void {
  if (!v || typeof v !== "object") return;
  if (v.type === "query" && typeof v.query === "object" && v.query !== null && typeof v.definition === "string" && !v.query.query && !v.query.expr) {
    // keep object queries as they are; the editor reads `definition`
  }
  if (v.current === undefined || v.current === null) v.current = {};
}

function clampInt(v: any, lo: number, hi: number, dflt: number): number {
  const n = typeof v === "number" ? v : parseInt(v, 10);
  if (isNaN(n)) return dflt;
  return Math.max(lo, Math.min(hi, Math.round(n)));
}

// ---- layout -------------------------------------------------------------------------------

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Move every panel up as far as it goes without overlapping (the grid's vertical compaction). */
export function compact(panels: Panel[]): void {
  const order = panels.slice().sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const placed: GridPos[] = [];
  for (const p of order) {
    const g = p.gridPos;
    // every y between here and the colliding panel's bottom collides too: jump past it
    let y = 0;
    for (;;) {
      const hit = placed.find((q) => overlaps({ ...g, y }, q));
      if (!hit) break;
      y = hit.y + hit.h;
    }
    g.y = y;
    placed.push(g);
  }
}

/** Expand a collapsed row: its panels go back into the dashboard below it. */
export function expandRow(dash: Dashboard, row: Panel): void {
  const nested = row.panels || [];
  row.collapsed = false;
  row.panels = [];
  if (!nested.length) return;
  const top = row.gridPos.y + 1;
  const minY = Math.min(...nested.map((p) => p.gridPos.y));
  const height = Math.max(...nested.map((p) => p.gridPos.y - minY + p.gridPos.h));
  for (const p of dash.panels) if (p !== row && p.gridPos.y > row.gridPos.y) p.gridPos.y += height;
  for (const p of nested) p.gridPos.y = top + (p.gridPos.y - minY);
  const idx = dash.panels.indexOf(row);
  dash.panels.splice(idx + 1, 0, ...nested);
  sortPanels(dash);
}

/** Collapse a row: the panels up to the next row move inside it. */
export function collapseRow(dash: Dashboard, row: Panel): void {
  sortPanels(dash);
  const idx = dash.panels.indexOf(row);
  const inside: Panel[] = [];
  for (let i = idx + 1; i < dash.panels.length; i++) {
    if (dash.panels[i].type === "row") break;
    inside.push(dash.panels[i]);
  }
  dash.panels = dash.panels.filter((p) => !inside.includes(p));
  row.panels = inside;
  row.collapsed = true;
  compact(dash.panels);
}

export function sortPanels(dash: Dashboard): void {
  dash.panels.sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
}

export function nextPanelId(dash: Dashboard): number {
  let m = 0;
  for (const p of dash.panels) {
    m = Math.max(m, p.id || 0);
    for (const q of p.panels || []) m = Math.max(m, q.id || 0);
  }
  return m + 1;
}

export function allPanels(dash: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of dash.panels) {
    out.push(p);
    if (p.type === "row" && p.panels) out.push(...p.panels);
  }
  return out;
}

export function slugify(s: string): string {
  return (
    s
      .toLowerCase()
      .normalize("NFKD")
      .replace(/[^\w\s-]/g, "")
      .trim()
      .replace(/[\s_]+/g, "-")
      .replace(/-+/g, "-") || "dashboard"
  );
}

export function emptyDashboard(): Dashboard {
  return {
    title: "New dashboard",
    uid: "",
    tags: [],
    timezone: "browser",
    editable: true,
    graphTooltip: 0,
    time: { from: "now-6h", to: "now" },
    timepicker: {},
    refresh: "",
    schemaVersion: SCHEMA_VERSION,
    version: 0,
    panels: [],
    templating: { list: [] },
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
      ],
    },
    links: [],
  };
}
