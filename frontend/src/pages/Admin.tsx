// Administration: users, orgs, teams, service accounts and their tokens.
import { useEffect, useState } from "preact/hooks";
import { api, errorMessage, qs } from "../lib/api";
import { isServerAdmin } from "../lib/session";
import { Alert, Modal, PageHeader, Spinner } from "../lib/ui";

function AdminTabs({ active }: { active: string }) {
  const tabs: [string, string, boolean][] = [
    ["/admin/users", "Users", isServerAdmin()],
    ["/admin/orgs", "Organizations", isServerAdmin()],
    ["/org/teams", "Teams", true],
    ["/org/serviceaccounts", "Service accounts", true],
  ];
  return (
    <div class="tabs">
      {tabs
        .filter((t) => t[2])
        .map(([href, label]) => (
          <a key={href} href={href} class={`tab ${active === href ? "active" : ""}`}>
            {label}
          </a>
        ))}
    </div>
  );
}

export function AdminUsersPage() {
  const [users, setUsers] = useState<any[] | null>(null);
  const [query, setQuery] = useState("");
  const [error, setError] = useState("");
  const [create, setCreate] = useState(false);
  const [form, setForm] = useState({ name: "", login: "", email: "", password: "" });
  const load = () =>
    api
      .get(`/api/users/search${qs({ query, perpage: 200, page: 1 })}`)
      .then((r) => setUsers(r.users || []))
      .catch((e) => {
        setError(errorMessage(e));
        setUsers([]);
      });
  useEffect(() => {
    document.title = "Users - Vigil";
    const t = setTimeout(load, 150);
    return () => clearTimeout(t);
  }, [query]);
  const submit = async () => {
    try {
      await api.post("/api/admin/users", form);
      setCreate(false);
      setForm({ name: "", login: "", email: "", password: "" });
      load();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <div class="page">
      <PageHeader title="Administration" subtitle="Users, organizations, teams and service accounts" />
      <AdminTabs active="/admin/users" />
      <div class="search-bar">
        <input class="input" placeholder="Search user by login, email or name" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        {isServerAdmin() ? (
          <button class="btn btn-primary" onClick={() => setCreate(true)}>
            New user
          </button>
        ) : null}
      </div>
      {error ? <Alert kind="error">{error}</Alert> : null}
      {users === null ? (
        <Spinner />
      ) : (
        <table class="list-table">
          <thead>
            <tr>
              <th>Login</th>
              <th>Email</th>
              <th>Name</th>
              <th>Server admin</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <td>
                  <a href={`/admin/users/edit/${u.id}`}>{u.login}</a>
                  {u.isDisabled ? <span class="tag">disabled</span> : null}
                </td>
                <td>{u.email}</td>
                <td>{u.name}</td>
                <td>{u.isAdmin ? "yes" : ""}</td>
                <td class="muted">{u.lastSeenAtAge || ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {create ? (
        <Modal
          title="New user"
          onClose={() => setCreate(false)}
          footer={
            <button class="btn btn-primary" onClick={submit}>
              Create user
            </button>
          }
        >
          {(["name", "login", "email", "password"] as const).map((k) => (
            <label class="field" key={k}>
              <span class="field-label">{k[0].toUpperCase() + k.slice(1)}</span>
              <input class="input" name={`user-${k}`} type={(k === "password" ? "password" : "text") as any} value={form[k]} onInput={(e) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value })} />
            </label>
          ))}
        </Modal>
      ) : null}
    </div>
  );
}

export function AdminUserPage({ id }: { id: string }) {
  const [user, setUser] = useState<any>(null);
  const [orgs, setOrgs] = useState<any[]>([]);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const [password, setPassword] = useState("");
  const load = () => {
    api.get(`/api/users/${id}`).then(setUser).catch((e) => setMsg({ kind: "error", text: errorMessage(e) }));
    api.get(`/api/users/${id}/orgs`).then(setOrgs).catch(() => setOrgs([]));
  };
  useEffect(load, [id]);
  const act = async (fn: () => Promise<any>, ok: string) => {
    try {
      await fn();
      setMsg({ kind: "success", text: ok });
      load();
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  if (!user) return <div class="page">{msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : <Spinner />}</div>;
  return (
    <div class="page">
      <PageHeader title={user.login} subtitle={user.email} />
      <AdminTabs active="/admin/users" />
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      <div class="form">
        {(["name", "email", "login"] as const).map((k) => (
          <label class="field" key={k}>
            <span class="field-label">{k}</span>
            <input class="input" value={user[k] || ""} onInput={(e) => setUser({ ...user, [k]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
        <button class="btn btn-primary" onClick={() => act(() => api.put(`/api/users/${id}`, { name: user.name, email: user.email, login: user.login }), "User updated")}>
          Save
        </button>
        <h3>Password</h3>
        <div class="field-row">
          <input class="input" type="password" value={password} placeholder="New password" onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          <button class="btn btn-secondary" onClick={() => act(() => api.put(`/api/admin/users/${id}/password`, { password }), "Password updated")}>
            Change password
          </button>
        </div>
        <h3>Permissions</h3>
        <label class="field check">
          <input type="checkbox" checked={!!user.isGrafanaAdmin} onChange={(e) => act(() => api.put(`/api/admin/users/${id}/permissions`, { isGrafanaAdmin: (e.target as HTMLInputElement).checked }), "Permissions updated")} /> Server administrator
        </label>
        <h3>Organizations</h3>
        <table class="list-table">
          <tbody>
            {orgs.map((o) => (
              <tr key={o.orgId}>
                <td>{o.name}</td>
                <td>
                  <select class="input" value={o.role} onChange={(e) => act(() => api.patch(`/api/orgs/${o.orgId}/users/${id}`, { role: (e.target as HTMLSelectElement).value }), "Role updated")}>
                    {["Viewer", "Editor", "Admin"].map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="form-actions">
          {user.isDisabled ? (
            <button class="btn btn-secondary" onClick={() => act(() => api.post(`/api/admin/users/${id}/enable`), "User enabled")}>
              Enable
            </button>
          ) : (
            <button class="btn btn-secondary" onClick={() => act(() => api.post(`/api/admin/users/${id}/disable`), "User disabled")}>
              Disable
            </button>
          )}
          <button
            class="btn btn-danger"
            onClick={() => {
              if (confirm(`Delete user ${user.login}?`)) act(() => api.del(`/api/admin/users/${id}`).then(() => location.assign("/admin/users")), "User deleted");
            }}
          >
            Delete user
          </button>
        </div>
      </div>
    </div>
  );
}

export function OrgsPage() {
  const [orgs, setOrgs] = useState<any[] | null>(null);
  const [name, setName] = useState("");
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const load = () => api.get("/api/orgs").then(setOrgs).catch((e) => { setOrgs([]); setMsg({ kind: "error", text: errorMessage(e) }); });
  useEffect(() => {
    load();
  }, []);
  return (
    <div class="page">
      <PageHeader title="Administration" />
      <AdminTabs active="/admin/orgs" />
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      <div class="search-bar">
        <input class="input" placeholder="New organization name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <button
          class="btn btn-primary"
          disabled={!name.trim()}
          onClick={async () => {
            try {
              await api.post("/api/orgs", { name });
              setName("");
              load();
            } catch (e) {
              setMsg({ kind: "error", text: errorMessage(e) });
            }
          }}
        >
          Create organization
        </button>
      </div>
      {orgs === null ? <Spinner /> : (
        <table class="list-table">
          <tbody>
            {orgs.map((o) => (
              <tr key={o.id}>
                <td>{o.id}</td>
                <td>{o.name}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function TeamsPage() {
  const [teams, setTeams] = useState<any[] | null>(null);
  const [name, setName] = useState("");
  const [members, setMembers] = useState<{ team: any; list: any[] } | null>(null);
  const [login, setLogin] = useState("");
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const load = () => api.get("/api/teams/search?perpage=1000").then((r) => setTeams(r.teams || [])).catch((e) => { setTeams([]); setMsg({ kind: "error", text: errorMessage(e) }); });
  useEffect(() => {
    load();
  }, []);
  const openMembers = async (t: any) => {
    try {
      setMembers({ team: t, list: await api.get(`/api/teams/${t.id}/members`) });
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  return (
    <div class="page">
      <PageHeader title="Administration" />
      <AdminTabs active="/org/teams" />
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      <div class="search-bar">
        <input class="input" placeholder="New team name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <button class="btn btn-primary" disabled={!name.trim()} onClick={async () => { try { await api.post("/api/teams", { name }); setName(""); load(); } catch (e) { setMsg({ kind: "error", text: errorMessage(e) }); } }}>
          New team
        </button>
      </div>
      {teams === null ? <Spinner /> : (
        <table class="list-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Members</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {teams.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.email}</td>
                <td>{t.memberCount}</td>
                <td class="actions">
                  <button class="btn btn-secondary btn-sm" onClick={() => openMembers(t)}>
                    Members
                  </button>
                  <button class="btn btn-danger btn-sm" onClick={async () => { if (!confirm(`Delete team ${t.name}?`)) return; try { await api.del(`/api/teams/${t.id}`); load(); } catch (e) { setMsg({ kind: "error", text: errorMessage(e) }); } }}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {members ? (
        <Modal title={`Members of ${members.team.name}`} onClose={() => { setMembers(null); load(); }}>
          <ul class="plain-list">
            {members.list.map((m) => (
              <li key={m.userId}>
                {m.login} <span class="muted">{m.email}</span>{" "}
                <button class="icon-btn" aria-label="Remove member" onClick={async () => { await api.del(`/api/teams/${members.team.id}/members/${m.userId}`).catch(() => undefined); openMembers(members.team); }}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
          <div class="field-row">
            <input class="input" placeholder="login or email" value={login} onInput={(e) => setLogin((e.target as HTMLInputElement).value)} />
            <button
              class="btn btn-primary"
              onClick={async () => {
                try {
                  const u = await api.get(`/api/users/lookup?loginOrEmail=${encodeURIComponent(login)}`);
                  await api.post(`/api/teams/${members.team.id}/members`, { userId: u.id });
                  setLogin("");
                  openMembers(members.team);
                } catch (e) {
                  setMsg({ kind: "error", text: errorMessage(e) });
                }
              }}
            >
              Add member
            </button>
          </div>
        </Modal>
      ) : null}
    </div>
  );
}

export function ServiceAccountsPage() {
  const [list, setList] = useState<any[] | null>(null);
  const [name, setName] = useState("");
  const [role, setRole] = useState("Viewer");
  const [tokens, setTokens] = useState<{ sa: any; list: any[] } | null>(null);
  const [newKey, setNewKey] = useState("");
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const load = () => api.get("/api/serviceaccounts/search?perpage=1000").then((r) => setList(r.serviceAccounts || [])).catch((e) => { setList([]); setMsg({ kind: "error", text: errorMessage(e) }); });
  useEffect(() => {
    load();
  }, []);
  const openTokens = async (sa: any) => {
    try {
      setTokens({ sa, list: await api.get(`/api/serviceaccounts/${sa.id}/tokens`) });
    } catch (e) {
      setMsg({ kind: "error", text: errorMessage(e) });
    }
  };
  return (
    <div class="page">
      <PageHeader title="Administration" />
      <AdminTabs active="/org/serviceaccounts" />
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      <div class="search-bar">
        <input class="input" placeholder="Service account name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <select class="input" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
          {["Viewer", "Editor", "Admin"].map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button class="btn btn-primary" disabled={!name.trim()} onClick={async () => { try { await api.post("/api/serviceaccounts", { name, role, isDisabled: false }); setName(""); load(); } catch (e) { setMsg({ kind: "error", text: errorMessage(e) }); } }}>
          Add service account
        </button>
      </div>
      {list === null ? <Spinner /> : (
        <table class="list-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Login</th>
              <th>Role</th>
              <th>Tokens</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td>
                <td class="muted">{s.login}</td>
                <td>{s.role}</td>
                <td>{s.tokens}</td>
                <td class="actions">
                  <button class="btn btn-secondary btn-sm" onClick={() => openTokens(s)}>
                    Tokens
                  </button>
                  <button class="btn btn-danger btn-sm" onClick={async () => { if (!confirm(`Delete ${s.name}?`)) return; try { await api.del(`/api/serviceaccounts/${s.id}`); load(); } catch (e) { setMsg({ kind: "error", text: errorMessage(e) }); } }}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {tokens ? (
        <Modal title={`Tokens of ${tokens.sa.name}`} onClose={() => { setTokens(null); setNewKey(""); load(); }}>
          {newKey ? (
            <Alert kind="success">
              New token (shown only once): <code class="token">{newKey}</code>
            </Alert>
          ) : null}
          <ul class="plain-list">
            {tokens.list.map((t) => (
              <li key={t.id}>
                {t.name} <span class="muted">{t.hasExpired ? "expired" : t.expiration ? `expires ${t.expiration}` : "no expiry"}</span>{" "}
                <button class="icon-btn" aria-label="Delete token" onClick={async () => { await api.del(`/api/serviceaccounts/${tokens.sa.id}/tokens/${t.id}`).catch(() => undefined); openTokens(tokens.sa); }}>
                  ✕
                </button>
              </li>
            ))}
          </ul>
          <button
            class="btn btn-primary"
            onClick={async () => {
              try {
                const r = await api.post(`/api/serviceaccounts/${tokens.sa.id}/tokens`, { name: `token-${Date.now()}` });
                setNewKey(r.key);
                openTokens(tokens.sa);
              } catch (e) {
                setMsg({ kind: "error", text: errorMessage(e) });
              }
            }}
          >
            Add token
          </button>
        </Modal>
      ) : null}
    </div>
  );
}
