// Template variables: options, current values, URL state (var-x), chained refresh, interpolation.
import { api, ApiError } from "../lib/api";
import { calcInterval, formatDuration, parseDuration, type TimeRange } from "../lib/time";
import { isSql, isTestData, resolveDataSource, type DataSource } from "./datasources";
import { decodeFrame } from "./data";

export const ALL = "$__all";
export const AUTO_PREFIX = "$__auto_interval_";

export interface VarOption {
  text: string;
  value: string;
  selected?: boolean;
}

export interface VarContext {
  range: TimeRange;
  datasources: DataSource[];
  vars: any[];
}

const asArray = (v: any): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]);

/** The values a variable currently stands for (All expanded). */
export function currentValues(v: any, ctx?: { range?: TimeRange }): string[] {
  const cur = v?.current || {};
  let vals = asArray(cur.value);
  if (v.type === "constant") return [String(v.query ?? cur.value ?? "")];
  if (v.type === "textbox") return [String(cur.value ?? v.query ?? "")];
  if (v.type === "interval") {
    return vals.map((x) => (x.startsWith(AUTO_PREFIX) || x === "auto" ? autoInterval(v, ctx?.range) : x));
  }
  if (vals.includes(ALL)) {
    vals = (v.options || []).map((o: VarOption) => String(o.value)).filter((x: string) => x !== ALL);
  }
  return vals;
}

function autoInterval(v: any, range?: TimeRange): string {
  if (!range) return "1m";
  const count = parseInt(v.auto_count, 10) || 30;
  const min = parseDuration(v.auto_min || "10s") || 10_000;
  return formatDuration(calcInterval(range.to - range.from, count, min));
}

function hasCustomAll(v: any): boolean {
  return asArray(v?.current?.value).includes(ALL) && v.allValue !== undefined && v.allValue !== null && v.allValue !== "";
}

function regexEscape(s: string): string {
  return s.replace(/[\\^$*+?.()|[\]{}]/g, "\\$&");
}
function luceneEscape(s: string): string {
  return s.replace(/([+\-=&|><!(){}[\]^"~*?:\\/ ])/g, "\\$1");
}
function sqlQuote(s: string): string {
  return "'" + s.replace(/'/g, "''") + "'";
}

export function formatValues(vals: string[], format: string | undefined, v: any, dsType?: string): string {
  const multi = !!(v?.multi || v?.includeAll);
  switch (format) {
    case "raw":
      return vals.join(",");
    case "csv":
      return vals.join(",");
    case "pipe":
      return vals.join("|");
    case "distributed":
      return vals.join(",");
    case "regex":
      return vals.length === 1 ? regexEscape(vals[0]) : `(${vals.map(regexEscape).join("|")})`;
    case "glob":
      return vals.length === 1 ? vals[0] : `{${vals.join(",")}}`;
    case "json":
      return JSON.stringify(vals.length === 1 && !multi ? vals[0] : vals);
    case "lucene":
      return vals.length === 1 ? luceneEscape(vals[0]) : `(${vals.map((x) => `"${luceneEscape(x)}"`).join(" OR ")})`;
    case "queryparam":
      return vals.map((x) => `var-${encodeURIComponent(v?.name || "")}=${encodeURIComponent(x)}`).join("&");
    case "percentencode":
      return vals.map(encodeURIComponent).join(",");
    case "singlequote":
      return vals.map((x) => `'${x.replace(/'/g, "\\'")}'`).join(",");
    case "doublequote":
      return vals.map((x) => `"${x.replace(/"/g, '\\"')}"`).join(",");
    case "sqlstring":
      return vals.map(sqlQuote).join(",");
    case "text":
      return vals.join(" + ");
  }
  // the data source's own default
  if (dsType === "prometheus") {
    // values land inside PromQL string literals: backslashes doubled, regex specials escaped so
    // the string yields "\." for the regex engine
    const plain = (x: string) => x.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
    const special = (x: string) => x.replace(/\\/g, "\\\\\\\\").replace(/[$^*{}[\]'+?.()|]/g, "\\\\$&");
    if (!multi) return vals.map(plain).join(",");
    return vals.length === 1 ? special(vals[0]) : `(${vals.map(special).join("|")})`;
  }
  if (isSql(dsType)) {
    if (!multi) return vals.join(",");
    return vals.map(sqlQuote).join(",");
  }
  if (dsType === "loki") {
    return vals.length === 1 ? regexEscape(vals[0]) : vals.map(regexEscape).join("|");
  }
  return vals.length === 1 ? vals[0] : `{${vals.join(",")}}`;
}

const VAR_RE = /\$(\w+)|\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}|\[\[(\w+)(?::(\w+))?\]\]/g;

export interface InterpolateOpts {
  format?: string;
  dsType?: string;
  scoped?: Record<string, { text: string; value: string | string[] }>;
  range?: TimeRange;
}

/** Replace $var, ${var}, ${var:format}, [[var]] in text; unknown names stay as written. */
export function interpolate(text: string, vars: any[], opts: InterpolateOpts = {}): string {
  if (typeof text !== "string" || text.indexOf("$") < 0 && text.indexOf("[[") < 0) return text;
  return text.replace(VAR_RE, (m, n1, n2, _path, fmt2, n3, fmt3) => {
    const name = n1 || n2 || n3;
    const fmt = fmt2 || fmt3 || opts.format;
    const scoped = opts.scoped?.[name];
    if (scoped) {
      const vals = asArray(scoped.value);
      return fmt === "text" ? String(scoped.text) : formatValues(vals, fmt, { multi: vals.length > 1 }, opts.dsType);
    }
    if (opts.range && (name === "__from" || name === "__to")) {
      const t = name === "__from" ? opts.range.from : opts.range.to;
      if (fmt === "date" || fmt?.startsWith("date:iso")) return new Date(t).toISOString();
      if (fmt === "date:seconds") return String(Math.floor(t / 1000));
      return String(t);
    }
    const v = vars.find((x) => x && x.name === name);
    if (!v) return m;
    if (fmt === "text") {
      const t = v.current?.text;
      return Array.isArray(t) ? t.join(" + ") : String(t ?? "");
    }
    if (hasCustomAll(v)) return String(v.allValue);
    return formatValues(currentValues(v, opts), fmt, v, opts.dsType);
  });
}

/** Interpolate every string inside a query object (not refId or datasource). */
export function interpolateDeep(obj: any, vars: any[], opts: InterpolateOpts): any {
  if (typeof obj === "string") return interpolate(obj, vars, opts);
  if (Array.isArray(obj)) return obj.map((x) => interpolateDeep(x, vars, opts));
  if (obj && typeof obj === "object") {
    const out: any = {};
    for (const [k, v] of Object.entries(obj)) out[k] = k === "refId" || k === "datasource" ? v : interpolateDeep(v, vars, opts);
    return out;
  }
  return obj;
}

/** Does this variable's definition use another variable? */
export function usesVariable(v: any, name: string): boolean {
  const s = JSON.stringify([v.query, v.datasource, v.regex, v.definition]);
  return s.includes("$" + name) || s.includes("${" + name) || s.includes("[[" + name);
}

// ---- options -----------------------------------------------------------------------------

function splitCustom(q: string): VarOption[] {
  const parts = String(q || "")
    .split(/(?<!\\),/)
    .map((s) => s.replace(/\\,/g, ",").trim())
    .filter((s) => s.length);
  return parts.map((p) => {
    const kv = /^(.+?)\s:\s(.+)$/.exec(p);
    return kv ? { text: kv[1].trim(), value: kv[2].trim() } : { text: p, value: p };
  });
}

function applyRegex(values: { text: string; value: string }[], regex: string | undefined, vars: any[]): VarOption[] {
  if (!regex) return values;
  let re: RegExp;
  try {
    const r = interpolate(regex, vars, { format: "regex" });
    const m = /^\/(.*)\/([gimsuy]*)$/.exec(r);
    re = m ? new RegExp(m[1], m[2].replace("g", "")) : new RegExp(r);
  } catch {
    return values;
  }
  const out: VarOption[] = [];
  const seen = new Set<string>();
  for (const o of values) {
    const m = re.exec(o.value);
    if (!m) continue;
    const groups = (m as any).groups || {};
    const value = groups.value ?? m[1] ?? m[0];
    const text = groups.text ?? (groups.value ?? m[1] ?? (o.text !== o.value ? o.text : m[0]));
    if (value === undefined || seen.has(value)) continue;
    seen.add(value);
    out.push({ text: String(text), value: String(value) });
  }
  return out;
}

function sortOptions(opts: VarOption[], sort: number | undefined): VarOption[] {
  if (!sort) return opts;
  const s = opts.slice();
  const num = (x: string) => {
    const m = /-?\d+(\.\d+)?/.exec(x);
    return m ? parseFloat(m[0]) : -Infinity;
  };
  switch (sort) {
    case 1:
      s.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
      break;
    case 2:
      s.sort((a, b) => (a.text < b.text ? 1 : a.text > b.text ? -1 : 0));
      break;
    case 3:
      s.sort((a, b) => num(a.text) - num(b.text));
      break;
    case 4:
      s.sort((a, b) => num(b.text) - num(a.text));
      break;
    case 5:
      s.sort((a, b) => a.text.toLowerCase().localeCompare(b.text.toLowerCase()));
      break;
    case 6:
      s.sort((a, b) => b.text.toLowerCase().localeCompare(a.text.toLowerCase()));
      break;
    case 7:
      s.sort((a, b) => a.text.localeCompare(b.text, undefined, { numeric: true }));
      break;
    case 8:
      s.sort((a, b) => b.text.localeCompare(a.text, undefined, { numeric: true }));
      break;
  }
  return s;
}

function queryText(v: any): string {
  const q = v.query;
  if (typeof q === "string") return q;
  if (q && typeof q === "object") return q.query ?? q.expr ?? q.rawSql ?? v.definition ?? "";
  return v.definition || "";
}

async function prometheusFind(ds: DataSource, query: string, range: TimeRange): Promise<{ text: string; value: string }[]> {
  const base = `/api/datasources/proxy/uid/${encodeURIComponent(ds.uid)}/api/v1/`;
  const start = Math.floor(range.from / 1000);
  const end = Math.ceil(range.to / 1000);
  const tr = `start=${start}&end=${end}`;
  const vals = (xs: string[]) => xs.map((x) => ({ text: x, value: x }));
  let m: RegExpExecArray | null;
  const q = query.trim();
  if ((m = /^label_names\(\s*(.*?)\s*\)$/.exec(q))) {
    const match = m[1] ? `&match[]=${encodeURIComponent(m[1])}` : "";
    const r = await api.get(`${base}labels?${tr}${match}`);
    return vals(r.data || []);
  }
  if ((m = /^label_values\(\s*([a-zA-Z_][\w]*)\s*\)$/.exec(q))) {
    const r = await api.get(`${base}label/${encodeURIComponent(m[1])}/values?${tr}`);
    return vals(r.data || []);
  }
  if ((m = /^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][\w]*)\s*\)$/.exec(q))) {
    const label = m[2];
    const r = await api.get(`${base}series?${tr}&match[]=${encodeURIComponent(m[1])}`);
    const set = new Set<string>();
    for (const s of r.data || []) if (s[label] !== undefined) set.add(s[label]);
    return vals([...set]);
  }
  if ((m = /^metrics\(\s*(.*?)\s*\)$/.exec(q))) {
    const r = await api.get(`${base}label/__name__/values?${tr}`);
    let re: RegExp | null = null;
    try {
      re = m[1] ? new RegExp(m[1]) : null;
    } catch {
      re = null;
    }
    return vals((r.data || []).filter((x: string) => !re || re.test(x)));
  }
  let expr = q;
  if ((m = /^query_result\(\s*([\s\S]+)\s*\)$/.exec(q))) expr = m[1];
  const r = await api.get(`${base}query?query=${encodeURIComponent(expr)}&time=${end}`);
  const out: string[] = [];
  const result = r.data?.result;
  if (Array.isArray(result)) {
    for (const s of result) {
      const metric = s.metric || {};
      const name = metric.__name__ || "";
      const labels = Object.keys(metric)
        .filter((k) => k !== "__name__")
        .map((k) => `${k}="${metric[k]}"`)
        .join(",");
      out.push(`${name}{${labels}} ${s.value?.[1]} ${Math.round((s.value?.[0] || 0) * 1000)}`);
    }
  } else if (Array.isArray(r.data?.result)) {
    out.push(String(r.data.result[1]));
  }
  return vals(out);
}

function testDataFind(query: string): { text: string; value: string }[] {
  // TestData answers "*" with A, B, C and "A.*" with AA, AB, AC; a comma list is returned as is.
  const q = query.trim();
  if (!q || q === "*") return ["A", "B", "C"].map((x) => ({ text: x, value: x }));
  const m = /^(.*)\.\*$/.exec(q);
  if (m) return ["A", "B", "C"].map((x) => ({ text: m[1] + x, value: m[1] + x }));
  if (q.includes(",")) return splitCustom(q);
  return [{ text: q, value: q }];
}

async function dsQueryFind(ds: DataSource, query: any, range: TimeRange): Promise<{ text: string; value: string }[]> {
  const target: any = typeof query === "object" && query ? { ...query } : { query, rawSql: query, expr: query };
  if (isSql(ds.type) && typeof query === "string") target.format = "table";
  const body = { from: String(range.from), to: String(range.to), queries: [{ refId: "tempvar", ...target, datasource: { uid: ds.uid, type: ds.type } }] };
  const res = await api.post("/api/ds/query", body);
  const result = res?.results?.tempvar;
  if (result?.error) throw new Error(result.error);
  const out: { text: string; value: string }[] = [];
  for (const raw of result?.frames || []) {
    const f = decodeFrame(raw);
    const textF = f.fields.find((x) => x.name === "__text");
    const valueF = f.fields.find((x) => x.name === "__value");
    const first = f.fields.find((x) => x.type !== "time") || f.fields[0];
    if (!first) continue;
    for (let i = 0; i < f.length; i++) {
      const val = (valueF || textF || first).values[i];
      const txt = (textF || valueF || first).values[i];
      if (val === null || val === undefined) continue;
      out.push({ text: String(txt), value: String(val) });
    }
  }
  return out;
}

/** The server's variable query (Grafana's metricFindQuery); null when the server has none. */
async function serverFind(ds: DataSource, query: any, range: TimeRange): Promise<{ text: string; value: string }[] | null> {
  try {
    const res = await api.post("/api/ds/variable-query", { datasource: { uid: ds.uid, type: ds.type }, query, from: String(range.from), to: String(range.to) });
    if (!Array.isArray(res)) return null;
    return res.map((o: any) => ({ text: String(o.text ?? o.value), value: String(o.value ?? o.text) }));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    if (e instanceof ApiError && e.status === 400 && isTestData(ds.type)) return testDataFind(typeof query === "string" ? query : String(query?.query ?? ""));
    throw e;
  }
}

/** Options for one variable (network for query variables). */
export async function loadOptions(v: any, ctx: VarContext): Promise<VarOption[]> {
  let opts: VarOption[] = [];
  switch (v.type) {
    case "custom":
      opts = splitCustom(interpolate(String(v.query ?? ""), ctx.vars));
      break;
    case "constant":
      opts = [{ text: String(v.query ?? ""), value: String(v.query ?? "") }];
      break;
    case "textbox": {
      const val = String(v.current?.value ?? v.query ?? "");
      opts = [{ text: val, value: val }];
      break;
    }
    case "interval": {
      opts = splitCustom(String(v.query ?? "1m,10m,30m,1h,6h,12h,1d,7d,14d,30d"));
      if (v.auto) opts.unshift({ text: "auto", value: AUTO_PREFIX + v.name });
      break;
    }
    case "datasource": {
      const type = String(v.query || "");
      let list = ctx.datasources.filter((d) => d.type === type || (isTestData(type) && isTestData(d.type)));
      const named = list.map((d) => ({ text: d.name, value: d.name }));
      opts = applyRegex(named, v.regex, ctx.vars);
      const def = list.find((d) => d.isDefault);
      if (def && !v.regex) opts.unshift({ text: "default", value: "default" });
      list = [];
      break;
    }
    case "query": {
      const ref = typeof v.datasource === "string" ? interpolate(v.datasource, ctx.vars) : v.datasource && typeof v.datasource === "object" ? { ...v.datasource, uid: v.datasource.uid ? interpolate(String(v.datasource.uid), ctx.vars) : undefined } : v.datasource;
      const ds = resolveDataSource(ref, ctx.datasources);
      if (!ds) throw new Error("Data source not found");
      const q = queryText(v);
      const text = interpolate(q, ctx.vars, { dsType: ds.type, range: ctx.range });
      let found: { text: string; value: string }[] | null = await serverFind(ds, typeof v.query === "object" && v.query ? { ...interpolateObj(v.query, ctx, ds.type), query: text } : text, ctx.range);
      if (found === null) {
        // an older server without /api/ds/variable-query: ask the data source from here
        if (ds.type === "prometheus") found = await prometheusFind(ds, text, ctx.range);
        else if (isTestData(ds.type)) found = testDataFind(text);
        else found = await dsQueryFind(ds, typeof v.query === "object" && v.query ? interpolateObj(v.query, ctx, ds.type) : text, ctx.range);
      }
      opts = sortOptions(applyRegex(found, v.regex, ctx.vars), v.sort);
      break;
    }
    default:
      opts = Array.isArray(v.options) ? v.options.map((o: any) => ({ text: String(o.text), value: String(o.value) })) : [];
  }
  if (v.includeAll && v.type !== "constant" && v.type !== "textbox" && v.type !== "interval") opts.unshift({ text: "All", value: ALL });
  return opts;
}

function interpolateObj(q: any, ctx: VarContext, dsType: string): any {
  return interpolateDeep(q, ctx.vars, { dsType, range: ctx.range });
}

/** Make `current` valid against the options: keep what is still offered, else the first option. */
export function validateCurrent(v: any, opts: VarOption[]): void {
  if (v.type === "textbox" || v.type === "constant") {
    const val = v.type === "constant" ? String(v.query ?? "") : String(v.current?.value ?? v.query ?? "");
    v.current = { text: val, value: val };
    return;
  }
  const want = asArray(v.current?.value);
  const byValue = new Map(opts.map((o) => [o.value, o]));
  const byText = new Map(opts.map((o) => [o.text, o]));
  let keep = want.map((w) => byValue.get(w) || byText.get(w)).filter(Boolean) as VarOption[];
  if (!v.multi) keep = keep.slice(0, 1);
  if (!keep.length) {
    if (want.length && v.type === "query" && !opts.length) {
      // nothing loaded (error or empty result): keep the saved selection
      return;
    }
    keep = opts.length ? [opts[0]] : [];
  }
  setCurrent(v, keep);
}

export function setCurrent(v: any, chosen: VarOption[]): void {
  const values = chosen.map((o) => o.value);
  const texts = chosen.map((o) => o.text);
  if (v.multi) v.current = { text: texts, value: values };
  else v.current = { text: texts[0] ?? "", value: values[0] ?? "" };
  if (Array.isArray(v.options)) {
    const set = new Set(values);
    v.options = v.options.map((o: any) => ({ ...o, selected: set.has(o.value) }));
  }
}

/** Apply var-x URL parameters (repeatable for multi-value). */
export function applyUrlValues(vars: any[], params: URLSearchParams): void {
  for (const v of vars) {
    const vals = params.getAll("var-" + v.name);
    if (!vals.length) continue;
    const norm = vals.map((x) => (x === "All" || x === "$__all" ? ALL : x));
    if (v.type === "textbox" || v.type === "constant") {
      v.current = { text: norm[0], value: norm[0] };
      if (v.type === "textbox") v.query = v.query ?? norm[0];
    } else {
      v.current = v.multi ? { text: norm, value: norm } : { text: norm[0], value: norm[0] };
    }
  }
}

export function writeUrlValues(vars: any[], params: URLSearchParams): void {
  for (const v of vars) {
    params.delete("var-" + v.name);
    if (v.skipUrlSync || v.type === "constant" || v.type === "adhoc") continue;
    for (const val of asArray(v.current?.value)) params.append("var-" + v.name, val === ALL ? "All" : val);
  }
}

/** Refresh the given variables in order, re-validating their current values. */
export async function refreshVariables(names: string[] | null, ctx: VarContext, onlyOnTimeChange = false): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  for (const v of ctx.vars) {
    if (!v || !v.name) continue;
    if (names && !names.includes(v.name)) continue;
    if (v.type === "adhoc") continue;
    if (onlyOnTimeChange && !(v.type === "query" && v.refresh === 2) && v.type !== "interval") continue;
    const storedOnly = v.type === "query" && (v.refresh === 0 || v.refresh === false || v.refresh === undefined) && Array.isArray(v.options) && v.options.length > 0;
    try {
      const opts = storedOnly ? v.options.map((o: any) => ({ text: String(o.text), value: String(o.value) })) : await loadOptions(v, ctx);
      v.options = opts;
      validateCurrent(v, opts);
    } catch (e) {
      errors[v.name] = e instanceof Error ? e.message : String(e);
      if (!Array.isArray(v.options)) v.options = [];
    }
  }
  return errors;
}

/** Names of the variables that must refresh when `name` changes (transitively, in order). */
export function dependents(vars: any[], name: string): string[] {
  const out: string[] = [];
  const changed = new Set([name]);
  for (const v of vars) {
    if (!v || changed.has(v.name)) continue;
    for (const c of changed) {
      if (usesVariable(v, c)) {
        out.push(v.name);
        changed.add(v.name);
        break;
      }
    }
  }
  return out;
}
