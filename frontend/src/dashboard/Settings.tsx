// Dashboard settings: general, variables editor, JSON model, versions.
import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { Alert } from "../lib/ui";
import { deepCopy, type Dashboard } from "./model";
import type { DataSource } from "./datasources";
import { loadOptions } from "./variables";
import type { TimeRange } from "../lib/time";

const VAR_TYPES: [string, string][] = [
  ["query", "Query"],
  ["custom", "Custom"],
  ["constant", "Constant"],
  ["textbox", "Text box"],
  ["interval", "Interval"],
  ["datasource", "Data source"],
];

interface Props {
  dash: Dashboard;
  meta: any;
  datasources: DataSource[];
  range: TimeRange;
  onChange: (d: Dashboard, meta?: any) => void;
  onClose: () => void;
}

export function DashboardSettings(props: Props) {
  const [section, setSection] = useState<"general" | "variables" | "json" | "versions">("general");
  return (
    <div class="settings-page">
      <div class="editor-bar">
        <h2>Settings: {props.dash.title}</h2>
        <div class="spacer" />
        <button class="btn btn-secondary" onClick={props.onClose}>
          ← Back to dashboard
        </button>
      </div>
      <div class="settings-main">
        <nav class="settings-nav">
          {(["general", "variables", "json", "versions"] as const).map((s) => (
            <button key={s} class={`menu-item ${section === s ? "active" : ""}`} onClick={() => setSection(s)}>
              {s === "general" ? "General" : s === "variables" ? "Variables" : s === "json" ? "JSON Model" : "Versions"}
            </button>
          ))}
        </nav>
        <div class="settings-body">
          {section === "general" ? <General {...props} /> : null}
          {section === "variables" ? <Variables {...props} /> : null}
          {section === "json" ? <JsonModel {...props} /> : null}
          {section === "versions" ? <Versions {...props} /> : null}
        </div>
      </div>
    </div>
  );
}

function General({ dash, meta, onChange }: Props) {
  const [folders, setFolders] = useState<{ uid: string; title: string }[]>([]);
  const [, force] = useState(0);
  useEffect(() => {
    api.get("/api/folders?limit=1000").then(setFolders).catch(() => setFolders([]));
  }, []);
  const upd = (fn: () => void, m?: any) => {
    fn();
    force((x) => x + 1);
    onChange(dash, m);
  };
  return (
    <div class="form">
      <label class="field">
        <span class="field-label">Title</span>
        <input class="input" name="dash-title" value={dash.title} onChange={(e) => upd(() => (dash.title = (e.target as HTMLInputElement).value))} />
      </label>
      <label class="field">
        <span class="field-label">Description</span>
        <textarea class="input" rows={2} value={dash.description || ""} onChange={(e) => upd(() => (dash.description = (e.target as HTMLTextAreaElement).value))} />
      </label>
      <label class="field">
        <span class="field-label">Tags (comma separated)</span>
        <input
          class="input"
          name="dash-tags"
          value={(dash.tags || []).join(", ")}
          onChange={(e) =>
            upd(
              () =>
                (dash.tags = (e.target as HTMLInputElement).value
                  .split(",")
                  .map((t) => t.trim())
                  .filter(Boolean)),
            )
          }
        />
      </label>
      <label class="field">
        <span class="field-label">Folder</span>
        <select class="input" name="dash-folder" value={meta.folderUid || ""} onChange={(e) => upd(() => undefined, { folderUid: (e.target as HTMLSelectElement).value, folderTitle: folders.find((f) => f.uid === (e.target as HTMLSelectElement).value)?.title || "General" })}>
          <option value="">General</option>
          {folders.map((f) => (
            <option key={f.uid} value={f.uid}>
              {f.title}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span class="field-label">Time zone</span>
        <select class="input" value={dash.timezone || "browser"} onChange={(e) => upd(() => (dash.timezone = (e.target as HTMLSelectElement).value))}>
          <option value="browser">Browser time</option>
          <option value="utc">UTC</option>
          {["Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"].map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
      </label>
      <div class="field-row">
        <label class="field">
          <span class="field-label">Default time: from</span>
          <input class="input" value={dash.time?.from || "now-6h"} onChange={(e) => upd(() => (dash.time = { ...(dash.time || { to: "now" }), from: (e.target as HTMLInputElement).value } as any))} />
        </label>
        <label class="field">
          <span class="field-label">to</span>
          <input class="input" value={dash.time?.to || "now"} onChange={(e) => upd(() => (dash.time = { ...(dash.time || { from: "now-6h" }), to: (e.target as HTMLInputElement).value } as any))} />
        </label>
      </div>
      <label class="field">
        <span class="field-label">Auto refresh choices</span>
        <input
          class="input"
          value={(dash.timepicker?.refresh_intervals || []).join(",")}
          placeholder="5s,10s,30s,1m,5m,15m,30m,1h,2h,1d"
          onChange={(e) =>
            upd(() => {
              const v = (e.target as HTMLInputElement).value.split(",").map((s) => s.trim()).filter(Boolean);
              dash.timepicker = { ...(dash.timepicker || {}), refresh_intervals: v.length ? v : undefined };
            })
          }
        />
      </label>
      <label class="field">
        <span class="field-label">Graph tooltip</span>
        <select class="input" value={String(dash.graphTooltip || 0)} onChange={(e) => upd(() => (dash.graphTooltip = Number((e.target as HTMLSelectElement).value)))}>
          <option value="0">Default</option>
          <option value="1">Shared crosshair</option>
          <option value="2">Shared tooltip</option>
        </select>
      </label>
      <label class="field check">
        <input type="checkbox" checked={dash.editable !== false} onChange={(e) => upd(() => (dash.editable = (e.target as HTMLInputElement).checked))} /> Editable
      </label>
    </div>
  );
}

function Variables({ dash, datasources, range, onChange }: Props) {
  const list: any[] = dash.templating?.list || [];
  const [editing, setEditing] = useState<number | null>(null);
  const [draft, setDraft] = useState<any>(null);
  const [preview, setPreview] = useState<string[]>([]);
  const [err, setErr] = useState("");
  const [, force] = useState(0);
  const open = (i: number | null) => {
    setEditing(i);
    setDraft(i === null ? null : deepCopy(list[i]));
    setPreview([]);
    setErr("");
  };
  const commit = () => {
    if (!draft.name || !/^\w+$/.test(draft.name)) {
      setErr("Name: letters, digits and _ only");
      return;
    }
    if (list.some((v, i) => v.name === draft.name && i !== editing)) {
      setErr("A variable with this name already exists");
      return;
    }
    if (!dash.templating) dash.templating = { list: [] };
    if (editing !== null && editing < list.length) dash.templating.list[editing] = draft;
    else dash.templating.list.push(draft);
    open(null);
    onChange(dash);
  };
  const runPreview = async () => {
    try {
      const opts = await loadOptions(draft, { range, datasources, vars: list });
      setPreview(opts.map((o) => o.text));
      setErr("");
    } catch (e) {
      setErr(errorMessage(e));
    }
  };
  if (draft) {
    const set = (k: string, v: any) => setDraft({ ...draft, [k]: v });
    const q = typeof draft.query === "object" && draft.query ? draft.query.query ?? "" : draft.query ?? "";
    return (
      <div class="form var-editor">
        <h3>{editing !== null && editing < list.length ? `Edit variable ${list[editing].name}` : "New variable"}</h3>
        <div class="field-row">
          <label class="field">
            <span class="field-label">Type</span>
            <select class="input" name="var-type" value={draft.type} onChange={(e) => set("type", (e.target as HTMLSelectElement).value)}>
              {VAR_TYPES.map(([id, n]) => (
                <option key={id} value={id}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span class="field-label">Name</span>
            <input class="input" name="var-name" value={draft.name} onInput={(e) => set("name", (e.target as HTMLInputElement).value)} />
          </label>
          <label class="field">
            <span class="field-label">Label</span>
            <input class="input" value={draft.label || ""} onInput={(e) => set("label", (e.target as HTMLInputElement).value || undefined)} />
          </label>
          <label class="field">
            <span class="field-label">Hide</span>
            <select class="input" value={String(draft.hide || 0)} onChange={(e) => set("hide", Number((e.target as HTMLSelectElement).value))}>
              <option value="0">Nothing</option>
              <option value="1">Label</option>
              <option value="2">Variable</option>
            </select>
          </label>
        </div>
        {draft.type === "query" ? (
          <>
            <label class="field">
              <span class="field-label">Data source</span>
              <select class="input" value={draft.datasource?.uid || (typeof draft.datasource === "string" ? draft.datasource : "")} onChange={(e) => {
                const ds = datasources.find((d) => d.uid === (e.target as HTMLSelectElement).value);
                set("datasource", ds ? { type: ds.type, uid: ds.uid } : null);
              }}>
                <option value="">(default)</option>
                {datasources.map((d) => (
                  <option key={d.uid} value={d.uid}>
                    {d.name}
                  </option>
                ))}
              </select>
            </label>
            <label class="field">
              <span class="field-label">Query</span>
              <input class="input code" name="var-query" value={q} placeholder="label_values(up, job)" onInput={(e) => setDraft({ ...draft, query: (e.target as HTMLInputElement).value, definition: (e.target as HTMLInputElement).value })} />
            </label>
            <div class="field-row">
              <label class="field">
                <span class="field-label">Regex</span>
                <input class="input" value={draft.regex || ""} placeholder="/.*-(?<text>.*)/" onInput={(e) => set("regex", (e.target as HTMLInputElement).value)} />
              </label>
              <label class="field">
                <span class="field-label">Sort</span>
                <select class="input" value={String(draft.sort || 0)} onChange={(e) => set("sort", Number((e.target as HTMLSelectElement).value))}>
                  <option value="0">Disabled</option>
                  <option value="1">Alphabetical (asc)</option>
                  <option value="2">Alphabetical (desc)</option>
                  <option value="3">Numerical (asc)</option>
                  <option value="4">Numerical (desc)</option>
                  <option value="7">Natural (asc)</option>
                </select>
              </label>
              <label class="field">
                <span class="field-label">Refresh</span>
                <select class="input" value={String(draft.refresh ?? 1)} onChange={(e) => set("refresh", Number((e.target as HTMLSelectElement).value))}>
                  <option value="1">On dashboard load</option>
                  <option value="2">On time range change</option>
                </select>
              </label>
            </div>
          </>
        ) : draft.type === "datasource" ? (
          <>
            <label class="field">
              <span class="field-label">Type</span>
              <input class="input" name="var-query" value={draft.query || ""} placeholder="prometheus" onInput={(e) => set("query", (e.target as HTMLInputElement).value)} />
            </label>
            <label class="field">
              <span class="field-label">Instance name filter (regex)</span>
              <input class="input" value={draft.regex || ""} onInput={(e) => set("regex", (e.target as HTMLInputElement).value)} />
            </label>
          </>
        ) : (
          <label class="field">
            <span class="field-label">{draft.type === "custom" ? "Values separated by comma" : draft.type === "interval" ? "Intervals" : draft.type === "textbox" ? "Default value" : "Value"}</span>
            <input class="input" name="var-query" value={draft.query || ""} onInput={(e) => set("query", (e.target as HTMLInputElement).value)} />
          </label>
        )}
        {draft.type === "query" || draft.type === "custom" || draft.type === "datasource" ? (
          <div class="field-row">
            <label class="field check">
              <input type="checkbox" checked={!!draft.multi} onChange={(e) => set("multi", (e.target as HTMLInputElement).checked)} /> Multi-value
            </label>
            <label class="field check">
              <input type="checkbox" checked={!!draft.includeAll} onChange={(e) => set("includeAll", (e.target as HTMLInputElement).checked)} /> Include All option
            </label>
            {draft.includeAll ? (
              <label class="field">
                <span class="field-label">Custom all value</span>
                <input class="input" value={draft.allValue || ""} onInput={(e) => set("allValue", (e.target as HTMLInputElement).value || null)} />
              </label>
            ) : null}
          </div>
        ) : null}
        {draft.type === "interval" ? (
          <label class="field check">
            <input type="checkbox" checked={!!draft.auto} onChange={(e) => set("auto", (e.target as HTMLInputElement).checked)} /> Auto option
          </label>
        ) : null}
        {err ? <Alert kind="error">{err}</Alert> : null}
        <div class="preview-values">
          <button class="btn btn-secondary" onClick={runPreview}>
            Preview values
          </button>
          <div class="tags">
            {preview.slice(0, 50).map((p, i) => (
              <span class="tag" key={i}>
                {p}
              </span>
            ))}
          </div>
        </div>
        <div class="form-actions">
          <button class="btn btn-secondary" onClick={() => open(null)}>
            Cancel
          </button>
          <button class="btn btn-primary" onClick={commit}>
            Apply
          </button>
        </div>
      </div>
    );
  }
  return (
    <div>
      <table class="list-table">
        <thead>
          <tr>
            <th>Variable</th>
            <th>Type</th>
            <th>Definition</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((v, i) => (
            <tr key={v.name + i}>
              <td>
                <a href="#" onClick={(e) => { e.preventDefault(); open(i); }}>
                  ${v.name}
                </a>
              </td>
              <td>{v.type}</td>
              <td class="code small">{typeof v.query === "object" ? v.query?.query || v.definition : String(v.query ?? "")}</td>
              <td class="actions">
                <button class="icon-btn" aria-label="Move up" disabled={i === 0} onClick={() => { const l = dash.templating!.list; [l[i - 1], l[i]] = [l[i], l[i - 1]]; force((x) => x + 1); onChange(dash); }}>
                  ↑
                </button>
                <button class="icon-btn" aria-label={`Delete variable ${v.name}`} onClick={() => { dash.templating!.list.splice(i, 1); force((x) => x + 1); onChange(dash); }}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!list.length ? <p class="muted">No variables yet. Variables make dashboards interactive and reusable.</p> : null}
      <button
        class="btn btn-primary"
        onClick={() => {
          setEditing(list.length);
          setDraft({ type: "query", name: `query${list.length}`, label: "", hide: 0, refresh: 1, options: [], current: {}, query: "", regex: "", sort: 0, multi: false, includeAll: false });
        }}
      >
        + New variable
      </button>
    </div>
  );
}

function JsonModel({ dash, onChange }: Props) {
  const [text, setText] = useState(() => JSON.stringify(dash, null, 2));
  const [err, setErr] = useState("");
  const [ok, setOk] = useState("");
  return (
    <div class="form">
      <textarea class="input code json-model" name="json-model" rows={30} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      {err ? <Alert kind="error">{err}</Alert> : null}
      {ok ? <Alert kind="success">{ok}</Alert> : null}
      <button
        class="btn btn-primary"
        onClick={() => {
          try {
            const parsed = JSON.parse(text);
            if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("The model must be a JSON object");
            parsed.id = dash.id;
            parsed.uid = dash.uid;
            parsed.version = dash.version;
            onChange(parsed);
            setErr("");
            setOk("Applied. Save the dashboard to keep the changes.");
          } catch (e) {
            setErr(errorMessage(e));
            setOk("");
          }
        }}
      >
        Apply changes
      </button>
    </div>
  );
}

function Versions({ dash }: Props) {
  const [versions, setVersions] = useState<any[] | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    if (!dash.uid) {
      setVersions([]);
      return;
    }
    api
      .get(`/api/dashboards/uid/${encodeURIComponent(dash.uid)}/versions?limit=50`)
      .then((r) => setVersions(Array.isArray(r) ? r : r.versions || []))
      .catch((e) => setErr(errorMessage(e)));
  }, [dash.uid]);
  if (err) return <Alert kind="error">{err}</Alert>;
  if (!versions) return <div class="muted">Loading…</div>;
  return (
    <table class="list-table">
      <thead>
        <tr>
          <th>Version</th>
          <th>Date</th>
          <th>Updated by</th>
          <th>Notes</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.version}>
            <td>{v.version}</td>
            <td>{String(v.created || "")}</td>
            <td>{v.createdBy}</td>
            <td>{v.message}</td>
            <td>
              {v.version !== dash.version ? (
                <button
                  class="btn btn-secondary btn-sm"
                  onClick={async () => {
                    if (!confirm(`Restore version ${v.version}?`)) return;
                    try {
                      await api.post(`/api/dashboards/uid/${encodeURIComponent(dash.uid!)}/restore`, { version: v.version });
                      location.reload();
                    } catch (e) {
                      setErr(errorMessage(e));
                    }
                  }}
                >
                  Restore
                </button>
              ) : (
                <span class="muted">Latest</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
