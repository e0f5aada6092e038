// A small history router: Grafana's URLs, pushState navigation, link interception.
import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();

function emit(): void {
  listeners.forEach((l) => l());
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const cur = location.pathname + location.search + location.hash;
  if (to === cur) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  emit();
}

/** Update the query string without creating a history entry or re-routing the page. */
export function replaceQuery(params: URLSearchParams): void {
  const s = params.toString();
  const url = location.pathname + (s ? "?" + s : "") + location.hash;
  if (url !== location.pathname + location.search + location.hash) {
    history.replaceState(null, "", url);
  }
}

window.addEventListener("popstate", emit);

export interface Loc {
  path: string;
  query: URLSearchParams;
  key: string;
}

function current(): Loc {
  return { path: location.pathname, query: new URLSearchParams(location.search), key: location.pathname + location.search };
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState<Loc>(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}

/** Intercept clicks on same-origin <a href> so navigation stays in the app. */
export function installLinkInterceptor(): void {
  document.addEventListener("click", (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || a.dataset.native !== undefined) return;
    const href = a.getAttribute("href");
    if (!href || !href.startsWith("/") || href.startsWith("//")) return;
    if (href.startsWith("/api/") || href.startsWith("/logout") || href.startsWith("/public/")) return;
    ev.preventDefault();
    navigate(href);
  });
}

/** Match "/d/:uid/:slug" style patterns; returns params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i];
    if (seg === "*") {
      out["*"] = s.slice(i).join("/");
      return out;
    }
    const optional = seg.endsWith("?");
    const name = optional ? seg.slice(1, -1) : seg.slice(1);
    if (seg.startsWith(":")) {
      if (s[i] === undefined) {
        if (optional) continue;
        return null;
      }
      out[name] = decodeURIComponent(s[i]);
    } else if (seg !== s[i]) return null;
  }
  if (s.length > p.length) return null;
  return out;
}
