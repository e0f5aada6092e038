// The app shell: session bootstrap, navigation, theme, routes.
import { useEffect, useState } from "preact/hooks";
import { setUnauthorizedHandler } from "./lib/api";
import { match, navigate, useLocation } from "./lib/router";
import { applyTheme, isOrgAdmin, isServerAdmin, loadSession, useSession } from "./lib/session";
import { Spinner } from "./lib/ui";
import { LoginPage } from "./pages/Login";
import { DashboardsPage } from "./pages/Dashboards";
import { ImportPage } from "./pages/Import";
import { DataSourcesPage, DataSourceEditPage, DataSourceNewPage } from "./pages/DataSources";
import { AlertingPage } from "./pages/Alerting";
import { AdminUsersPage, AdminUserPage, OrgsPage, TeamsPage, ServiceAccountsPage } from "./pages/Admin";
import { ProfilePage } from "./pages/Profile";
import { ClusterPage } from "./pages/Cluster";
import { HomePage } from "./pages/Home";
import { Icon } from "./lib/icons";
import { DashboardPage } from "./dashboard/DashboardPage";

interface NavItem {
  href: string;
  label: string;
  icon: string;
  show?: () => boolean;
  active: (p: string) => boolean;
}

const NAV: NavItem[] = [
  { href: "/", label: "Home", icon: "home", active: (p) => p === "/" },
  { href: "/dashboards", label: "Dashboards", icon: "grid", active: (p) => p.startsWith("/dashboard") || p.startsWith("/d/") },
  { href: "/alerting/list", label: "Alerting", icon: "bell", active: (p) => p.startsWith("/alerting") },
  { href: "/connections/datasources", label: "Data sources", icon: "database", active: (p) => p.startsWith("/connections"), show: isOrgAdmin },
  { href: "/admin/users", label: "Administration", icon: "cog", active: (p) => p.startsWith("/admin") && !p.startsWith("/admin/cluster"), show: isOrgAdmin },
  { href: "/admin/cluster", label: "Cluster", icon: "cluster", active: (p) => p.startsWith("/admin/cluster"), show: isServerAdmin },
];

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === "/") return <HomePage />;
  if ((m = match("/d/:uid/:slug?", path))) return <DashboardPage uid={m.uid} />;
  if (match("/dashboard/new", path)) return <DashboardPage />;
  if (match("/dashboard/import", path)) return <ImportPage />;
  if (match("/dashboards", path)) return <DashboardsPage />;
  if ((m = match("/dashboards/f/:uid/:slug?", path))) return <DashboardsPage folderUid={m.uid} />;
  if (match("/connections/datasources", path)) return <DataSourcesPage />;
  if (match("/connections/datasources/new", path)) return <DataSourceNewPage />;
  if ((m = match("/connections/datasources/edit/:uid", path))) return <DataSourceEditPage uid={m.uid} />;
  if ((m = match("/alerting/*", path))) return <AlertingPage sub={m["*"] || "list"} />;
  if (match("/admin/users", path)) return <AdminUsersPage />;
  if ((m = match("/admin/users/edit/:id", path))) return <AdminUserPage id={m.id} />;
  if (match("/admin/orgs", path)) return <OrgsPage />;
  if (match("/org/teams", path)) return <TeamsPage />;
  if (match("/org/serviceaccounts", path)) return <ServiceAccountsPage />;
  if (match("/admin/cluster", path)) return <ClusterPage />;
  if (match("/profile", path)) return <ProfilePage />;
  return (
    <div class="page">
      <h1>Page not found</h1>
      <p>
        <a href="/">Go home</a>
      </p>
    </div>
  );
}

export function App() {
  const loc = useLocation();
  const session = useSession();
  const [collapsed, setCollapsed] = useState(() => localStorage.getItem("vigil.nav") === "collapsed");

  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (location.pathname !== "/login") navigate(`/login?redirectTo=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    });
    // the login page needs no session probe (a 401 there would only be noise in the console)
    if (location.pathname !== "/login") loadSession();
  }, []);

  useEffect(() => {
    if (!session.ready) return;
    if (!session.user && loc.path !== "/login") {
      navigate(`/login?redirectTo=${encodeURIComponent(loc.path + location.search)}`, { replace: true });
    }
  }, [session.ready, session.user, loc.path]);

  if (loc.path === "/login") return <LoginPage />;
  if (!session.ready || !session.user) {
    return (
      <div class="boot">
        <Spinner />
      </div>
    );
  }
  const kiosk = loc.query.has("kiosk");
  const toggleNav = () => {
    const next = !collapsed;
    setCollapsed(next);
    localStorage.setItem("vigil.nav", next ? "collapsed" : "open");
  };
  return (
    <div class={`shell ${collapsed ? "nav-collapsed" : ""} ${kiosk ? "kiosk" : ""}`}>
      {kiosk ? null : (
        <aside class="sidenav" aria-label="Main navigation">
          <div class="brand">
            <button class="icon-btn" onClick={toggleNav} aria-label="Toggle navigation">
              <Icon name="menu" />
            </button>
            <a href="/" class="brand-name">
              Vigil
            </a>
          </div>
          <nav>
            {NAV.filter((n) => !n.show || n.show()).map((n) => (
              <a key={n.href} href={n.href} class={`nav-item ${n.active(loc.path) ? "active" : ""}`} title={n.label}>
                <span class="nav-icon"><Icon name={n.icon} /></span>
                <span class="nav-label">{n.label}</span>
              </a>
            ))}
          </nav>
          <div class="nav-bottom">
            <button class="nav-item" onClick={() => applyTheme(session.theme === "dark" ? "light" : "dark")} aria-label="Toggle theme" title="Toggle theme">
              <span class="nav-icon"><Icon name={session.theme === "dark" ? "sun" : "moon"} /></span>
              <span class="nav-label">{session.theme === "dark" ? "Light theme" : "Dark theme"}</span>
            </button>
            <a href="/profile" class={`nav-item ${loc.path === "/profile" ? "active" : ""}`} title="Profile">
              <span class="nav-icon"><Icon name="user" /></span>
              <span class="nav-label user-login">{session.user.login}</span>
            </a>
            <a href="/logout" class="nav-item" data-native="" title="Sign out">
              <span class="nav-icon"><Icon name="signout" /></span>
              <span class="nav-label">Sign out</span>
            </a>
          </div>
        </aside>
      )}
      <main class="content" key={loc.path}>
        <Routes path={loc.path} />
      </main>
    </div>
  );
}
