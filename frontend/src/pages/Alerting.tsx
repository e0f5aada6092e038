// Alerting: rule list with state and owning replica, rule editor with preview, contact points
// with "Test", notification templates, notification policies, silences.
import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { navigate } from "../lib/router";
import { canEdit } from "../lib/session";
import { Alert, PageHeader, Spinner } from "../lib/ui";
import { loadDataSources, type DataSource } from "../dashboard/datasources";
import { QueryEditor } from "../dashboard/QueryEditors";
import { decodeFrame } from "../dashboard/data";

const TABS: [string, string][] = [
  ["list", "Alert rules"],
  ["notifications", "Contact points"],
  ["notifications/templates", "Notification templates"],
  ["routes", "Notification policies"],
  ["silences", "Silences"],
];

export function AlertingPage({ sub }: { sub: string }) {
  useEffect(() => {
    document.title = "Alerting - Vigil";
  }, []);
  const parts = sub.split("/");
  let body;
  if (sub === "new" || sub === "new/alerting") body = <RuleEditor />;
  else if (parts.length === 2 && parts[1] === "edit") body = <RuleEditor uid={decodeURIComponent(parts[0])} />;
  else if (sub === "notifications/templates") body = <Templates />;
  else if (sub === "notifications") body = <ContactPoints />;
  else if (sub === "routes") body = <Policies />;
  else if (sub === "silences") body = <Silences />;
  else body = <RuleList />;
  // the longest tab id the path starts with ("notifications/templates" before "notifications")
  const active = TABS.filter(([id]) => sub.startsWith(id)).sort((a, b) => b[0].length - a[0].length)[0]?.[0] || "list";
  return (
    <div class="page">
      <PageHeader title="Alerting" subtitle="Rules, contact points, notification policies and silences" />
      <div class="tabs">
        {TABS.map(([id, label]) => (
          <a key={id} href={`/alerting/${id}`} class={`tab ${active === id ? "active" : ""}`}>
            {label}
          </a>
        ))}
      </div>
      {body}
    </div>
  );
}

interface RuleState {
  state: string;
  health?: string;
  lastEvaluation?: string;
  instances: number;
}

function stateClass(s: string): string {
  const x = s.toLowerCase();
  if (x === "firing" || x === "alerting") return "state-firing";
  if (x === "pending") return "state-pending";
  if (x === "nodata" || x === "error") return "state-error";
  return "state-normal";
}

function RuleList() {
  const [rules, setRules] = useState<any[] | null>(null);
  const [states, setStates] = useState<Record<string, RuleState>>({});
  const [owners, setOwners] = useState<Record<string, string>>({});
  const [folders, setFolders] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [filter, setFilter] = useState("");
  const load = () => {
    api
      .get("/api/v1/provisioning/alert-rules")
      .then((r) => setRules(Array.isArray(r) ? r : []))
      .catch((e) => {
        setError(errorMessage(e));
        setRules([]);
      });
    api
      .get("/api/prometheus/grafana/api/v1/rules")
      .then((r) => {
        const out: Record<string, RuleState> = {};
        for (const g of r?.data?.groups || []) {
          for (const rule of g.rules || []) {
            const uid = rule.uid || rule.labels?.__alert_rule_uid__ || rule.name;
            out[uid] = { state: rule.state || "inactive", health: rule.health, lastEvaluation: rule.lastEvaluation, instances: (rule.alerts || []).length };
            if (rule.name && !out[rule.name]) out[rule.name] = out[uid];
          }
        }
        setStates(out);
      })
      .catch(() => setStates({}));
    api
      .get("/api/cluster/status")
      .then((s) => {
        const out: Record<string, string> = {};
        for (const inst of s?.instances || []) {
          const rs = Array.isArray(inst.rules) ? inst.rules : [];
          for (const r of rs) out[typeof r === "string" ? r : r.uid || r.group || ""] = inst.name;
        }
        setOwners(out);
      })
      .catch(() => setOwners({}));
    api
      .get("/api/folders?limit=1000")
      .then((fs) => setFolders(Object.fromEntries((fs || []).map((f: any) => [f.uid, f.title]))))
      .catch(() => setFolders({}));
  };
  useEffect(() => {
    load();
    const t = setInterval(load, 15000);
    return () => clearInterval(t);
  }, []);
  if (rules === null) return <Spinner />;
  const shown = rules.filter((r) => !filter || r.title.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div>
      <div class="search-bar">
        <input class="input" placeholder="Search rules" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        {canEdit() ? (
          <a class="btn btn-primary" href="/alerting/new">
            + New alert rule
          </a>
        ) : null}
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
      <table class="list-table rule-list">
        <thead>
          <tr>
            <th>State</th>
            <th>Name</th>
            <th>Folder / group</th>
            <th>Instances</th>
            <th>Evaluated by</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => {
            const st = states[r.uid] || states[r.title];
            const state = r.isPaused ? "paused" : st?.state || "normal";
            const owner = owners[r.uid] || owners[`${r.folderUID}/${r.ruleGroup}`] || owners[r.ruleGroup] || "";
            return (
              <tr key={r.uid} data-rule-uid={r.uid}>
                <td>
                  <span class={`state-badge ${stateClass(state)}`}>{state}</span>
                </td>
                <td>{r.title}</td>
                <td class="muted">
                  {folders[r.folderUID] || r.folderUID} / {r.ruleGroup}
                </td>
                <td>{st?.instances ?? 0}</td>
                <td class="muted">{owner || "–"}</td>
                <td>
                  {canEdit() ? (
                    <a class="btn btn-secondary btn-sm" href={`/alerting/${encodeURIComponent(r.uid)}/edit`}>
                      Edit
                    </a>
                  ) : null}
                </td>
              </tr>
            );
          })}
          {!shown.length ? (
            <tr>
              <td colSpan={6} class="muted">
                No alert rules.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

const REDUCERS = ["last", "mean", "min", "max", "sum", "count"];

function parseIntervalSeconds(text: string): number | null {
  const m = /^\s*(\d+)\s*(s|m|h)?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
}
const EVALS: [string, string][] = [
  ["gt", "Is above"],
  ["lt", "Is below"],
  ["within_range", "Is within range"],
  ["outside_range", "Is outside range"],
];

function RuleEditor({ uid }: { uid?: string }) {
  const [rule, setRule] = useState<any>(null);
  const [datasources, setDatasources] = useState<DataSource[]>([]);
  const [folders, setFolders] = useState<any[]>([]);
  const [error, setError] = useState("");
  const [preview, setPreview] = useState<string>("");
  const [busy, setBusy] = useState(false);
  const [interval, setIntervalText] = useState("1m");
  const [receivers, setReceivers] = useState<string[]>([]);
  const [, force] = useState(0);
  useEffect(() => {
    (async () => {
      api
        .get("/api/v1/provisioning/contact-points")
        .then((l) => setReceivers([...new Set<string>((l || []).map((c: any) => c.name))]))
        .catch(() => setReceivers([]));
      const ds = await loadDataSources(true);
      setDatasources(ds);
      const fs = await api.get("/api/folders?limit=1000").catch(() => []);
      setFolders(fs);
      if (uid) {
        try {
          const r = await api.get(`/api/v1/provisioning/alert-rules/${encodeURIComponent(uid)}`);
          setRule(r);
          const g = await api.get(`/api/v1/provisioning/folder/${encodeURIComponent(r.folderUID)}/rule-groups/${encodeURIComponent(r.ruleGroup)}`).catch(() => null);
          if (g?.interval) setIntervalText(`${g.interval}s`);
        } catch (e) {
          setError(errorMessage(e));
        }
      } else {
        const d = ds.find((x) => x.isDefault) || ds[0];
        setRule({
          title: "",
          ruleGroup: "default",
          folderUID: fs[0]?.uid || "",
          condition: "C",
          for: "0s",
          noDataState: "NoData",
          execErrState: "Error",
          labels: {},
          annotations: {},
          data: [
            { refId: "A", relativeTimeRange: { from: 600, to: 0 }, datasourceUid: d?.uid || "", model: { refId: "A", datasource: d ? { type: d.type, uid: d.uid } : undefined } },
            { refId: "B", relativeTimeRange: { from: 0, to: 0 }, datasourceUid: "__expr__", model: { refId: "B", type: "reduce", expression: "A", reducer: "last", datasource: { type: "__expr__", uid: "__expr__" } } },
            { refId: "C", relativeTimeRange: { from: 0, to: 0 }, datasourceUid: "__expr__", model: { refId: "C", type: "threshold", expression: "B", conditions: [{ evaluator: { type: "gt", params: [0] } }], datasource: { type: "__expr__", uid: "__expr__" } } },
          ],
        });
      }
    })();
  }, [uid]);
  if (error && !rule) return <Alert kind="error">{error}</Alert>;
  if (!rule) return <Spinner />;
  const changed = () => force((x) => x + 1);
  const queries = rule.data.filter((d: any) => d.datasourceUid !== "__expr__");
  const exprs = rule.data.filter((d: any) => d.datasourceUid === "__expr__");

  const runPreview = async () => {
    setPreview("");
    try {
      const now = Date.now();
      const maxFrom = Math.max(...rule.data.map((d: any) => d.relativeTimeRange?.from || 600));
      const body = { from: String(now - maxFrom * 1000), to: String(now), queries: rule.data.map((d: any) => ({ ...d.model, refId: d.refId, datasource: d.datasourceUid === "__expr__" ? { type: "__expr__", uid: "__expr__" } : { uid: d.datasourceUid } })) };
      const res = await api.post("/api/ds/query", body).catch((e: any) => e.data || { error: e.message });
      const lines: string[] = [];
      for (const [ref, r] of Object.entries<any>(res?.results || {})) {
        if (r.error) lines.push(`${ref}: error: ${r.error}`);
        for (const raw of r.frames || []) {
          const f = decodeFrame(raw, ref);
          const val = f.fields.find((x) => x.type === "number");
          const labels = val?.labels ? Object.entries(val.labels).map(([k, v]) => `${k}=${v}`).join(", ") : "";
          lines.push(`${ref}${labels ? ` {${labels}}` : ""}: ${val ? JSON.stringify(val.values.slice(-5)) : "no values"}`);
        }
      }
      if (res?.error) lines.push(res.error);
      setPreview(lines.join("\n") || "No data");
    } catch (e) {
      setPreview(errorMessage(e));
    }
  };

  const save = async () => {
    setBusy(true);
    setError("");
    try {
      if (!rule.title.trim()) throw new Error("The rule needs a name");
      if (!rule.folderUID) throw new Error("Choose a folder (create one on the Dashboards page)");
      const seconds = parseIntervalSeconds(interval);
      if (seconds === null) throw new Error("Evaluate every: a duration such as 10s, 1m or 5m");
      const body = { ...rule };
      if (!body.notification_settings?.receiver) delete body.notification_settings;
      const headers = { "X-Disable-Provenance": "true" };
      if (uid) await api.put(`/api/v1/provisioning/alert-rules/${encodeURIComponent(uid)}`, body, { headers });
      else await api.post("/api/v1/provisioning/alert-rules", body, { headers });
      // the evaluation interval belongs to the rule group
      const groupPath = `/api/v1/provisioning/folder/${encodeURIComponent(rule.folderUID)}/rule-groups/${encodeURIComponent(rule.ruleGroup)}`;
      const group = await api.get(groupPath);
      if (group && group.interval !== seconds) await api.put(groupPath, { ...group, interval: seconds }, { headers });
      navigate("/alerting/list");
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const kv = (obj: Record<string, string>, name: string) => (
    <div class="kv-editor">
      {Object.entries(obj).map(([k, v], i) => (
        <div class="threshold-row" key={i}>
          <input class="input" value={k} aria-label={`${name} key`} onChange={(e) => { const nk = (e.target as HTMLInputElement).value; const o = { ...obj }; delete o[k]; o[nk] = v; Object.keys(obj).forEach((x) => delete obj[x]); Object.assign(obj, o); changed(); }} />
          <input class="input" value={v} aria-label={`${name} value`} onChange={(e) => { obj[k] = (e.target as HTMLInputElement).value; changed(); }} />
          <button class="icon-btn" aria-label="Remove" onClick={() => { delete obj[k]; changed(); }}>
            ✕
          </button>
        </div>
      ))}
      <button class="btn btn-secondary btn-sm" onClick={() => { obj[`key${Object.keys(obj).length + 1}`] = ""; changed(); }}>
        + Add
      </button>
    </div>
  );

  return (
    <div class="form rule-editor">
      <h2>{uid ? "Edit alert rule" : "New alert rule"}</h2>
      <label class="field">
        <span class="field-label">Rule name</span>
        <input class="input" name="rule-title" value={rule.title} onInput={(e) => { rule.title = (e.target as HTMLInputElement).value; changed(); }} />
      </label>
      <h3>Queries and expressions</h3>
      {queries.map((q: any) => {
        const ds = datasources.find((d) => d.uid === q.datasourceUid);
        return (
          <div class="query-row" key={q.refId}>
            <div class="query-head">
              <b>{q.refId}</b>
              <select class="input" value={q.datasourceUid} onChange={(e) => { const d = datasources.find((x) => x.uid === (e.target as HTMLSelectElement).value); q.datasourceUid = d?.uid; q.model = { refId: q.refId, datasource: d ? { type: d.type, uid: d.uid } : undefined }; changed(); }}>
                <option value="">(choose a data source)</option>
                {datasources.map((d) => (
                  <option key={d.uid} value={d.uid}>
                    {d.name}
                  </option>
                ))}
              </select>
              <label class="inline-field">
                <span>Range (s)</span>
                <input class="input" value={q.relativeTimeRange?.from ?? 600} onChange={(e) => { q.relativeTimeRange = { from: Number((e.target as HTMLInputElement).value) || 600, to: 0 }; changed(); }} />
              </label>
            </div>
            {ds ? <QueryEditor ds={ds} query={q.model} range={{ from: Date.now() - 600_000, to: Date.now() }} onChange={(m) => { q.model = { ...m, refId: q.refId }; changed(); }} /> : null}
          </div>
        );
      })}
      {exprs.map((x: any) => (
        <div class="query-row expr-row" key={x.refId}>
          <div class="query-head">
            <b>{x.refId}</b>
            <select class="input" value={x.model.type} onChange={(e) => { x.model.type = (e.target as HTMLSelectElement).value; changed(); }}>
              <option value="reduce">Reduce</option>
              <option value="threshold">Threshold</option>
              <option value="math">Math</option>
              <option value="classic_conditions">Classic condition</option>
            </select>
            {x.model.type === "math" ? (
              <input class="input code" value={x.model.expression || ""} placeholder="$A > 1" onInput={(e) => { x.model.expression = (e.target as HTMLInputElement).value; changed(); }} />
            ) : (
              <label class="inline-field">
                <span>Input</span>
                <input class="input" value={x.model.expression || ""} onInput={(e) => { x.model.expression = (e.target as HTMLInputElement).value; changed(); }} />
              </label>
            )}
            {x.model.type === "reduce" ? (
              <select class="input" value={x.model.reducer || "last"} onChange={(e) => { x.model.reducer = (e.target as HTMLSelectElement).value; changed(); }}>
                {REDUCERS.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            ) : null}
            {x.model.type === "threshold" ? (
              <>
                <select class="input" value={x.model.conditions?.[0]?.evaluator?.type || "gt"} onChange={(e) => { x.model.conditions = [{ evaluator: { ...(x.model.conditions?.[0]?.evaluator || { params: [0] }), type: (e.target as HTMLSelectElement).value } }]; changed(); }}>
                  {EVALS.map(([id, n]) => (
                    <option key={id} value={id}>
                      {n}
                    </option>
                  ))}
                </select>
                <input class="input" name="threshold" value={x.model.conditions?.[0]?.evaluator?.params?.[0] ?? 0} onChange={(e) => { const ev = x.model.conditions?.[0]?.evaluator || { type: "gt", params: [0] }; ev.params = [Number((e.target as HTMLInputElement).value), ...(ev.params || []).slice(1)]; x.model.conditions = [{ evaluator: ev }]; changed(); }} />
              </>
            ) : null}
          </div>
        </div>
      ))}
      <div class="field-row">
        <label class="field">
          <span class="field-label">Condition</span>
          <select class="input" value={rule.condition} onChange={(e) => { rule.condition = (e.target as HTMLSelectElement).value; changed(); }}>
            {rule.data.map((d: any) => (
              <option key={d.refId} value={d.refId}>
                {d.refId}
              </option>
            ))}
          </select>
        </label>
        <button class="btn btn-secondary" onClick={runPreview}>
          Preview
        </button>
      </div>
      {preview ? <pre class="code preview-out">{preview}</pre> : null}
      <h3>Evaluation</h3>
      <div class="field-row">
        <label class="field">
          <span class="field-label">Folder</span>
          <select class="input" name="rule-folder" value={rule.folderUID} onChange={(e) => { rule.folderUID = (e.target as HTMLSelectElement).value; changed(); }}>
            <option value="">(choose)</option>
            {folders.map((f) => (
              <option key={f.uid} value={f.uid}>
                {f.title}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Evaluation group</span>
          <input class="input" name="rule-group" value={rule.ruleGroup} onInput={(e) => { rule.ruleGroup = (e.target as HTMLInputElement).value; changed(); }} />
        </label>
        <label class="field">
          <span class="field-label">Evaluate every</span>
          <input class="input" name="rule-interval" value={interval} onInput={(e) => setIntervalText((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span class="field-label">Pending period</span>
          <input class="input" value={rule.for} onInput={(e) => { rule.for = (e.target as HTMLInputElement).value; changed(); }} />
        </label>
        <label class="field">
          <span class="field-label">No data</span>
          <select class="input" value={rule.noDataState} onChange={(e) => { rule.noDataState = (e.target as HTMLSelectElement).value; changed(); }}>
            {["NoData", "Alerting", "OK"].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Error</span>
          <select class="input" value={rule.execErrState} onChange={(e) => { rule.execErrState = (e.target as HTMLSelectElement).value; changed(); }}>
            {["Error", "Alerting", "OK"].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label class="field check">
          <input type="checkbox" checked={!!rule.isPaused} onChange={(e) => { rule.isPaused = (e.target as HTMLInputElement).checked; changed(); }} /> Paused
        </label>
      </div>
      <label class="field">
        <span class="field-label">Contact point (optional: else the notification policies route it)</span>
        <select
          class="input"
          name="rule-receiver"
          value={rule.notification_settings?.receiver || ""}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            rule.notification_settings = v ? { ...(rule.notification_settings || {}), receiver: v } : undefined;
            changed();
          }}
        >
          <option value="">Use notification policies</option>
          {receivers.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <h3>Labels</h3>
      {kv(rule.labels || (rule.labels = {}), "label")}
      <h3>Annotations</h3>
      {kv(rule.annotations || (rule.annotations = {}), "annotation")}
      {error ? <Alert kind="error">{error}</Alert> : null}
      <div class="form-actions">
        <a class="btn btn-secondary" href="/alerting/list">
          Cancel
        </a>
        {uid ? (
          <button
            class="btn btn-danger"
            onClick={async () => {
              if (!confirm("Delete this rule?")) return;
              try {
                await api.del(`/api/v1/provisioning/alert-rules/${encodeURIComponent(uid)}`);
                navigate("/alerting/list");
              } catch (e) {
                setError(errorMessage(e));
              }
            }}
          >
            Delete
          </button>
        ) : null}
        <button class="btn btn-primary" onClick={save} disabled={busy}>
          Save rule
        </button>
      </div>
    </div>
  );
}

const CP_TYPES: Record<string, { label: string; fields: [string, string, boolean?][] }> = {
  webhook: { label: "Webhook", fields: [["url", "URL"], ["httpMethod", "HTTP method"], ["username", "Basic auth user"], ["password", "Basic auth password", true], ["authorization_credentials", "Bearer token", true], ["title", "Title (template)"], ["message", "Message (template)"]] },
  email: { label: "Email", fields: [["addresses", "Addresses (separated by ;)"], ["subject", "Subject (template)"], ["message", "Message (template)"]] },
  slack: { label: "Slack", fields: [["url", "Webhook URL", true], ["recipient", "Channel"], ["title", "Title"], ["text", "Text"]] },
};

function ContactPoints() {
  const [list, setList] = useState<any[] | null>(null);
  const [edit, setEdit] = useState<any>(null);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const load = () => api.get("/api/v1/provisioning/contact-points").then(setList).catch((e) => { setList([]); setMsg({ kind: "error", text: errorMessage(e) }); });
  useEffect(() => {
    load();
  }, []);
  const save = async () => {
    try {
      const body = { name: edit.name, type: edit.type, settings: edit.settings, disableResolveMessage: !!edit.disableResolveMessage };
      if (edit.uid) await api.put(`/api/v1/provisioning/contact-points/${encodeURIComponent(edit.uid)}`, body, { headers: { "X-Disable-Provenance": "true" } });
      else await api.post("/api/v1/provisioning/contact-points", body, { headers: { "X-Disable-Provenance": "true" } });
      setEdit(null);
      setMsg({ kind: "success", text: "Contact point saved" });
      load();
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  const test = async (cp: any) => {
    setMsg(null);
    try {
      await api.post("/api/alertmanager/grafana/config/api/v1/receivers/test", { receivers: [{ name: cp.name, grafana_managed_receiver_configs: [{ uid: cp.uid, name: cp.name, type: cp.type, settings: cp.settings, disableResolveMessage: !!cp.disableResolveMessage }] }] });
      setMsg({ kind: "success", text: `Test notification sent to ${cp.name}` });
    } catch (e) {
      setMsg({ kind: "error", text: `Test failed: ${errorMessage(e)}` });
    }
  };
  if (list === null) return <Spinner />;
  return (
    <div>
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      {edit ? (
        <div class="form">
          <label class="field">
            <span class="field-label">Name</span>
            <input class="input" name="cp-name" value={edit.name} onInput={(e) => setEdit({ ...edit, name: (e.target as HTMLInputElement).value })} />
          </label>
          <label class="field">
            <span class="field-label">Integration</span>
            <select class="input" name="cp-type" value={edit.type} onChange={(e) => setEdit({ ...edit, type: (e.target as HTMLSelectElement).value, settings: {} })}>
              {Object.entries(CP_TYPES).map(([id, t]) => (
                <option key={id} value={id}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
          {(CP_TYPES[edit.type]?.fields || []).map(([k, label, secret]) => (
            <label class="field" key={k}>
              <span class="field-label">{label}</span>
              <input class="input" name={`cp-${k}`} type={(secret ? "password" : "text") as any} value={edit.settings?.[k] ?? ""} onInput={(e) => setEdit({ ...edit, settings: { ...edit.settings, [k]: (e.target as HTMLInputElement).value } })} />
            </label>
          ))}
          <label class="field check">
            <input type="checkbox" checked={!!edit.disableResolveMessage} onChange={(e) => setEdit({ ...edit, disableResolveMessage: (e.target as HTMLInputElement).checked })} /> Disable resolved message
          </label>
          <div class="form-actions">
            <button class="btn btn-secondary" onClick={() => setEdit(null)}>
              Cancel
            </button>
            <button class="btn btn-secondary" onClick={() => test(edit)}>
              Test
            </button>
            <button class="btn btn-primary" onClick={save}>
              Save contact point
            </button>
          </div>
        </div>
      ) : (
        <>
          {canEdit() ? (
            <button class="btn btn-primary" onClick={() => setEdit({ name: "", type: "webhook", settings: {} })}>
              + Add contact point
            </button>
          ) : null}
          <table class="list-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.uid}>
                  <td>{c.name}</td>
                  <td>{c.type}</td>
                  <td class="actions">
                    <button class="btn btn-secondary btn-sm" onClick={() => test(c)}>
                      Test
                    </button>
                    <EditDelete
                      name={c.name}
                      path={`/api/v1/provisioning/contact-points/${encodeURIComponent(c.uid)}`}
                      onEdit={() => setEdit({ ...c, settings: { ...(c.settings || {}) } })}
                      onDeleted={load}
                      onError={(text) => setMsg({ kind: "error", text })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

// "Edit" and "Delete" (after a confirmation) for a row of a list, for those who may edit.
function EditDelete(props: { name: string; path: string; onEdit: () => void; onDeleted: () => void; onError: (text: string) => void }) {
  if (!canEdit()) return null;
  const remove = async () => {
    if (!confirm(`Delete ${props.name}?`)) return;
    try {
      await api.del(props.path);
      props.onDeleted();
    } catch (e) {
      props.onError(errorMessage(e));
    }
  };
  return (
    <>
      <button class="btn btn-secondary btn-sm" onClick={props.onEdit}>
        Edit
      </button>
      <button class="btn btn-danger btn-sm" onClick={remove}>
        Delete
      </button>
    </>
  );
}

// Notification templates: named texts whose {{ define "x" }} blocks contact-point titles and
// messages call with {{ template "x" . }}.
function Templates() {
  const [list, setList] = useState<any[] | null>(null);
  const [edit, setEdit] = useState<{ name: string; template: string; existing: boolean } | null>(null);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const load = () => api.get("/api/v1/provisioning/templates").then(setList).catch((e) => { setList([]); setMsg({ kind: "error", text: errorMessage(e) }); });
  useEffect(() => {
    load();
  }, []);
  const save = async () => {
    if (!edit) return;
    try {
      if (!edit.name.trim()) throw new Error("The template needs a name");
      if (!edit.existing && (list || []).some((t) => t.name === edit.name)) throw new Error(`A template named ${edit.name} already exists: edit it instead`);
      await api.put(`/api/v1/provisioning/templates/${encodeURIComponent(edit.name)}`, { template: edit.template }, { headers: { "X-Disable-Provenance": "true" } });
      setEdit(null);
      setMsg({ kind: "success", text: "Template saved" });
      load();
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  if (list === null) return <Spinner />;
  return (
    <div>
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      {edit ? (
        <div class="form">
          <label class="field">
            <span class="field-label">Name</span>
            <input class="input" name="template-name" disabled={edit.existing} value={edit.name} onInput={(e) => setEdit({ ...edit, name: (e.target as HTMLInputElement).value })} />
          </label>
          <label class="field">
            <span class="field-label">Content: {"{{ define \"name\" }}"}…{"{{ end }}"} blocks, called from a contact point with {"{{ template \"name\" . }}"}</span>
            <textarea class="input code" name="template-content" rows={12} value={edit.template} onInput={(e) => setEdit({ ...edit, template: (e.target as HTMLTextAreaElement).value })} />
          </label>
          <div class="form-actions">
            <button class="btn btn-secondary" onClick={() => setEdit(null)}>
              Cancel
            </button>
            <button class="btn btn-primary" onClick={save}>
              Save template
            </button>
          </div>
        </div>
      ) : (
        <>
          {canEdit() ? (
            <button class="btn btn-primary" onClick={() => setEdit({ name: "", template: "", existing: false })}>
              + Add template
            </button>
          ) : null}
          <table class="list-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Defines</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.name}>
                  <td>{t.name}</td>
                  <td class="muted">{[...String(t.template).matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]).join(", ") || t.name}</td>
                  <td class="actions">
                    <EditDelete
                      name={t.name}
                      path={`/api/v1/provisioning/templates/${encodeURIComponent(t.name)}`}
                      onEdit={() => setEdit({ name: t.name, template: t.template, existing: true })}
                      onDeleted={load}
                      onError={(text) => setMsg({ kind: "error", text })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function Policies() {
  const [tree, setTree] = useState<any>(null);
  const [text, setText] = useState("");
  const [receivers, setReceivers] = useState<string[]>([]);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const load = () =>
    api
      .get("/api/v1/provisioning/policies")
      .then((t) => {
        setTree(t);
        setText(JSON.stringify(t, null, 2));
      })
      .catch((e) => setMsg({ kind: "error", text: errorMessage(e) }));
  useEffect(() => {
    load();
    api.get("/api/v1/provisioning/contact-points").then((l) => setReceivers([...new Set<string>((l || []).map((c: any) => c.name))])).catch(() => setReceivers([]));
  }, []);
  const put = async (t: any) => {
    try {
      await api.put("/api/v1/provisioning/policies", t, { headers: { "X-Disable-Provenance": "true" } });
      setMsg({ kind: "success", text: "Policies updated" });
      load();
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  if (!tree && !msg) return <Spinner />;
  return (
    <div class="form">
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      {tree ? (
        <>
          <label class="field">
            <span class="field-label">Default contact point</span>
            <select class="input" value={tree.receiver} onChange={(e) => put({ ...tree, receiver: (e.target as HTMLSelectElement).value })}>
              {[...new Set([tree.receiver, ...receivers])].map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <div class="muted small">
            Group by {(tree.group_by || []).join(", ") || "(none)"} · wait {tree.group_wait || "30s"} · interval {tree.group_interval || "5m"} · repeat {tree.repeat_interval || "4h"} · {(tree.routes || []).length} nested policies
          </div>
          <label class="field">
            <span class="field-label">Policy tree (JSON)</span>
            <textarea class="input code" rows={16} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          </label>
          {canEdit() ? (
            <button
              class="btn btn-primary"
              onClick={() => {
                try {
                  put(JSON.parse(text));
                } catch (e) {
                  setMsg({ kind: "error", text: errorMessage(e) });
                }
              }}
            >
              Save policies
            </button>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function Silences() {
  const [list, setList] = useState<any[] | null>(null);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const [matchers, setMatchers] = useState("alertname=");
  const [duration, setDuration] = useState("2h");
  const [comment, setComment] = useState("");
  const base = "/api/alertmanager/grafana/api/v2/silences";
  const load = () => api.get(base).then(setList).catch((e) => { setList([]); setMsg({ kind: "error", text: errorMessage(e) }); });
  useEffect(() => {
    load();
  }, []);
  const create = async () => {
    try {
      const ms = matchers
        .split(",")
        .map((m) => m.trim())
        .filter(Boolean)
        .map((m) => {
          const mm = /^([\w.]+)\s*(=~|!~|!=|=)\s*"?(.*?)"?$/.exec(m);
          if (!mm) throw new Error(`Bad matcher: ${m}`);
          return { name: mm[1], value: mm[3], isRegex: mm[2].includes("~"), isEqual: !mm[2].startsWith("!") };
        });
      const d = /^(\d+)([mhd])$/.exec(duration);
      const ms_ = d ? Number(d[1]) * (d[2] === "m" ? 60_000 : d[2] === "h" ? 3_600_000 : 86_400_000) : 7_200_000;
      await api.post(base, { matchers: ms, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + ms_).toISOString(), comment: comment || "created in Vigil", createdBy: "vigil-ui" });
      setMsg({ kind: "success", text: "Silence created" });
      load();
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  if (list === null) return <Spinner />;
  return (
    <div>
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      {canEdit() ? (
        <div class="form inline-form">
          <label class="inline-field">
            <span>Matchers</span>
            <input class="input" value={matchers} onInput={(e) => setMatchers((e.target as HTMLInputElement).value)} placeholder='alertname=HighCPU, team=~"ops|dev"' />
          </label>
          <label class="inline-field">
            <span>Duration</span>
            <input class="input" value={duration} onInput={(e) => setDuration((e.target as HTMLInputElement).value)} />
          </label>
          <label class="inline-field">
            <span>Comment</span>
            <input class="input" value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
          </label>
          <button class="btn btn-primary" onClick={create}>
            Add silence
          </button>
        </div>
      ) : null}
      <table class="list-table">
        <thead>
          <tr>
            <th>State</th>
            <th>Matchers</th>
            <th>Ends</th>
            <th>Comment</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.map((s) => (
            <tr key={s.id}>
              <td>{s.status?.state}</td>
              <td class="code small">{(s.matchers || []).map((m: any) => `${m.name}${m.isEqual === false ? "!" : ""}${m.isRegex ? "=~" : "="}${m.value}`).join(", ")}</td>
              <td>{s.endsAt}</td>
              <td>{s.comment}</td>
              <td>
                {s.status?.state !== "expired" && canEdit() ? (
                  <button
                    class="btn btn-secondary btn-sm"
                    onClick={async () => {
                      try {
                        await api.del(`/api/alertmanager/grafana/api/v2/silence/${encodeURIComponent(s.id)}`);
                        load();
                      } catch (e) {
                        setMsg({ kind: "error", text: errorMessage(e) });
                      }
                    }}
                  >
                    Expire
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
