// Dashboard features beyond panels: annotations, dashboard and panel links, ad-hoc filters,
// library panels and moving/resizing panels on the grid.
import { api, ApiError } from "../lib/api";
import type { TimeRange } from "../lib/time";
import { interpolate, currentValues, ALL } from "./variables";
import { compact, deepCopy, type Dashboard, type GridPos, type Panel } from "./model";
import { resolveColor } from "./colors";
import { resolveDataSource, type DataSource } from "./datasources";
import { decodeFrame, renderLegendFormat } from "./data";

// ---- annotations ---------------------------------------------------------------------------

export interface Annotation {
  time: number;
  timeEnd: number;
  text: string;
  tags: string[];
  color: string;
  /** Only drawn on this panel (0: every panel). */
  panelId: number;
  source: string;
}

function isGrafanaSource(ds: any): boolean {
  if (!ds) return true;
  if (typeof ds === "string") return ds === "-- Grafana --" || ds === "grafana";
  return ds.uid === "grafana" || ds.uid === "-- Grafana --" || ds.type === "grafana" || ds.type === "datasource";
}

/**
 * A Prometheus annotation query (Grafana's behaviour): every series' points with a non-zero value
 * are events, consecutive ones (one step apart) merged into a region; title and text from
 * `titleFormat`/`textFormat` ({{label}}), tags from `tagKeys`.
 */
async function prometheusAnnotations(a: any, ds: DataSource, range: TimeRange, vars: any[], color: string): Promise<Annotation[]> {
  const expr = interpolate(String(a.expr ?? a.target?.expr ?? ""), vars, { dsType: ds.type, range });
  if (!expr.trim()) return [];
  const stepS = parseFloat(String(a.step || "60").replace(/s$/, "")) || 60;
  const stepMs = Math.max(1000, stepS * 1000);
  const body = {
    from: String(Math.floor(range.from)),
    to: String(Math.ceil(range.to)),
    queries: [{ refId: "Anno", expr, range: true, instant: false, intervalMs: stepMs, maxDataPoints: 11000, datasource: { uid: ds.uid, type: ds.type } }],
  };
  let res: any;
  try {
    res = await api.post("/api/ds/query", body);
  } catch (e: any) {
    res = e?.data;
  }
  const out: Annotation[] = [];
  for (const raw of res?.results?.Anno?.frames || []) {
    const frame = decodeFrame(raw, "Anno");
    const time = frame.fields.find((f) => f.type === "time");
    const value = frame.fields.find((f) => f.type === "number");
    if (!time || !value) continue;
    const labels = value.labels || {};
    const title = a.titleFormat ? renderLegendFormat(String(a.titleFormat), labels) : "";
    const text = a.textFormat ? renderLegendFormat(String(a.textFormat), labels) : Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ");
    const tags = String(a.tagKeys || "")
      .split(",")
      .map((k) => labels[k.trim()])
      .filter((t): t is string => !!t);
    let start: number | null = null;
    let last = 0;
    const flush = () => {
      if (start !== null) out.push({ time: start, timeEnd: last, text: title ? `${title}\n${text}` : text, tags, color, panelId: 0, source: a.name || "Annotations" });
      start = null;
    };
    for (let i = 0; i < time.values.length; i++) {
      const t = Number(time.values[i]);
      const v = value.values[i];
      if (v === null || v === undefined || v === 0 || Number.isNaN(v)) {
        flush();
        continue;
      }
      if (start !== null && t - last > stepMs) flush();
      if (start === null) start = t;
      last = t;
    }
    flush();
  }
  return out;
}

/**
 * The dashboard's enabled annotation queries: the built-in "Annotations & Alerts" (this
 * dashboard's annotations) and Grafana-source queries by tags, from /api/annotations; Prometheus
 * queries through /api/ds/query. Queries on other data sources are skipped (in `skipped`).
 */
export async function loadAnnotations(dash: Dashboard, range: TimeRange, vars: any[], datasources: DataSource[] = []): Promise<{ items: Annotation[]; skipped: string[] }> {
  const items: Annotation[] = [];
  const skipped: string[] = [];
  const list: any[] = dash.annotations?.list || [];
  await Promise.all(
    list.map(async (a) => {
      if (!a || a.enable === false) return;
      if (!isGrafanaSource(a.datasource)) {
        let ref = a.datasource;
        if (typeof ref === "string") ref = interpolate(ref, vars);
        else if (ref && typeof ref.uid === "string") ref = { ...ref, uid: interpolate(ref.uid, vars) };
        const ds = resolveDataSource(ref, datasources);
        if (ds && /prometheus/.test(ds.type)) {
          items.push(...(await prometheusAnnotations(a, ds, range, vars, resolveColor(a.iconColor || "rgba(0, 211, 255, 1)"))));
        } else skipped.push(a.name || "annotation");
        return;
      }
      const q = new URLSearchParams({ from: String(Math.floor(range.from)), to: String(Math.ceil(range.to)), limit: String(a.limit || 100) });
      const byTags = a.target?.type === "tags" || a.type === "tags";
      if (byTags) {
        const tags: string[] = (a.target?.tags || a.tags || []).map((t: string) => interpolate(String(t), vars));
        if (!tags.length) return;
        for (const t of tags) q.append("tags", t);
        if (a.target?.matchAny || a.matchAny) q.set("matchAny", "true");
      } else {
        if (!dash.uid) return;
        q.set("dashboardUID", dash.uid);
      }
      let found: any[] = [];
      try {
        found = await api.get(`/api/annotations?${q.toString()}`);
      } catch {
        skipped.push(a.name || "annotation");
        return;
      }
      const color = resolveColor(a.iconColor || "rgba(0, 211, 255, 1)");
      for (const f of found || []) {
        if (typeof f?.time !== "number") continue;
        items.push({
          time: f.time,
          timeEnd: typeof f.timeEnd === "number" && f.timeEnd > f.time ? f.timeEnd : f.time,
          text: String(f.text ?? ""),
          tags: Array.isArray(f.tags) ? f.tags.map(String) : [],
          color,
          panelId: byTags ? 0 : Number(f.panelId) || 0,
          source: a.name || "Annotations",
        });
      }
    }),
  );
  items.sort((x, y) => x.time - y.time);
  return { items, skipped };
}

export function annotationsFor(items: Annotation[] | undefined, panelId: number): Annotation[] {
  return (items || []).filter((a) => !a.panelId || a.panelId === panelId || (panelId > 1000 && a.panelId === Math.floor(panelId / 1000)));
}

// ---- links ---------------------------------------------------------------------------------

/** Only http(s), mailto and same-site links: never javascript: or data: URLs from a dashboard. */
export function safeUrl(url: string): string {
  // browsers drop tabs and newlines inside a URL ("java\tscript:" is javascript:) and read "\"
  // as "/": judge the address the browser will see
  const u = url.replace(/[\u0000-\u001F\u007F]/g, "").trim();
  if (/^(https?:|mailto:)/i.test(u)) return u;
  if (/^[a-z][a-z0-9+.-]*:/i.test(u) || /^[\\/][\\/]/.test(u)) return "";
  return u;
}

export interface LinkContext {
  vars: any[];
  range: TimeRange;
  raw: { from: string; to: string };
  scoped?: Record<string, any>;
}

function varsQuery(vars: any[]): string {
  const q = new URLSearchParams();
  for (const v of vars) {
    if (!v?.name || v.type === "constant" || v.skipUrlSync) continue;
    if (v.type === "adhoc") {
      for (const f of v.filters || []) q.append(`var-${v.name}`, `${f.key}|${f.operator}|${f.value}`);
      continue;
    }
    for (const val of currentValues(v)) q.append(`var-${v.name}`, val === ALL ? "All" : val);
  }
  return q.toString();
}

function withQuery(url: string, extra: string): string {
  if (!extra) return url;
  const hash = url.indexOf("#");
  const base = hash >= 0 ? url.slice(0, hash) : url;
  const frag = hash >= 0 ? url.slice(hash) : "";
  return base + (base.includes("?") ? "&" : "?") + extra + frag;
}

/** A link's final address: variables interpolated, time range and variables added when asked. */
export function linkUrl(link: any, ctx: LinkContext): string {
  let url = interpolate(String(link.url || ""), ctx.vars, { scoped: ctx.scoped, format: "text" });
  url = url
    .replace(/\$\{__url_time_range\}/g, `from=${encodeURIComponent(ctx.raw.from)}&to=${encodeURIComponent(ctx.raw.to)}`)
    .replace(/\$\{__from\}/g, String(ctx.range.from))
    .replace(/\$\{__to\}/g, String(ctx.range.to));
  const extra: string[] = [];
  if (link.keepTime) extra.push(`from=${encodeURIComponent(ctx.raw.from)}&to=${encodeURIComponent(ctx.raw.to)}`);
  if (link.includeVars) {
    const v = varsQuery(ctx.vars);
    if (v) extra.push(v);
  }
  return safeUrl(withQuery(url, extra.join("&")));
}

// ---- ad-hoc filters ------------------------------------------------------------------------

export interface AdhocFilter {
  key: string;
  operator: string;
  value: string;
}

export const ADHOC_OPERATORS = ["=", "!=", "=~", "!~"];

/** `var-name=key|op|value` (Grafana's URL form) back into filters. */
export function applyAdhocUrl(vars: any[], params: URLSearchParams): void {
  for (const v of vars) {
    if (v?.type !== "adhoc") continue;
    const vals = params.getAll("var-" + v.name);
    if (!vals.length) continue;
    v.filters = vals
      .map((s) => s.split("|"))
      .filter((p) => p.length >= 3 && p[0])
      .map((p) => ({ key: p[0], operator: ADHOC_OPERATORS.includes(p[1]) ? p[1] : "=", value: p.slice(2).join("|") }));
  }
}

export function writeAdhocUrl(vars: any[], params: URLSearchParams): void {
  for (const v of vars) {
    if (v?.type !== "adhoc" || v.skipUrlSync) continue;
    params.delete("var-" + v.name);
    for (const f of v.filters || []) params.append("var-" + v.name, `${f.key}|${f.operator}|${f.value}`);
  }
}

/** The filters of the ad-hoc variables that apply to a query on data source `ds`. */
export function adhocFiltersFor(vars: any[], ds: { uid: string; type: string; name?: string }): AdhocFilter[] {
  const out: AdhocFilter[] = [];
  for (const v of vars) {
    if (v?.type !== "adhoc" || !Array.isArray(v.filters) || !v.filters.length) continue;
    let ref = v.datasource;
    if (typeof ref === "string") ref = { uid: interpolate(ref, vars) };
    else if (ref && typeof ref.uid === "string") ref = { ...ref, uid: interpolate(ref.uid, vars) };
    const applies = !ref || (!ref.uid && (!ref.type || ref.type === ds.type)) || ref.uid === ds.uid || ref.uid === ds.name;
    if (!applies) continue;
    for (const f of v.filters) if (f && f.key) out.push({ key: String(f.key), operator: ADHOC_OPERATORS.includes(f.operator) ? f.operator : "=", value: String(f.value ?? "") });
  }
  return out;
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan", "atan2"]);
const LIST_KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const AGGREGATIONS = new Set(["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"]);

function matcherText(filters: AdhocFilter[]): string {
  return filters.map((f) => `${/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(f.key) ? f.key : JSON.stringify(f.key)}${f.operator}${JSON.stringify(f.value)}`).join(",");
}

/**
 * Add label matchers to every vector selector of a PromQL expression (Grafana's ad-hoc filters
 * on Prometheus): `rate(x[5m])` -> `rate(x{k="v"}[5m])`, `{job="a"}` -> `{job="a",k="v"}`.
 * Strings, range durations, function names and grouping label lists are left alone.
 */
export function addLabelMatchers(expr: string, filters: AdhocFilter[]): string {
  if (!filters.length) return expr;
  const m = matcherText(filters);
  let out = "";
  let i = 0;
  const n = expr.length;
  const skipSpace = (k: number) => {
    while (k < n && /\s/.test(expr[k])) k++;
    return k;
  };
  const copyBalanced = (k: number, open: string, close: string) => {
    // copy from expr[k] === open through the matching close (quotes respected)
    let depth = 0;
    let j = k;
    while (j < n) {
      const c = expr[j];
      if (c === '"' || c === "'" || c === "`") {
        j = endOfString(j);
        continue;
      }
      if (c === open) depth++;
      else if (c === close) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return n;
  };
  const endOfString = (k: number) => {
    const q = expr[k];
    let j = k + 1;
    while (j < n && expr[j] !== q) j += expr[j] === "\\" && q !== "`" ? 2 : 1;
    return Math.min(n, j + 1);
  };
  const insertInto = (k: number) => {
    // expr[k] === "{": the selector's matchers, with ours appended
    const end = copyBalanced(k, "{", "}");
    const inner = expr.slice(k + 1, end - 1);
    const sep = inner.trim() === "" ? "" : inner.trimEnd().endsWith(",") ? "" : ",";
    out += "{" + inner + sep + m + "}";
    return end;
  };
  while (i < n) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === "`") {
      const e = endOfString(i);
      out += expr.slice(i, e);
      i = e;
    } else if (c === "[") {
      const e = copyBalanced(i, "[", "]");
      out += expr.slice(i, e);
      i = e;
    } else if (c === "#") {
      const e = expr.indexOf("\n", i);
      out += expr.slice(i, e < 0 ? n : e);
      i = e < 0 ? n : e;
    } else if (c === "{") {
      i = insertInto(i);
    } else if (/[0-9.]/.test(c)) {
      let j = i;
      while (j < n && /[0-9a-zA-Z_.+]/.test(expr[j]) && !(expr[j] === "+" && !/[eE]/.test(expr[j - 1]))) j++;
      out += expr.slice(i, j);
      i = j;
    } else if (/[a-zA-Z_:]/.test(c)) {
      let j = i;
      while (j < n && /[a-zA-Z0-9_:]/.test(expr[j])) j++;
      const word = expr.slice(i, j);
      const next = skipSpace(j);
      out += word;
      i = j;
      const lower = word.toLowerCase();
      if (LIST_KEYWORDS.has(lower) && expr[next] === "(") {
        const e = copyBalanced(next, "(", ")");
        out += expr.slice(j, e);
        i = e;
      } else if (KEYWORDS.has(lower) || expr[next] === "(" || (AGGREGATIONS.has(lower) && /^(by|without)\b/i.test(expr.slice(next)))) {
        // an operator keyword or a function/aggregation name: not a selector
      } else if (expr[next] === "{") {
        out += expr.slice(j, next);
        i = insertInto(next);
      } else {
        out += "{" + m + "}";
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// ---- library panels ------------------------------------------------------------------------

/** What the dashboard knows of a library element it uses: the version its edits are based on. */
export interface LibraryInfo {
  uid: string;
  name: string;
  version: number;
  /** Dashboards connected to the element (this one included once saved). */
  connected: number;
  /** The element's model as the panel shows it (stableJson of libraryModel), to notice edits. */
  baseline: string;
}
export type LibraryState = Map<string, LibraryInfo>;

const PANEL_OWN_KEYS = ["id", "gridPos", "libraryPanel", "libraryPanelError", "scopedVars", "repeatPanelId", "repeatIterations"];

/** A panel's model as the library stores it: without the keys that belong to its place in a dashboard. */
export function libraryModel(p: Panel): any {
  const m: any = deepCopy(p);
  for (const k of PANEL_OWN_KEYS) delete m[k];
  return m;
}

/** JSON with sorted keys, so that key order alone is not an edit. */
export function stableJson(v: any): string {
  if (Array.isArray(v)) return "[" + v.map(stableJson).join(",") + "]";
  if (v && typeof v === "object") {
    return "{" + Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => JSON.stringify(k) + ":" + stableJson(v[k])).join(",") + "}";
  }
  return JSON.stringify(v ?? null);
}

function eachPanel(dash: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of dash.panels) {
    out.push(p);
    for (const q of p.panels || []) out.push(q);
  }
  return out;
}

function applyModel(p: Panel, model: any, name: string): void {
  const m = deepCopy(model);
  for (const k of PANEL_OWN_KEYS) delete m[k];
  const keep = { id: p.id, gridPos: { ...p.gridPos }, libraryPanel: { uid: String(p.libraryPanel.uid), name } };
  Object.keys(p).forEach((k) => delete (p as any)[k]);
  Object.assign(p, m, keep);
  if (!p.title) p.title = name;
}

/**
 * Panels that reference a library panel take their model from /api/library-elements/:uid (their
 * own id and gridPos kept). Unresolvable references keep the panel with an error title. Returns
 * what is known of each resolved element (its version and model), for saving edits back.
 */
export async function resolveLibraryPanels(dash: Dashboard): Promise<LibraryState> {
  const refs = eachPanel(dash).filter((p) => p.libraryPanel?.uid);
  const cache = new Map<string, Promise<any>>();
  const state: LibraryState = new Map();
  await Promise.all(
    refs.map(async (p) => {
      const uid = String(p.libraryPanel.uid);
      if (!cache.has(uid)) cache.set(uid, api.get(`/api/library-elements/${encodeURIComponent(uid)}`).then((r) => r?.result, () => null));
      const el = await cache.get(uid);
      if (!el?.model) {
        p.libraryPanelError = `Library panel ${p.libraryPanel.name || uid} not found`;
        if (!p.type) p.type = "library-panel-missing";
        return;
      }
      applyModel(p, el.model, el.name ?? p.libraryPanel.name);
      if (!state.has(uid)) {
        state.set(uid, { uid, name: el.name, version: el.version, connected: el.meta?.connectedDashboards ?? 0, baseline: stableJson(libraryModel(p)) });
      }
    }),
  );
  return state;
}

/** The library panels of the dashboard edited since they were loaded (the first edited panel of each element). */
export function editedLibraryPanels(dash: Dashboard, state: LibraryState): { info: LibraryInfo; panel: Panel }[] {
  const out: { info: LibraryInfo; panel: Panel }[] = [];
  for (const p of eachPanel(dash)) {
    const info = p.libraryPanel?.uid ? state.get(String(p.libraryPanel.uid)) : undefined;
    if (!info || out.some((o) => o.info === info)) continue;
    if (stableJson(libraryModel(p)) !== info.baseline) out.push({ info, panel: p });
  }
  return out;
}

/**
 * Writes the edited library panels back to the library (PATCH with the version the edits are based
 * on); every panel of the dashboard using such an element then shows the new model. A version
 * conflict stops here with a message naming the element (nothing after it is written).
 */
export async function updateLibraryPanels(dash: Dashboard, state: LibraryState): Promise<string[]> {
  const done: string[] = [];
  for (const { info, panel } of editedLibraryPanels(dash, state)) {
    const model = libraryModel(panel);
    let el: any;
    try {
      el = (await api.patch(`/api/library-elements/${encodeURIComponent(info.uid)}`, { name: info.name, kind: 1, model, version: info.version }))?.result;
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        throw new Error(
          `Library panel "${info.name}" was changed by someone else since this dashboard was loaded (your edits are based on version ${info.version}). ` +
            `Reload the dashboard to get the library's version, or unlink the panel to keep your edits in this dashboard only.`,
        );
      }
      throw new Error(`Library panel "${info.name}" could not be updated: ${e instanceof Error ? e.message : String(e)}`);
    }
    info.version = el?.version ?? info.version + 1;
    info.connected = el?.meta?.connectedDashboards ?? info.connected;
    for (const p of eachPanel(dash)) if (p !== panel && String(p.libraryPanel?.uid) === info.uid) applyModel(p, model, info.name);
    info.baseline = stableJson(model);
    done.push(info.name);
  }
  return done;
}

/** Turns a library panel into a normal panel of the dashboard: its model is kept inline. */
export function unlinkLibraryPanel(p: Panel): void {
  delete p.libraryPanel;
  delete p.libraryPanelError;
}

/** For saving: a library panel is stored as its reference only (the model lives in the library). */
export function libraryRefsOnly(dash: Dashboard): Dashboard {
  const strip = (p: Panel): Panel => (p.libraryPanel?.uid ? ({ id: p.id, gridPos: p.gridPos, title: p.title, libraryPanel: { uid: p.libraryPanel.uid, name: p.libraryPanel.name } } as unknown as Panel) : p);
  return { ...dash, panels: dash.panels.map((p) => (p.panels ? { ...strip(p), panels: p.panels.map(strip) } : strip(p))) };
}

// ---- moving and resizing panels ------------------------------------------------------------

function overlaps(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Put `moved` at `pos`: every other panel goes up as far as it can without overlapping it (so a
 * panel dragged past another swaps with it), then the grid is compacted upwards, as Grafana's
 * grid does.
 */
export function placePanel(dash: Dashboard, moved: Panel, pos: GridPos): void {
  const w = Math.max(1, Math.min(24, Math.round(pos.w)));
  const g: GridPos = { w, h: Math.max(1, Math.round(pos.h)), x: Math.max(0, Math.min(24 - w, Math.round(pos.x))), y: Math.max(0, Math.round(pos.y)) };
  moved.gridPos = g;
  const others = dash.panels.filter((p) => p !== moved).sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const placed: GridPos[] = [g];
  for (const p of others) {
    let y = 0;
    for (;;) {
      const hit = placed.find((q) => overlaps({ ...p.gridPos, y }, q));
      if (!hit) break;
      y = hit.y + hit.h;
    }
    p.gridPos = { ...p.gridPos, y };
    placed.push(p.gridPos);
  }
  compact(dash.panels);
}

/** Grid cell under a pixel offset inside the grid element. */
export function cellAt(gridWidth: number, dx: number, dy: number, cellHeight: number, margin: number): { x: number; y: number } {
  const colW = (gridWidth + margin) / 24;
  return { x: Math.round(dx / colW), y: Math.round(dy / (cellHeight + margin)) };
}
