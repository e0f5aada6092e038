import { useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { loadSession } from "../lib/session";
import { navigate } from "../lib/router";

function safeRedirect(to: string | null): string {
  // only same-origin paths: never "//host" or "http://host"; browsers drop tabs and newlines inside
  // URLs and read "\\" as "/", so "/\\host" and "/<tab>/host" are cleaned before the check
  const path = (to || "").replace(/[\t\n\r]/g, "").replace(/\\/g, "/");
  if (!path.startsWith("/") || path.startsWith("//")) return "/";
  return path;
}

export function LoginPage() {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await api.post("/login", { user, password }, { quiet401: true });
      await loadSession();
      navigate(safeRedirect(new URLSearchParams(location.search).get("redirectTo")), { replace: true });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-page">
      <form class="login-box" onSubmit={submit} aria-label="Log in">
        <div class="login-brand">
          <span class="logo-mark">◉</span> Vigil
        </div>
        <h1>Welcome to Vigil</h1>
        <label class="field">
          <span class="field-label">Email or username</span>
          <input class="input" name="user" autoComplete="username" autoFocus value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} required />
        </label>
        <label class="field">
          <span class="field-label">Password</span>
          <input class="input" name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error ? (
          <div class="alert alert-error login-error" role="alert">
            {error}
          </div>
        ) : null}
        <button class="btn btn-primary btn-block" type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </div>
  );
}
