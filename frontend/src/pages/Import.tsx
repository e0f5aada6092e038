// Import a dashboard: paste or upload JSON, map `__inputs` to data sources and values, save.
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, errorMessage } from "../lib/api";
import { navigate } from "../lib/router";
import { Alert, PageHeader } from "../lib/ui";
import { loadDataSources, sameType, type DataSource } from "../dashboard/datasources";

function substitute(obj: any, values: Record<string, string>): any {
  if (typeof obj === "string") {
    return obj.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, name) => (name in values ? values[name] : m));
  }
  if (Array.isArray(obj)) return obj.map((x) => substitute(x, values));
  if (obj && typeof obj === "object") {
    const out: any = {};
    for (const [k, v] of Object.entries(obj)) out[k] = substitute(v, values);
    return out;
  }
  return obj;
}

export function ImportPage() {
  const [text, setText] = useState("");
  const [parsed, setParsed] = useState<any>(null);
  const [error, setError] = useState("");
  const [title, setTitle] = useState("");
  const [uid, setUid] = useState("");
  const [folderUid, setFolderUid] = useState("");
  const [folders, setFolders] = useState<any[]>([]);
  const [datasources, setDatasources] = useState<DataSource[]>([]);
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [exists, setExists] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = "Import dashboard - Vigil";
    api.get("/api/folders?limit=1000").then(setFolders).catch(() => setFolders([]));
    loadDataSources(true).then(setDatasources);
  }, []);

  const load = (raw: string) => {
    setError("");
    try {
      let d = JSON.parse(raw);
      if (d && d.dashboard && typeof d.dashboard === "object" && !d.panels && !d.rows) d = d.dashboard;
      if (!d || typeof d !== "object" || Array.isArray(d)) throw new Error("The JSON must be a dashboard object");
      if (typeof d.apiVersion === "string" && d.apiVersion.startsWith("dashboard.grafana.app/v2")) throw new Error("Dashboards in Grafana's v2 resource format are not supported; export it as classic JSON");
      setParsed(d);
      setTitle(d.title || "Imported dashboard");
      setUid(d.uid || "");
      const init: Record<string, string> = {};
      for (const inp of d.__inputs || []) {
        if (inp.type === "datasource") {
          const match = datasources.find((x) => sameType(x.type, inp.pluginId) && x.isDefault) || datasources.find((x) => sameType(x.type, inp.pluginId));
          init[inp.name] = match ? match.uid : "";
        } else init[inp.name] = inp.value ?? "";
      }
      setInputs(init);
    } catch (e) {
      setParsed(null);
      setError(`Not valid dashboard JSON: ${errorMessage(e)}`);
    }
  };

  const upload = (ev: Event) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (!f) return;
    f.text().then((t) => {
      setText(t);
      load(t);
    });
  };

  const submit = async (overwrite: boolean) => {
    if (!parsed) return;
    setBusy(true);
    setError("");
    try {
      const missing = (parsed.__inputs || []).filter((i: any) => !inputs[i.name]);
      if (missing.length) throw new Error(`Choose a value for ${missing.map((m: any) => m.label || m.name).join(", ")}`);
      const dash = substitute(parsed, inputs);
      delete dash.__inputs;
      delete dash.__elements;
      dash.id = null;
      dash.title = title;
      dash.uid = uid || undefined;
      const res = await api.post("/api/dashboards/db", { dashboard: dash, folderUid, overwrite, message: "Imported" });
      navigate(res.url || `/d/${res.uid}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        setExists(true);
        setError(e.message);
      } else setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="page">
      <PageHeader title="Import dashboard" subtitle="Paste dashboard JSON exported from Grafana or Vigil, or upload a .json file" />
      {!parsed ? (
        <div class="form">
          <label class="field">
            <span class="field-label">Upload dashboard JSON file</span>
            <input type="file" accept=".json,application/json" name="upload" onChange={upload} />
          </label>
          <label class="field">
            <span class="field-label">Import via dashboard JSON model</span>
            <textarea class="input code" name="dashboard-json" rows={16} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          </label>
          {error ? <Alert kind="error">{error}</Alert> : null}
          <button class="btn btn-primary" onClick={() => load(text)} disabled={!text.trim()}>
            Load
          </button>
        </div>
      ) : (
        <div class="form">
          <label class="field">
            <span class="field-label">Name</span>
            <input class="input" name="title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
          </label>
          <label class="field">
            <span class="field-label">Folder</span>
            <select class="input" name="folder" value={folderUid} onChange={(e) => setFolderUid((e.target as HTMLSelectElement).value)}>
              <option value="">Dashboards (root)</option>
              {folders.map((f) => (
                <option key={f.uid} value={f.uid}>
                  {f.title}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">Unique identifier (UID)</span>
            <input class="input" name="uid" value={uid} placeholder="generated when empty" onInput={(e) => setUid((e.target as HTMLInputElement).value)} />
          </label>
          {(parsed.__inputs || []).map((inp: any) => (
            <label class="field" key={inp.name}>
              <span class="field-label">{inp.label || inp.name}</span>
              {inp.description ? <span class="field-desc">{inp.description}</span> : null}
              {inp.type === "datasource" ? (
                <select class="input" name={`input-${inp.name}`} value={inputs[inp.name] || ""} onChange={(e) => setInputs({ ...inputs, [inp.name]: (e.target as HTMLSelectElement).value })}>
                  <option value="">Select a {inp.pluginName || inp.pluginId} data source</option>
                  {datasources
                    .filter((d) => sameType(d.type, inp.pluginId))
                    .map((d) => (
                      <option key={d.uid} value={d.uid}>
                        {d.name}
                      </option>
                    ))}
                </select>
              ) : (
                <input class="input" name={`input-${inp.name}`} value={inputs[inp.name] || ""} onInput={(e) => setInputs({ ...inputs, [inp.name]: (e.target as HTMLInputElement).value })} />
              )}
            </label>
          ))}
          {error ? <Alert kind="error">{error}</Alert> : null}
          <div class="form-actions">
            <button class="btn btn-secondary" onClick={() => { setParsed(null); setExists(false); setError(""); }}>
              Cancel
            </button>
            {exists ? (
              <button class="btn btn-danger" onClick={() => submit(true)} disabled={busy}>
                Import (Overwrite)
              </button>
            ) : (
              <button class="btn btn-primary" onClick={() => submit(false)} disabled={busy}>
                Import
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
