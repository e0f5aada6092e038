import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { applyTheme, loadSession, useSession, type Theme } from "../lib/session";
import { Alert, PageHeader } from "../lib/ui";

export function ProfilePage() {
  const s = useSession();
  const [name, setName] = useState(s.user?.name || "");
  const [email, setEmail] = useState(s.user?.email || "");
  const [pw, setPw] = useState({ oldPassword: "", newPassword: "", confirmNew: "" });
  const [orgs, setOrgs] = useState<any[]>([]);
  const [msg, setMsg] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  useEffect(() => {
    document.title = "Profile - Vigil";
    api.get("/api/user/orgs").then(setOrgs).catch(() => setOrgs([]));
  }, []);
  const setTheme = async (t: string) => {
    if (t === "light" || t === "dark") applyTheme(t as Theme);
    try {
      await api.put("/api/user/preferences", { theme: t === "system" ? "" : t });
    } catch {
      /* preferences API may be absent: the browser keeps the choice */
    }
  };
  return (
    <div class="page">
      <PageHeader title="Profile" subtitle={s.user?.login} />
      {msg ? <Alert kind={msg.kind}>{msg.text}</Alert> : null}
      <div class="form">
        <h3>Information</h3>
        <label class="field">
          <span class="field-label">Name</span>
          <input class="input" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span class="field-label">Email</span>
          <input class="input" value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <button
          class="btn btn-primary"
          onClick={async () => {
            try {
              await api.put("/api/user", { name, email, login: s.user?.login });
              await loadSession();
              setMsg({ kind: "success", text: "Profile updated" });
            } catch (e) {
              setMsg({ kind: "error", text: errorMessage(e) });
            }
          }}
        >
          Save
        </button>
        <h3>Preferences</h3>
        <label class="field">
          <span class="field-label">Interface theme</span>
          <select class="input" name="theme" value={s.theme} onChange={(e) => setTheme((e.target as HTMLSelectElement).value)}>
            <option value="dark">Dark</option>
            <option value="light">Light</option>
          </select>
        </label>
        {orgs.length > 1 ? (
          <>
            <h3>Organizations</h3>
            <ul class="plain-list">
              {orgs.map((o) => (
                <li key={o.orgId}>
                  {o.name} ({o.role}){" "}
                  {o.orgId === s.user?.orgId ? (
                    <span class="tag">current</span>
                  ) : (
                    <button class="btn btn-secondary btn-sm" onClick={async () => { await api.post(`/api/user/using/${o.orgId}`); location.assign("/"); }}>
                      Switch
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </>
        ) : null}
        <h3>Change password</h3>
        {(["oldPassword", "newPassword", "confirmNew"] as const).map((k) => (
          <label class="field" key={k}>
            <span class="field-label">{k === "oldPassword" ? "Old password" : k === "newPassword" ? "New password" : "Confirm password"}</span>
            <input class="input" type="password" name={k} value={pw[k]} onInput={(e) => setPw({ ...pw, [k]: (e.target as HTMLInputElement).value })} />
          </label>
        ))}
        <button
          class="btn btn-primary"
          onClick={async () => {
            try {
              await api.put("/api/user/password", pw);
              setMsg({ kind: "success", text: "Password changed: sign in again" });
              setTimeout(() => location.assign("/login"), 1200);
            } catch (e) {
              setMsg({ kind: "error", text: errorMessage(e) });
            }
          }}
        >
          Change password
        </button>
      </div>
    </div>
  );
}
