// The cluster page: replicas, heartbeats, owned rules, session store and database health.
import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { Alert, PageHeader, Spinner } from "../lib/ui";

function ago(ts: any): string {
  if (!ts) return "–";
  const t = typeof ts === "number" ? (ts > 1e12 ? ts : ts * 1000) : Date.parse(ts);
  if (isNaN(t)) return String(ts);
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function ClusterPage() {
  const [status, setStatus] = useState<any>(null);
  const [health, setHealth] = useState<any>(null);
  const [stores, setStores] = useState<any>(null);
  const [error, setError] = useState("");
  const load = () => {
    api
      .get("/api/cluster/status")
      .then((s) => {
        setStatus(s);
        setError("");
      })
      .catch((e) => setError(errorMessage(e)));
    api
      .get("/api/cluster/stores")
      .then(setStores)
      .catch((e) => setStores({ error: errorMessage(e) }));
    fetch("/api/health", { credentials: "same-origin" })
      .then((r) => r.json())
      .then(setHealth)
      .catch(() => setHealth({ database: "failing" }));
  };
  useEffect(() => {
    document.title = "Cluster - Vigil";
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  const instances: any[] = status?.instances || [];
  return (
    <div class="page">
      <PageHeader title="Cluster" subtitle="Replicas sharing this database, their heartbeats and the alert rules each one evaluates" />
      {error ? <Alert kind="error">{error}</Alert> : null}
      <div class="cards">
        <div class="card">
          <h3>Database</h3>
          <p class={stores?.database?.status === "ok" ? "ok-text" : "error-text"}>
            {stores?.database ? `${stores.database.dialect}: ${stores.database.status}` : health ? health.database : "…"}
          </p>
          <p class="muted small">
            {stores?.database?.latencyMs !== undefined ? `ping ${stores.database.latencyMs} ms · ` : ""}
            {stores?.database?.error || `version ${health?.version || "?"} · commit ${health?.commit || "?"}`}
          </p>
        </div>
        <div class="card">
          <h3>Session store</h3>
          <p class={stores?.sessions?.status === "ok" ? "ok-text" : "error-text"}>
            {stores?.sessions ? `${stores.sessions.provider}: ${stores.sessions.status}` : stores?.error || "…"}
          </p>
          <p class="muted small">{stores?.sessions?.error || (stores?.sessions?.latencyMs !== undefined ? `ping ${stores.sessions.latencyMs} ms` : "")}</p>
        </div>
        <div class="card">
          <h3>Alert evaluation</h3>
          <p>{status?.haMode || "–"}</p>
          <p class="muted small">this replica: {status?.self || "–"}</p>
        </div>
      </div>
      {!status && !error ? <Spinner /> : null}
      {status ? (
        <table class="list-table cluster-table">
          <thead>
            <tr>
              <th>Replica</th>
              <th>Address</th>
              <th>Version</th>
              <th>Started</th>
              <th>Last heartbeat</th>
              <th>State</th>
              <th>Rules owned</th>
            </tr>
          </thead>
          <tbody>
            {instances.map((i) => (
              <tr key={i.name} class={i.alive ? "" : "dead"}>
                <td>
                  {i.name} {i.name === status.self ? <span class="tag">this</span> : null}
                </td>
                <td>{i.address}</td>
                <td>{i.version}</td>
                <td>{ago(i.startedAt)}</td>
                <td>{ago(i.lastHeartbeat)}</td>
                <td>
                  <span class={`state-badge ${i.alive ? "state-normal" : "state-firing"}`}>{i.alive ? "alive" : "dead"}</span>
                </td>
                <td title={Array.isArray(i.rules) ? i.rules.map((r: any) => (typeof r === "string" ? r : r.title || r.uid)).join("\n") : ""}>{Array.isArray(i.rules) ? i.rules.length : i.rules ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
