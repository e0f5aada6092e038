import { useEffect, useState } from "preact/hooks";
import { api } from "../lib/api";
import { useSession, canEdit } from "../lib/session";
import { PageHeader, Tags } from "../lib/ui";

export function HomePage() {
  const s = useSession();
  const [recent, setRecent] = useState<any[]>([]);
  useEffect(() => {
    document.title = "Home - Vigil";
    api.get("/api/search?type=dash-db&limit=20").then(setRecent).catch(() => setRecent([]));
  }, []);
  return (
    <div class="page">
      <PageHeader title={`Welcome, ${s.user?.name || s.user?.login}`} subtitle={`Vigil ${s.settings.buildInfo?.vigilVersion || ""} · compatible with Grafana ${s.settings.buildInfo?.version || ""} · replica ${s.settings.instance || ""}`} />
      <div class="cards">
        <a class="card" href="/dashboards">
          <h3>Dashboards</h3>
          <p class="muted">Browse and search</p>
        </a>
        {canEdit() ? (
          <>
            <a class="card" href="/dashboard/new">
              <h3>New dashboard</h3>
              <p class="muted">Start from an empty dashboard</p>
            </a>
            <a class="card" href="/dashboard/import">
              <h3>Import dashboard</h3>
              <p class="muted">Paste or upload Grafana JSON</p>
            </a>
          </>
        ) : null}
        <a class="card" href="/alerting/list">
          <h3>Alert rules</h3>
          <p class="muted">State of every rule</p>
        </a>
      </div>
      <h2>Dashboards</h2>
      <ul class="plain-list">
        {recent.map((d) => (
          <li key={d.uid}>
            <a href={d.url}>{d.title}</a> <Tags tags={d.tags} />
          </li>
        ))}
        {!recent.length ? <li class="muted">No dashboards yet.</li> : null}
      </ul>
    </div>
  );
}
