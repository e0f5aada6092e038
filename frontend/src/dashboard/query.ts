// Running a panel's queries through /api/ds/query.
import { api, ApiError } from "../lib/api";
import { calcInterval, parseDuration, parseTime, resolveTz, type TimeRange } from "../lib/time";
import { decodeFrame, type DataFrame } from "./data";
import { isSpecial, isSql, isTestData, resolveDataSource, type DataSource } from "./datasources";
import { ALL, currentValues, interpolate, interpolateDeep } from "./variables";
import type { Panel } from "./model";
import { addLabelMatchers, adhocFiltersFor } from "./features";

export interface PanelData {
  frames: DataFrame[];
  errors: string[];
  range: TimeRange;
  request?: any;
  response?: any;
  legendFormats: Record<string, string>;
}

export interface QueryContext {
  range: TimeRange;
  vars: any[];
  datasources: DataSource[];
  width: number;
  timezone?: string;
  /** Results of other panels (for the "-- Dashboard --" data source). */
  panelResults?: PanelResults;
  signal?: AbortSignal;
}

/** Each panel's latest results, awaitable by panels that reuse them ("-- Dashboard --"). */
export class PanelResults {
  private data = new Map<number, PanelData>();
  private waiters = new Map<number, ((d: PanelData) => void)[]>();
  set(id: number, d: PanelData): void {
    this.data.set(id, d);
    for (const w of this.waiters.get(id) || []) w(d);
    this.waiters.delete(id);
  }
  get(id: number, timeoutMs = 15000): Promise<PanelData | undefined> {
    const have = this.data.get(id);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) || [];
      list.push(resolve);
      this.waiters.set(id, list);
      setTimeout(() => resolve(this.data.get(id)), timeoutMs);
    });
  }
}

// Limit concurrent requests so a 100-panel dashboard does not queue everything at once.
const MAX_INFLIGHT = 4;
let inflight = 0;
const waiting: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (inflight >= MAX_INFLIGHT) await new Promise<void>((r) => waiting.push(r));
  inflight++;
  try {
    return await fn();
  } finally {
    inflight--;
    const next = waiting.shift();
    if (next) next();
  }
}

async function postQuery(body: any, signal?: AbortSignal): Promise<any> {
  try {
    return await slot(() => api.post("/api/ds/query", body, { signal }));
  } catch (e) {
    // per-query errors come back as 400 with results: they are data, not a failure
    if (e instanceof ApiError && e.data && e.data.results) return e.data;
    throw e;
  }
}

/**
 * Panels that query in the same moment share one /api/ds/query request (refIds made unique per
 * panel, results split back): a 100-panel dashboard costs a handful of requests, not a hundred.
 * Queries with server-side expressions refer to other refIds, so those panels go alone.
 */
interface Member {
  prefix: string;
  queries: any[];
  variables?: any[];
  signal?: AbortSignal;
  resolve: (r: any) => void;
  reject: (e: unknown) => void;
}
const MAX_BATCH = 40;
let batchSeq = 0;
const pending = new Map<string, Member[]>();

function flush(key: string): void {
  const members = (pending.get(key) || []).filter((m) => !m.signal?.aborted);
  pending.delete(key);
  if (!members.length) return;
  const [from, to] = key.split("|");
  for (let i = 0; i < members.length; ) {
    const chunk: Member[] = [];
    let n = 0;
    while (i < members.length && (chunk.length === 0 || n + members[i].queries.length <= MAX_BATCH)) {
      n += members[i].queries.length;
      chunk.push(members[i++]);
    }
    sendChunk(from, to, chunk);
  }
}

async function sendChunk(from: string, to: string, chunk: Member[]): Promise<void> {
  if (chunk.length === 1) {
    const m = chunk[0];
    postQuery({ from, to, queries: m.queries, variables: m.variables }, m.signal).then(m.resolve, m.reject);
    return;
  }
  const queries = chunk.flatMap((m) => m.queries.map((q) => ({ ...q, refId: m.prefix + q.refId })));
  const variables = chunk.find((m) => m.variables)?.variables;
  let res: any;
  try {
    res = await postQuery({ from, to, queries, variables });
  } catch {
    // the whole batch was refused (one malformed query?): ask for each panel on its own
    for (const m of chunk) postQuery({ from, to, queries: m.queries, variables: m.variables }, m.signal).then(m.resolve, m.reject);
    return;
  }
  for (const m of chunk) {
    const results: Record<string, any> = {};
    for (const q of m.queries) {
      const r = res?.results?.[m.prefix + q.refId];
      if (r) results[q.refId] = unprefix(r, m.prefix + q.refId, q.refId);
    }
    m.resolve({ results });
  }
}

/** A batched result as if asked alone: names a data source derived from the refId (TestData's
 * "A-series") lose the batch prefix. */
function unprefix(r: any, batched: string, refId: string): any {
  const fix = (v: any) => (typeof v === "string" && v.includes(batched) ? v.split(batched).join(refId) : v);
  for (const f of r?.frames || []) {
    const schema = f?.schema;
    if (!schema) continue;
    schema.refId = refId;
    schema.name = fix(schema.name);
    for (const field of schema.fields || []) {
      field.name = fix(field.name);
      if (field.config?.displayNameFromDS) field.config.displayNameFromDS = fix(field.config.displayNameFromDS);
    }
  }
  return r;
}

function submit(body: { from: string; to: string; queries: any[]; variables?: any[] }, signal?: AbortSignal): Promise<any> {
  const usesExpressions = body.queries.some((q) => q?.datasource?.uid === "__expr__" || q?.datasource?.type === "__expr__");
  if (usesExpressions) return postQuery(body, signal);
  return new Promise((resolve, reject) => {
    const key = `${body.from}|${body.to}`;
    const list = pending.get(key) || [];
    if (!list.length) setTimeout(() => flush(key), 4);
    list.push({ prefix: `p${++batchSeq}_`, queries: body.queries, variables: body.variables, signal, resolve, reject });
    pending.set(key, list);
  });
}

/** The dashboard's variables as the server reads them (current values resolved, auto intervals filled). */
function serverVariables(vars: any[], range: TimeRange): any[] {
  return vars
    .filter((v) => v && v.name && v.type !== "adhoc")
    .map((v) => {
      const all = Array.isArray(v.current?.value) ? v.current.value.includes(ALL) : v.current?.value === ALL;
      const values = all ? [ALL] : currentValues(v, { range });
      return {
        name: v.name,
        current: { text: v.current?.text ?? values, value: v.multi ? values : values[0] ?? "" },
        options: (v.options || []).map((o: any) => ({ text: o.text, value: o.value })),
        multi: !!v.multi,
        includeAll: !!v.includeAll,
        allValue: v.allValue ?? null,
      };
    });
}

/** The panel's own time range (timeFrom / timeShift overrides). */
export function panelRange(panel: Panel, range: TimeRange, vars: any[], tz?: string): { range: TimeRange; info?: string } {
  let r = range;
  const info: string[] = [];
  const now = Date.now();
  const zone = resolveTz(tz);
  const tf = panel.timeFrom ? interpolate(String(panel.timeFrom), vars) : "";
  if (tf) {
    const d = parseDuration(tf.replace(/^now-/, ""));
    const from = d !== undefined ? now - d : parseTime(tf, false, now, zone);
    if (from !== undefined) {
      r = { from, to: now, raw: { from: tf.startsWith("now") ? tf : `now-${tf}`, to: "now" } };
      info.push(`Last ${tf.replace(/^now-/, "")}`);
    }
  }
  const ts = panel.timeShift ? interpolate(String(panel.timeShift), vars) : "";
  if (ts) {
    const d = parseDuration(ts.replace(/^now-/, ""));
    if (d !== undefined) {
      r = { from: r.from - d, to: r.to - d, raw: r.raw };
      info.push(`timeshift -${ts}`);
    }
  }
  return { range: r, info: info.length && !panel.hideTimeOverride ? info.join(" ") : undefined };
}

function dsRef(ref: any, vars: any[], scoped?: any): any {
  if (typeof ref === "string") return interpolate(ref, vars, { scoped });
  if (ref && typeof ref === "object") {
    const out: any = { ...ref };
    if (typeof out.uid === "string") out.uid = interpolate(out.uid, vars, { scoped });
    return out;
  }
  return ref;
}

/** Run every visible target of a panel; errors per refId are collected, never thrown. */
export async function runPanelQueries(panel: Panel, ctx: QueryContext): Promise<PanelData> {
  const { range } = panelRange(panel, ctx.range, ctx.vars, ctx.timezone);
  const legendFormats: Record<string, string> = {};
  const targets = (panel.targets || []).filter((t: any) => t && !t.hide);
  const result: PanelData = { frames: [], errors: [], range, legendFormats };
  if (!targets.length) return result;
  const panelDs = panel.datasource;
  const special = isSpecial(panelDs);
  if (special === "dashboard") {
    const src = targets[0]?.panelId;
    const other = ctx.panelResults ? await ctx.panelResults.get(src) : undefined;
    if (!other) result.errors.push(`Panel ${src} has no results to share`);
    else return { ...other, range };
    return result;
  }
  const maxDataPoints = panel.maxDataPoints || Math.max(100, Math.min(ctx.width || 800, 11000));
  const queries: any[] = [];
  let needsVariables = false;
  for (const t of targets) {
    const tRef = t.datasource !== undefined && t.datasource !== null && (special === "mixed" || !panelDs || typeof t.datasource === "object") ? t.datasource : panelDs;
    const ref = dsRef(tRef ?? panelDs, ctx.vars, panel.scopedVars);
    if (isSpecial(ref) === "grafana") {
      // the built-in source: only its random walk is meaningful to draw
      const testdata = ctx.datasources.find((d) => isTestData(d.type));
      if (!testdata) {
        result.errors.push(`${t.refId}: the built-in Grafana data source is not available`);
        continue;
      }
      queries.push({ refId: t.refId, scenarioId: "random_walk", datasource: { uid: testdata.uid, type: testdata.type } });
      continue;
    }
    const ds = resolveDataSource(ref, ctx.datasources);
    if (!ds) {
      const name = typeof ref === "string" ? ref : ref?.uid || ref?.type || "default";
      result.errors.push(`${t.refId}: data source ${name} not found`);
      continue;
    }
    const minInterval = parseDuration(interpolate(String(panel.interval || ds.jsonData?.timeInterval || ""), ctx.vars)) || 0;
    const intervalMs = calcInterval(range.to - range.from, maxDataPoints, minInterval);
    let q: any;
    if (isSql(ds.type) && typeof t.rawSql === "string") {
      // SQL text goes to the server as written: the server fills in the variables with its own
      // quoting, so a variable value can never become SQL syntax
      q = { ...interpolateDeep({ ...t, rawSql: "" }, ctx.vars, { dsType: ds.type, range, scoped: panel.scopedVars }), rawSql: t.rawSql };
      if (panel.scopedVars) q.scopedVars = panel.scopedVars;
      needsVariables = true;
    } else q = interpolateDeep(t, ctx.vars, { dsType: ds.type, range, scoped: panel.scopedVars });
    if (/prometheus/.test(ds.type) && typeof q.expr === "string") {
      // ad-hoc filters become label matchers on every selector of the expression
      const filters = adhocFiltersFor(ctx.vars, ds);
      if (filters.length) q.expr = addLabelMatchers(q.expr, filters);
    }
    if (typeof q.legendFormat === "string") legendFormats[t.refId] = q.legendFormat;
    q.datasource = { uid: ds.uid, type: ds.type };
    q.datasourceId = ds.id;
    q.intervalMs = intervalMs;
    q.maxDataPoints = maxDataPoints;
    queries.push(q);
  }
  if (!queries.length) return result;
  const body: any = { from: String(range.from), to: String(range.to), queries };
  if (needsVariables) body.variables = serverVariables(ctx.vars, range);
  result.request = body;
  let res: any;
  try {
    res = await submit(body, ctx.signal);
  } catch (e) {
    if ((e as any)?.name === "AbortError") throw e;
    result.errors.push(e instanceof Error ? e.message : String(e));
    return result;
  }
  result.response = res;
  for (const q of queries) {
    const r = res?.results?.[q.refId];
    if (!r) continue;
    if (r.error) result.errors.push(`${q.refId}: ${r.error}`);
    for (const raw of r.frames || []) {
      const frame = decodeFrame(raw, q.refId);
      frame.refId = q.refId;
      result.frames.push(frame);
    }
  }
  return result;
}
