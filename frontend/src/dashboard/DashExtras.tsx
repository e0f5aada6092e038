// The dashboard's links bar and the ad-hoc filter picker.
import { useEffect, useState } from "preact/hooks";
import { api } from "../lib/api";
import { Icon } from "../lib/icons";
import { interpolate } from "./variables";
import { ADHOC_OPERATORS, linkUrl, type LinkContext } from "./features";
import { resolveDataSource, type DataSource } from "./datasources";
import type { TimeRange } from "../lib/time";

interface Found {
  uid: string;
  title: string;
  url: string;
}

function TagLinks(props: { link: any; ctx: LinkContext; selfUid?: string }) {
  const { link, ctx } = props;
  const [found, setFound] = useState<Found[]>([]);
  const [open, setOpen] = useState(false);
  const tags: string[] = Array.isArray(link.tags) ? link.tags.map((t: any) => interpolate(String(t), ctx.vars, { format: "text" })) : [];
  useEffect(() => {
    const q = new URLSearchParams({ type: "dash-db", limit: "100" });
    for (const t of tags) q.append("tag", t);
    api
      .get(`/api/search?${q.toString()}`)
      .then((res: any[]) => setFound((res || []).filter((d) => d.uid !== props.selfUid).map((d) => ({ uid: d.uid, title: d.title, url: d.url }))))
      .catch(() => setFound([]));
  }, [tags.join("\u0000")]);
  const href = (d: Found) => linkUrl({ ...link, url: d.url || `/d/${d.uid}` }, ctx);
  if (link.asDropdown) {
    return (
      <span class="dash-link-drop">
        <button class="dash-link" aria-expanded={open} onClick={() => setOpen(!open)}>
          <Icon name="dashboard" size={13} /> {link.title || tags.join(", ") || "Dashboards"} ▾
        </button>
        {open ? (
          <div class="menu" onMouseLeave={() => setOpen(false)}>
            {found.length ? (
              found.map((d) => (
                <a key={d.uid} class="menu-item dash-link-item" href={href(d)} target={link.targetBlank ? "_blank" : undefined} rel="noopener noreferrer">
                  {d.title}
                </a>
              ))
            ) : (
              <span class="menu-item muted">No dashboards found</span>
            )}
          </div>
        ) : null}
      </span>
    );
  }
  return (
    <>
      {found.map((d) => (
        <a key={d.uid} class="dash-link dash-link-item" href={href(d)} target={link.targetBlank ? "_blank" : undefined} rel="noopener noreferrer">
          <Icon name="dashboard" size={13} /> {d.title}
        </a>
      ))}
    </>
  );
}

/** Dashboard links (`links` of the dashboard JSON): plain links and dashboards found by tags. */
export function DashLinks(props: { links: any[] | undefined; ctx: LinkContext; selfUid?: string }) {
  const links = (props.links || []).filter((l) => l && typeof l === "object");
  if (!links.length) return null;
  return (
    <nav class="dash-links" aria-label="Dashboard links">
      {links.map((l, i) => {
        if (l.type === "dashboards") return <TagLinks key={i} link={l} ctx={props.ctx} selfUid={props.selfUid} />;
        const href = linkUrl(l, props.ctx);
        const title = interpolate(String(l.title || l.url || "link"), props.ctx.vars, { format: "text" });
        return (
          <a key={i} class="dash-link" href={href || undefined} title={l.tooltip ? interpolate(String(l.tooltip), props.ctx.vars, { format: "text" }) : undefined} target={l.targetBlank ? "_blank" : undefined} rel="noopener noreferrer">
            <Icon name={l.icon === "dashboard" ? "dashboard" : "link"} size={13} /> {title}
          </a>
        );
      })}
    </nav>
  );
}

/** An ad-hoc filter variable: its filters as removable chips and a form to add one. */
export function AdhocPicker(props: { v: any; onChange: () => void; datasources?: DataSource[]; range?: TimeRange }) {
  const v = props.v;
  const [adding, setAdding] = useState(false);
  const [key, setKey] = useState("");
  const [op, setOp] = useState("=");
  const [value, setValue] = useState("");
  const [keys, setKeys] = useState<string[]>([]);
  const [values, setValues] = useState<string[]>([]);
  // suggestions from a Prometheus data source: its label names, then the chosen label's values
  const ds = props.datasources ? resolveDataSource(v.datasource ?? null, props.datasources) : undefined;
  const prom = ds && /prometheus/.test(ds.type) ? ds : undefined;
  const span = props.range ? `start=${Math.floor(props.range.from / 1000)}&end=${Math.ceil(props.range.to / 1000)}` : "";
  const base = prom ? `/api/datasources/proxy/uid/${encodeURIComponent(prom.uid)}/api/v1/` : "";
  useEffect(() => {
    if (!adding || !base) return;
    api
      .get(`${base}labels?${span}`)
      .then((r: any) => setKeys((r?.data || []).filter((l: string) => l !== "__name__")))
      .catch(() => setKeys([]));
  }, [adding, base]);
  useEffect(() => {
    if (!adding || !base || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) {
      setValues([]);
      return;
    }
    const t = setTimeout(() => {
      api
        .get(`${base}label/${encodeURIComponent(key)}/values?${span}`)
        .then((r: any) => setValues((r?.data || []).slice(0, 500)))
        .catch(() => setValues([]));
    }, 150);
    return () => clearTimeout(t);
  }, [adding, base, key]);
  const listId = `adhoc-${String(v.name).replace(/[^\w-]/g, "_")}`;
  if (v.hide === 2) return null;
  const filters: any[] = Array.isArray(v.filters) ? v.filters : [];
  const add = () => {
    if (!key.trim()) return;
    v.filters = [...filters, { key: key.trim(), operator: op, value }];
    setKey("");
    setValue("");
    setOp("=");
    setAdding(false);
    props.onChange();
  };
  return (
    <div class="var-picker adhoc-picker" data-adhoc={v.name}>
      {v.hide !== 1 ? <label class="var-label">{v.label || v.name}</label> : null}
      {filters.map((f, i) => (
        <span key={i} class="adhoc-chip" data-filter={`${f.key}${f.operator}${f.value}`}>
          {f.key} {f.operator} {f.value}
          <button
            aria-label={`Remove filter ${f.key}`}
            onClick={() => {
              v.filters = filters.filter((_x, k) => k !== i);
              props.onChange();
            }}
          >
            ×
          </button>
        </span>
      ))}
      {adding ? (
        <span class="adhoc-new">
          <input class="input" aria-label="Filter key" placeholder="key" list={`${listId}-keys`} value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
          <datalist id={`${listId}-keys`}>
            {keys.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
          <select class="input" aria-label="Filter operator" value={op} onChange={(e) => setOp((e.target as HTMLSelectElement).value)}>
            {ADHOC_OPERATORS.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
          <input
            class="input"
            aria-label="Filter value"
            placeholder="value"
            list={`${listId}-values`}
            value={value}
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") add();
            }}
          />
          <datalist id={`${listId}-values`}>
            {values.map((k) => (
              <option key={k} value={k} />
            ))}
          </datalist>
          <button class="btn btn-primary btn-sm" onClick={add}>
            Add
          </button>
        </span>
      ) : (
        <button class="btn btn-secondary btn-sm" aria-label={`Add filter to ${v.name}`} onClick={() => setAdding(true)}>
          +
        </button>
      )}
    </div>
  );
}
