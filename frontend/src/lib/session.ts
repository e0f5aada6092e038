// The signed-in user, the server's settings, the theme.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";

export interface User {
  id: number;
  uid: string;
  login: string;
  name: string;
  email: string;
  theme: string;
  orgId: number;
  isGrafanaAdmin: boolean;
  orgRole?: string;
}

export interface Settings {
  appUrl?: string;
  buildInfo?: { version: string; vigilVersion?: string; commit?: string };
  instance?: string;
  datasources?: Record<string, any>;
  defaultDatasource?: string;
  disableLoginForm?: boolean;
}

export type Theme = "light" | "dark";

interface State {
  user: User | null;
  settings: Settings;
  role: string;
  theme: Theme;
  ready: boolean;
}

const state: State = {
  user: null,
  settings: {},
  role: "Viewer",
  theme: (document.documentElement.dataset.theme as Theme) || "dark",
  ready: false,
};
const subs = new Set<() => void>();
function emit() {
  subs.forEach((f) => f());
}

export function getSession(): State {
  return state;
}

export function useSession(): State {
  const [, force] = useState(0);
  useEffect(() => {
    const f = () => force((n) => n + 1);
    subs.add(f);
    return () => {
      subs.delete(f);
    };
  }, []);
  return state;
}

export function applyTheme(t: Theme, remember = true): void {
  state.theme = t;
  document.documentElement.dataset.theme = t;
  if (remember) {
    try {
      localStorage.setItem("vigil.theme", t);
    } catch {
      /* storage may be disabled */
    }
  }
  emit();
}

function preferredTheme(userTheme: string | undefined): Theme {
  if (userTheme === "light" || userTheme === "dark") return userTheme;
  try {
    const t = localStorage.getItem("vigil.theme");
    if (t === "light" || t === "dark") return t;
  } catch {
    /* ignore */
  }
  return matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
}

/** Load the user (null when signed out) and the frontend settings. */
export async function loadSession(): Promise<void> {
  try {
    state.user = await api.get<User>("/api/user", { quiet401: true });
  } catch {
    state.user = null;
  }
  if (state.user) {
    // both at once: every page waits for the session before it starts its own requests
    const [settings, orgs] = await Promise.all([
      api.get<Settings>("/api/frontend/settings", { quiet401: true }).catch(() => ({}) as Settings),
      api.get<{ orgId: number; role: string }[]>("/api/user/orgs", { quiet401: true }).catch(() => null),
    ]);
    state.settings = settings;
    const mine = orgs?.find((o) => o.orgId === state.user!.orgId);
    state.role = mine ? mine.role : "Viewer";
    applyTheme(preferredTheme(state.user.theme), false);
  }
  state.ready = true;
  emit();
}

export function canEdit(): boolean {
  return state.role === "Editor" || state.role === "Admin" || !!state.user?.isGrafanaAdmin;
}
export function isOrgAdmin(): boolean {
  return state.role === "Admin" || !!state.user?.isGrafanaAdmin;
}
export function isServerAdmin(): boolean {
  return !!state.user?.isGrafanaAdmin;
}
