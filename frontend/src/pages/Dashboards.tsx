// Browse and search dashboards and folders.
import { useEffect, useState } from "preact/hooks";
import { api, errorMessage, qs } from "../lib/api";
import { canEdit } from "../lib/session";
import { Alert, Modal, PageHeader, Spinner, Tags } from "../lib/ui";
import { Icon } from "../lib/icons";

export function DashboardsPage({ folderUid }: { folderUid?: string }) {
  const [query, setQuery] = useState("");
  const [tag, setTag] = useState<string[]>([]);
  const [hits, setHits] = useState<any[] | null>(null);
  const [folder, setFolder] = useState<any>(null);
  const [error, setError] = useState("");
  const [tags, setTags] = useState<{ term: string; count: number }[]>([]);
  const [newFolder, setNewFolder] = useState(false);
  const [folderName, setFolderName] = useState("");
  const [reload, setReload] = useState(0);

  useEffect(() => {
    document.title = "Dashboards - Vigil";
    api.get("/api/dashboards/tags").then(setTags).catch(() => setTags([]));
    if (folderUid) api.get(`/api/folders/${encodeURIComponent(folderUid)}`).then(setFolder).catch((e) => setError(errorMessage(e)));
  }, [folderUid]);

  useEffect(() => {
    const t = setTimeout(() => {
      const searching = query || tag.length;
      const params: any = { query, tag, limit: 1000 };
      if (folderUid) params.folderUIDs = folderUid;
      else if (!searching) params.folderUIDs = "";
      api
        .get(`/api/search${qs(params)}`)
        .then((r) => {
          setHits(r);
          setError("");
        })
        .catch((e) => setError(errorMessage(e)));
    }, 150);
    return () => clearTimeout(t);
  }, [query, tag.join(","), folderUid, reload]);

  const createFolder = async () => {
    try {
      const f = await api.post("/api/folders", { title: folderName, parentUid: folderUid || undefined });
      setNewFolder(false);
      setFolderName("");
      setReload((r) => r + 1);
      if (f?.url) location.assign(f.url);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <div class="page">
      <PageHeader
        title={folder ? folder.title : "Dashboards"}
        subtitle={folder ? "Folder" : "Create and manage dashboards to visualize your data"}
        actions={
          canEdit() ? (
            <>
              <a class="btn btn-primary" href={folderUid ? `/dashboard/new?folderUid=${encodeURIComponent(folderUid)}` : "/dashboard/new"}>
                New dashboard
              </a>
              <button class="btn btn-secondary" onClick={() => setNewFolder(true)}>
                New folder
              </button>
              <a class="btn btn-secondary" href="/dashboard/import">
                Import
              </a>
            </>
          ) : null
        }
      />
      {folder ? (
        <p>
          <a href="/dashboards">← All dashboards</a>
        </p>
      ) : null}
      <div class="search-bar">
        <input class="input" type="search" name="search" placeholder="Search for dashboards and folders" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} aria-label="Search dashboards" />
        <select
          class="input tag-filter"
          aria-label="Filter by tag"
          value=""
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            if (v && !tag.includes(v)) setTag([...tag, v]);
          }}
        >
          <option value="">Filter by tag</option>
          {tags.map((t) => (
            <option key={t.term} value={t.term}>
              {t.term} ({t.count})
            </option>
          ))}
        </select>
        {tag.map((t) => (
          <button key={t} class="tag tag-btn" onClick={() => setTag(tag.filter((x) => x !== t))}>
            {t} ✕
          </button>
        ))}
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
      {hits === null ? (
        <Spinner />
      ) : (
        <table class="list-table search-results">
          <thead>
            <tr>
              <th>Name</th>
              <th>Location</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {hits.map((h) => (
              <tr key={h.uid} data-type={h.type}>
                <td>
                  <span class="hit-icon"><Icon name={h.type === "dash-folder" ? "folder" : "dashboard"} /></span>
                  <a href={h.url}>{h.title}</a>
                </td>
                <td class="muted">{h.type === "dash-folder" ? "Folder" : h.folderTitle || "Dashboards"}</td>
                <td>
                  <Tags tags={h.tags} />
                </td>
              </tr>
            ))}
            {!hits.length ? (
              <tr>
                <td colSpan={3} class="muted">
                  No dashboards found.
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
      {newFolder ? (
        <Modal
          title="New folder"
          onClose={() => setNewFolder(false)}
          footer={
            <button class="btn btn-primary" onClick={createFolder} disabled={!folderName.trim()}>
              Create
            </button>
          }
        >
          <label class="field">
            <span class="field-label">Folder name</span>
            <input class="input" name="folder-name" value={folderName} onInput={(e) => setFolderName((e.target as HTMLInputElement).value)} />
          </label>
        </Modal>
      ) : null}
    </div>
  );
}
