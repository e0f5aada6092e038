// Data sources: list, add by type, a form generated from the type's config schema, Save & test.
import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { navigate } from "../lib/router";
import { Alert, PageHeader, Spinner } from "../lib/ui";
import { invalidateDataSources } from "../dashboard/datasources";
import { isOrgAdmin } from "../lib/session";

export interface SchemaField {
  key: string;
  label: string;
  type: "string" | "number" | "boolean" | "select" | "password" | "text";
  in: "root" | "jsonData" | "secureJsonData";
  required?: boolean;
  placeholder?: string;
  description?: string;
  options?: { value: string; label: string }[];
  default?: any;
  showIf?: string; // "basicAuth" → only when that root/jsonData boolean is true
}

export interface DsType {
  id: string;
  name: string;
  description?: string;
  fields: SchemaField[];
}

// Used when the server does not publish a schema for a type.
const FALLBACK: DsType[] = [
  { id: "grafana-testdata-datasource", name: "TestData", description: "Generated test data: random walks, CSV, pulses", fields: [] },
  {
    id: "prometheus",
    name: "Prometheus",
    description: "Open-source monitoring system and time series database",
    fields: [
      { key: "url", label: "Prometheus server URL", type: "string", in: "root", required: true, placeholder: "http://localhost:9090" },
      { key: "basicAuth", label: "Basic authentication", type: "boolean", in: "root" },
      { key: "basicAuthUser", label: "User", type: "string", in: "root", showIf: "basicAuth" },
      { key: "basicAuthPassword", label: "Password", type: "password", in: "secureJsonData", showIf: "basicAuth" },
      { key: "timeInterval", label: "Scrape interval", type: "string", in: "jsonData", placeholder: "15s" },
      { key: "queryTimeout", label: "Query timeout", type: "string", in: "jsonData", placeholder: "60s" },
      { key: "httpMethod", label: "HTTP method", type: "select", in: "jsonData", options: [{ value: "POST", label: "POST" }, { value: "GET", label: "GET" }], default: "POST" },
      { key: "tlsSkipVerify", label: "Skip TLS verify", type: "boolean", in: "jsonData" },
    ],
  },
  {
    id: "grafana-postgresql-datasource",
    name: "PostgreSQL",
    fields: [
      { key: "url", label: "Host URL", type: "string", in: "root", required: true, placeholder: "localhost:5432" },
      { key: "database", label: "Database name", type: "string", in: "jsonData", required: true },
      { key: "user", label: "Username", type: "string", in: "root" },
      { key: "password", label: "Password", type: "password", in: "secureJsonData" },
      { key: "sslmode", label: "TLS/SSL mode", type: "select", in: "jsonData", options: ["disable", "require", "verify-ca", "verify-full"].map((v) => ({ value: v, label: v })), default: "disable" },
      { key: "timeInterval", label: "Min time interval", type: "string", in: "jsonData", placeholder: "1m" },
    ],
  },
  {
    id: "mysql",
    name: "MySQL",
    fields: [
      { key: "url", label: "Host URL", type: "string", in: "root", required: true, placeholder: "localhost:3306" },
      { key: "database", label: "Database name", type: "string", in: "jsonData", required: true },
      { key: "user", label: "Username", type: "string", in: "root" },
      { key: "password", label: "Password", type: "password", in: "secureJsonData" },
      { key: "timeInterval", label: "Min time interval", type: "string", in: "jsonData", placeholder: "1m" },
    ],
  },
  {
    id: "sqlite",
    name: "SQLite",
    fields: [{ key: "path", label: "Database file path", type: "string", in: "jsonData", required: true, placeholder: "/var/lib/data.db" }],
  },
];

/** Read a schema published by the server in either a field list or a JSON-Schema-like shape. */
export function normaliseSchema(raw: any): SchemaField[] | null {
  if (!raw) return null;
  if (Array.isArray(raw)) raw = { fields: raw };
  if (Array.isArray(raw.fields)) {
    return raw.fields
      .filter((f: any) => f && (f.key || f.name))
      .map((f: any) => ({
        key: f.key || f.name,
        label: f.label || f.title || f.key || f.name,
        type: f.secure || f.type === "password" ? "password" : f.enum || f.options ? "select" : f.type === "boolean" ? "boolean" : f.type === "number" || f.type === "integer" ? "number" : f.type === "text" ? "text" : "string",
        in: f.in || f.location || (f.secure ? "secureJsonData" : ["url", "user", "database", "basicAuth", "basicAuthUser", "withCredentials"].includes(f.key || f.name) ? "root" : "jsonData"),
        required: !!f.required,
        placeholder: f.placeholder,
        description: f.description,
        options: f.options ? f.options.map((o: any) => (typeof o === "object" ? { value: String(o.value), label: String(o.label ?? o.value) } : { value: String(o), label: String(o) })) : f.enum ? f.enum.map((o: any) => ({ value: String(o), label: String(o) })) : undefined,
        default: f.default,
        showIf: f.showIf,
      }));
  }
  const fields: SchemaField[] = [];
  for (const section of ["root", "jsonData", "secureJsonData"] as const) {
    const props = section === "root" ? raw.properties : raw[section]?.properties;
    if (!props) continue;
    const req: string[] = (section === "root" ? raw.required : raw[section]?.required) || [];
    for (const [key, p] of Object.entries<any>(props)) {
      if (section === "root" && (key === "jsonData" || key === "secureJsonData")) continue;
      fields.push({
        key,
        label: p.title || key,
        type: section === "secureJsonData" ? "password" : p.enum ? "select" : p.type === "boolean" ? "boolean" : p.type === "number" || p.type === "integer" ? "number" : "string",
        in: section,
        required: req.includes(key),
        description: p.description,
        placeholder: p.examples?.[0],
        options: p.enum?.map((o: any) => ({ value: String(o), label: String(o) })),
        default: p.default,
      });
    }
  }
  return fields.length || raw.properties ? fields : null;
}

function fromCatalogue(list: any[]): DsType[] {
  return list
    .filter((t) => t && t.type)
    .map((t) => ({
      id: t.type,
      name: t.name || t.type,
      description: t.description || t.category,
      fields: (t.config || []).map((f: any) => ({
        key: f.key,
        label: f.label || f.key,
        type: f.type === "secret" ? "password" : f.type === "select" ? "select" : f.type === "boolean" ? "boolean" : f.type === "number" ? "number" : f.type === "text" || f.type === "textarea" ? "text" : "string",
        in: f.target === "jsonData" || f.target === "secureJsonData" ? f.target : "root",
        required: !!f.required,
        placeholder: f.placeholder ?? (f.default !== undefined && typeof f.default !== "boolean" ? String(f.default) : undefined),
        description: f.description,
        options: f.options ? f.options.map((o: any) => (typeof o === "object" ? { value: String(o.value), label: String(o.label ?? o.value) } : { value: String(o), label: String(o) })) : undefined,
        default: f.default,
        showIf: f.showIf ?? (f.key === "basicAuthUser" || f.key === "basicAuthPassword" ? "basicAuth" : undefined),
      })),
    }));
}

async function loadTypes(): Promise<DsType[]> {
  try {
    // Vigil's catalogue: every type this server can query, with its settings schema
    const cat = await api.get("/api/datasource-types");
    if (Array.isArray(cat) && cat.length) return fromCatalogue(cat);
  } catch {
    /* older server: fall through */
  }
  try {
    const plugins = await api.get("/api/plugins?type=datasource&embedded=0");
    if (Array.isArray(plugins) && plugins.length) {
      const out: DsType[] = [];
      for (const p of plugins) {
        if (p.type && p.type !== "datasource") continue;
        const schema = normaliseSchema(p.configSchema ?? p.schema ?? p.jsonDataSchema);
        const fb = FALLBACK.find((f) => f.id === p.id || (p.id === "testdata" && f.id === "grafana-testdata-datasource") || (p.id === "postgres" && f.id === "grafana-postgresql-datasource"));
        out.push({ id: p.id, name: p.name || p.id, description: p.info?.description || fb?.description, fields: schema ?? fb?.fields ?? [] });
      }
      if (out.length) return out;
    }
  } catch {
    /* no plugin list: use the built-in types */
  }
  return FALLBACK;
}

export function DataSourcesPage() {
  const [list, setList] = useState<any[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    document.title = "Data sources - Vigil";
    api.get("/api/datasources").then(setList).catch((e) => setError(errorMessage(e)));
  }, []);
  return (
    <div class="page">
      <PageHeader
        title="Data sources"
        subtitle="View and manage your connected data source connections"
        actions={
          isOrgAdmin() ? (
            <a class="btn btn-primary" href="/connections/datasources/new">
              Add new data source
            </a>
          ) : null
        }
      />
      {error ? <Alert kind="error">{error}</Alert> : null}
      {list === null && !error ? <Spinner /> : null}
      {list ? (
        <div class="ds-list">
          {list.map((d) => (
            <a key={d.uid} class="ds-card" href={`/connections/datasources/edit/${encodeURIComponent(d.uid)}`}>
              <div class="ds-name">
                {d.name} {d.isDefault ? <span class="tag">default</span> : null}
              </div>
              <div class="muted small">
                {d.typeName || d.type} {d.url ? `· ${d.url}` : ""}
              </div>
            </a>
          ))}
          {!list.length ? <p class="muted">No data sources defined yet.</p> : null}
        </div>
      ) : null}
    </div>
  );
}

export function DataSourceNewPage() {
  const [types, setTypes] = useState<DsType[] | null>(null);
  const [filter, setFilter] = useState("");
  const [error, setError] = useState("");
  useEffect(() => {
    document.title = "Add data source - Vigil";
    loadTypes().then(setTypes);
  }, []);
  const add = async (t: DsType) => {
    setError("");
    try {
      const existing = await api.get("/api/datasources").catch(() => [] as any[]);
      let name = t.name;
      let i = 1;
      while (existing.some((d: any) => d.name === name)) name = `${t.name}-${i++}`;
      const jsonData: any = {};
      for (const f of t.fields) if (f.in === "jsonData" && f.default !== undefined) jsonData[f.key] = f.default;
      const res = await api.post("/api/datasources", { name, type: t.id, access: "proxy", isDefault: !existing.length, jsonData });
      invalidateDataSources();
      const uid = res.datasource?.uid || res.uid;
      navigate(`/connections/datasources/edit/${encodeURIComponent(uid)}`);
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <div class="page">
      <PageHeader title="Add data source" subtitle="Choose a data source type" />
      <input class="input" placeholder="Filter by name or type" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      {error ? <Alert kind="error">{error}</Alert> : null}
      {!types ? (
        <Spinner />
      ) : (
        <div class="ds-types">
          {types
            .filter((t) => !filter || t.name.toLowerCase().includes(filter.toLowerCase()) || t.id.includes(filter.toLowerCase()))
            .map((t) => (
              <button key={t.id} class="ds-type" onClick={() => add(t)} aria-label={`Add ${t.name}`}>
                <div class="ds-name">{t.name}</div>
                <div class="muted small">{t.description || t.id}</div>
              </button>
            ))}
        </div>
      )}
    </div>
  );
}

export function DataSourceEditPage({ uid }: { uid: string }) {
  const [ds, setDs] = useState<any>(null);
  const [type, setType] = useState<DsType | null>(null);
  const [secure, setSecure] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [result, setResult] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [, force] = useState(0);

  useEffect(() => {
    (async () => {
      try {
        const d = await api.get(`/api/datasources/uid/${encodeURIComponent(uid)}`);
        const types = await loadTypes();
        const t = types.find((x) => x.id === d.type || (x.id === "grafana-testdata-datasource" && d.type === "testdata")) || FALLBACK.find((x) => x.id === d.type || (d.type === "testdata" && x.id === "grafana-testdata-datasource") || (d.type === "postgres" && x.id === "grafana-postgresql-datasource")) || { id: d.type, name: d.type, fields: [] };
        d.jsonData = d.jsonData || {};
        setDs(d);
        setType(t);
        document.title = `${d.name} - Data sources - Vigil`;
      } catch (e) {
        setError(errorMessage(e));
      }
    })();
  }, [uid]);

  if (error && !ds) return <div class="page"><Alert kind="error">{error}</Alert></div>;
  if (!ds || !type) return <div class="page"><Spinner /></div>;

  const value = (f: SchemaField) => (f.in === "root" ? ds[f.key] : f.in === "jsonData" ? ds.jsonData[f.key] : secure[f.key]);
  const write = (f: SchemaField, v: any) => {
    if (f.in === "root") ds[f.key] = v;
    else if (f.in === "jsonData") ds.jsonData[f.key] = v;
    else setSecure({ ...secure, [f.key]: v });
    force((x) => x + 1);
  };
  const visible = (f: SchemaField) => !f.showIf || !!(ds[f.showIf] ?? ds.jsonData[f.showIf]);

  const saveAndTest = async () => {
    setBusy(true);
    setResult(null);
    try {
      for (const f of type.fields) {
        if (f.required && visible(f) && f.in !== "secureJsonData" && (value(f) === undefined || value(f) === "")) throw new Error(`${f.label} is required`);
      }
      const body: any = { ...ds, secureJsonData: Object.keys(secure).length ? secure : undefined };
      delete body.secureJsonFields;
      const res = await api.put(`/api/datasources/uid/${encodeURIComponent(uid)}`, body);
      if (res?.datasource) setDs({ ...res.datasource, jsonData: res.datasource.jsonData || {} });
      setSecure({});
      invalidateDataSources();
      try {
        const h = await api.get(`/api/datasources/uid/${encodeURIComponent(uid)}/health`);
        setResult({ kind: h.status === "OK" || h.status === "ok" ? "success" : "error", text: h.message || h.status || "Data source is working" });
      } catch (e) {
        setResult({ kind: "error", text: errorMessage(e) });
      }
    } catch (e) {
      setResult({ kind: "error", text: errorMessage(e) });
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!confirm(`Delete data source ${ds.name}?`)) return;
    try {
      await api.del(`/api/datasources/uid/${encodeURIComponent(uid)}`);
      invalidateDataSources();
      navigate("/connections/datasources");
    } catch (e) {
      setResult({ kind: "error", text: errorMessage(e) });
    }
  };

  return (
    <div class="page">
      <PageHeader title={ds.name} subtitle={`Type: ${type.name}`} />
      {ds.readOnly ? <Alert kind="warning">This data source was added by provisioning and cannot be changed here.</Alert> : null}
      <div class="form ds-form">
        <div class="field-row">
          <label class="field">
            <span class="field-label">Name</span>
            <input class="input" name="name" value={ds.name} onInput={(e) => write({ key: "name", in: "root" } as SchemaField, (e.target as HTMLInputElement).value)} />
          </label>
          <label class="field check">
            <input type="checkbox" checked={!!ds.isDefault} onChange={(e) => write({ key: "isDefault", in: "root" } as SchemaField, (e.target as HTMLInputElement).checked)} /> Default
          </label>
        </div>
        {type.fields.filter(visible).map((f) => (
          <label class={`field ${f.type === "boolean" ? "check" : ""}`} key={f.in + f.key}>
            {f.type === "boolean" ? (
              <>
                <input type="checkbox" name={f.key} checked={!!value(f)} onChange={(e) => write(f, (e.target as HTMLInputElement).checked)} /> {f.label}
              </>
            ) : (
              <>
                <span class="field-label">
                  {f.label}
                  {f.required ? " *" : ""}
                </span>
                {f.description ? <span class="field-desc">{f.description}</span> : null}
                {f.type === "select" ? (
                  <select class="input" name={f.key} value={value(f) ?? f.default ?? ""} onChange={(e) => write(f, (e.target as HTMLSelectElement).value)}>
                    {(f.options || []).map((o) => (
                      <option key={o.value} value={o.value}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                ) : f.type === "password" ? (
                  <input
                    class="input"
                    type="password"
                    name={f.key}
                    autoComplete="new-password"
                    placeholder={ds.secureJsonFields?.[f.key] ? "configured (type to replace)" : f.placeholder || ""}
                    value={secure[f.key] || ""}
                    onInput={(e) => write(f, (e.target as HTMLInputElement).value)}
                  />
                ) : f.type === "text" ? (
                  <textarea class="input" name={f.key} value={value(f) ?? ""} onInput={(e) => write(f, (e.target as HTMLTextAreaElement).value)} />
                ) : (
                  <input
                    class="input"
                    name={f.key}
                    type={(f.type === "number" ? "number" : "text") as any}
                    placeholder={f.placeholder || ""}
                    value={value(f) ?? ""}
                    onInput={(e) => {
                      const v = (e.target as HTMLInputElement).value;
                      write(f, f.type === "number" ? (v === "" ? undefined : Number(v)) : v);
                    }}
                  />
                )}
              </>
            )}
          </label>
        ))}
        {result ? (
          <div class="ds-test-result">
            <Alert kind={result.kind}>{result.text}</Alert>
          </div>
        ) : null}
        <div class="form-actions">
          <a class="btn btn-secondary" href="/connections/datasources">
            Back
          </a>
          <button class="btn btn-danger" onClick={remove} disabled={ds.readOnly}>
            Delete
          </button>
          <button class="btn btn-primary" onClick={saveAndTest} disabled={busy || ds.readOnly}>
            {busy ? "Testing…" : "Save & test"}
          </button>
        </div>
      </div>
    </div>
  );
}
