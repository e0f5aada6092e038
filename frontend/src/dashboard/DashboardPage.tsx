// The dashboard page: load, migrate, variables, time, grid of panels, rows, view/edit/inspect, save.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, errorMessage } from "../lib/api";
import { navigate, replaceQuery, useLocation } from "../lib/router";
import { canEdit, useSession } from "../lib/session";
import { parseDuration, resolveRange, type RawRange } from "../lib/time";
import { Alert, downloadText, Modal, Spinner, Tags } from "../lib/ui";
import { loadDataSources, type DataSource } from "./datasources";
import { collapseRow, deepCopy, emptyDashboard, expandRow, migrateDashboard, nextPanelId, slugify, allPanels, type Dashboard, type Panel } from "./model";
import { layoutPanels } from "./layout";
import { PanelView, type DashContext } from "./PanelView";
import { RefreshPicker, TimePicker, VariablePicker } from "./Toolbar";
import { applyUrlValues, dependents, interpolate, refreshVariables, writeUrlValues } from "./variables";
import { prepareFrames } from "./data";
import { PanelResults, type PanelData } from "./query";
import { PanelEditor } from "./PanelEditor";
import { DashboardSettings } from "./Settings";
import { Icon } from "../lib/icons";
import { applyAdhocUrl, editedLibraryPanels, libraryRefsOnly, loadAnnotations, placePanel, resolveLibraryPanels, unlinkLibraryPanel, updateLibraryPanels, writeAdhocUrl, type Annotation, type LibraryState } from "./features";
import { AdhocPicker, DashLinks } from "./DashExtras";

interface Meta {
  canSave?: boolean;
  canEdit?: boolean;
  folderUid?: string;
  folderTitle?: string;
  folderUrl?: string;
  slug?: string;
  url?: string;
  provisioned?: boolean;
  isNew?: boolean;
  version?: number;
}

const IMPORT_KEY = "vigil.newDashboard";

export function stashNewDashboard(dash: any, folderUid?: string): void {
  sessionStorage.setItem(IMPORT_KEY, JSON.stringify({ dash, folderUid }));
}

export function DashboardPage({ uid }: { uid?: string }) {
  const loc = useLocation();
  const session = useSession();
  const [dash, setDash] = useState<Dashboard | null>(null);
  const [meta, setMeta] = useState<Meta>({});
  const [error, setError] = useState<string>("");
  const [raw, setRaw] = useState<RawRange>({ from: "now-6h", to: "now" });
  const [tz, setTz] = useState<string>("browser");
  const [refreshKey, setRefreshKey] = useState(0);
  const [rangeNow, setRangeNow] = useState(Date.now());
  const [varErrors, setVarErrors] = useState<Record<string, string>>({});
  const [ready, setReady] = useState(false);
  const [tick, setTick] = useState(0);
  const [datasources, setDatasources] = useState<DataSource[]>([]);
  const [refresh, setRefresh] = useState<string>("");
  const [inspect, setInspect] = useState<{ panel: Panel; data: PanelData | null; tab: "data" | "json" } | null>(null);
  const [saving, setSaving] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [flash, setFlash] = useState<string>("");
  const panelResults = useRef(new PanelResults()).current;
  const [annotations, setAnnotations] = useState<Annotation[]>([]);
  const gridRef = useRef<HTMLDivElement>(null);
  const [dragging, setDragging] = useState<number | null>(null);
  const savedJson = useRef<string>("");
  const library = useRef<LibraryState>(new Map());

  const viewPanel = loc.query.get("viewPanel");
  const editPanel = loc.query.get("editPanel");
  const editview = loc.query.get("editview");

  // ---- load ----------------------------------------------------------------------------------
  useEffect(() => {
    let cancelled = false;
    setReady(false);
    setError("");
    setDash(null);
    (async () => {
      let d: Dashboard;
      let m: Meta;
      const dsLoading = loadDataSources(); // alongside the dashboard, not after it
      try {
        if (uid) {
          const res = await api.get(`/api/dashboards/uid/${encodeURIComponent(uid)}`);
          d = migrateDashboard(res.dashboard);
          m = res.meta || {};
        } else {
          const stashed = sessionStorage.getItem(IMPORT_KEY);
          if (stashed) {
            sessionStorage.removeItem(IMPORT_KEY);
            const s = JSON.parse(stashed);
            d = migrateDashboard(s.dash);
            m = { isNew: true, canSave: true, canEdit: true, folderUid: s.folderUid || "" };
          } else {
            d = emptyDashboard();
            m = { isNew: true, canSave: true, canEdit: true, folderUid: loc.query.get("folderUid") || "" };
          }
        }
      } catch (e) {
        if (!cancelled) setError(e instanceof ApiError && e.status === 404 ? "Dashboard not found" : errorMessage(e));
        return;
      }
      const [dsList, libState] = await Promise.all([dsLoading, resolveLibraryPanels(d)]);
      if (cancelled) return;
      library.current = libState;
      const q = new URLSearchParams(location.search);
      const r: RawRange = { from: q.get("from") || String(d.time?.from || "now-6h"), to: q.get("to") || String(d.time?.to || "now") };
      const zone = q.get("timezone") || d.timezone || "browser";
      const vars = d.templating?.list || [];
      applyUrlValues(vars, q);
      applyAdhocUrl(vars, q);
      const errs = await refreshVariables(null, { range: resolveRange(r, zone), datasources: dsList, vars });
      if (cancelled) return;
      const rf = q.get("refresh") ?? (typeof d.refresh === "string" ? d.refresh : "");
      savedJson.current = JSON.stringify(d);
      setDatasources(dsList);
      setVarErrors(errs);
      setRaw(r);
      setTz(zone);
      setRefresh(rf || "");
      setDash(d);
      setMeta(m);
      setDirty(!!m.isNew && (d.panels.length > 0));
      setRangeNow(Date.now());
      setReady(true);
      document.title = `${d.title} - Vigil`;
    })();
    return () => {
      cancelled = true;
    };
  }, [uid, loc.path]);

  // ---- URL state -----------------------------------------------------------------------------
  useEffect(() => {
    if (!dash || !ready) return;
    const q = new URLSearchParams(location.search);
    q.set("from", String(raw.from));
    q.set("to", String(raw.to));
    if (tz && tz !== (dash.timezone || "browser")) q.set("timezone", tz);
    else q.delete("timezone");
    if (refresh) q.set("refresh", refresh);
    else q.delete("refresh");
    writeUrlValues(dash.templating?.list || [], q);
    writeAdhocUrl(dash.templating?.list || [], q);
    replaceQuery(q);
  }, [raw, tz, refresh, tick, ready]);

  // ---- auto refresh --------------------------------------------------------------------------
  useEffect(() => {
    const ms = parseDuration(refresh);
    if (!ms || !ready) return;
    const t = setInterval(() => {
      setRangeNow(Date.now());
      setRefreshKey((k) => k + 1);
    }, Math.max(ms, 5000));
    return () => clearInterval(t);
  }, [refresh, ready]);

  const range = useMemo(() => resolveRange(raw, tz, rangeNow), [raw, tz, rangeNow]);

  // ---- annotations ---------------------------------------------------------------------------
  useEffect(() => {
    if (!dash || !ready) return;
    let cancelled = false;
    loadAnnotations(dash, range, dash.templating?.list || [], datasources).then((r) => {
      if (!cancelled) setAnnotations(r.items);
    });
    return () => {
      cancelled = true;
    };
  }, [ready, range.from, range.to, refreshKey, JSON.stringify(dash?.annotations?.list?.map((a: any) => [a?.enable, a?.target, a?.iconColor]) || [])]);
  const vars = dash?.templating?.list || [];

  const bump = (markDirty = true) => {
    setTick((t) => t + 1);
    if (markDirty) setDirty(true);
  };

  const setRange = async (r: RawRange) => {
    setRaw(r);
    const now = Date.now();
    setRangeNow(now);
    if (dash) {
      const errs = await refreshVariables(null, { range: resolveRange(r, tz, now), datasources, vars }, true);
      setVarErrors((e) => ({ ...e, ...errs }));
      setTick((t) => t + 1);
    }
  };

  const doRefresh = async () => {
    const now = Date.now();
    setRangeNow(now);
    if (dash) {
      const errs = await refreshVariables(null, { range: resolveRange(raw, tz, now), datasources, vars }, true);
      setVarErrors((e) => ({ ...e, ...errs }));
    }
    setRefreshKey((k) => k + 1);
  };

  const onVariableChange = async (name: string) => {
    const deps = dependents(vars, name);
    if (deps.length) {
      const errs = await refreshVariables(deps, { range, datasources, vars });
      setVarErrors((e) => ({ ...e, ...errs }));
    }
    setTick((t) => t + 1);
  };

  const zoom = (from: number, to: number) => setRange({ from: String(from), to: String(to) });
  const zoomOut = () => {
    const span = range.to - range.from;
    const to = Math.min(Date.now(), range.to + span / 2);
    setRange({ from: String(Math.round(to - span * 2)), to: String(Math.round(to)) });
  };

  const setQuery = (changes: Record<string, string | null>) => {
    const q = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) q.delete(k);
      else q.set(k, v);
    }
    navigate(location.pathname + "?" + q.toString());
  };

  const setAllRows = (expand: boolean) => {
    if (!dash) return;
    const rows = dash.panels.filter((p) => p.type === "row").sort((a, b) => b.gridPos.y - a.gridPos.y);
    for (const r of rows) {
      if (expand && r.collapsed) expandRow(dash, r);
      else if (!expand && !r.collapsed) collapseRow(dash, r);
    }
    bump(false);
  };

  useEffect(() => {
    let lastKey = "";
    const k = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
      if (e.key === "Escape" && (viewPanel || editview) && !document.querySelector(".modal")) setQuery({ viewPanel: null, editview: null });
      // Grafana's shortcuts: "d shift+e" expands every row, "d shift+c" collapses them, "d r" refreshes
      if (lastKey === "d" && e.key === "E") setAllRows(true);
      if (lastKey === "d" && e.key === "C") setAllRows(false);
      if (lastKey === "d" && e.key === "r") doRefresh();
      if (e.key !== "Shift") lastKey = e.key;
    };
    window.addEventListener("keydown", k);
    return () => window.removeEventListener("keydown", k);
  }, [viewPanel, editview, dash, raw, tz]);

  // ---- save ----------------------------------------------------------------------------------
  const [saveOpen, setSaveOpen] = useState(false);
  const [conflict, setConflict] = useState<{ status: string; message: string } | null>(null);
  const [saveMessage, setSaveMessage] = useState("");
  const [saveError, setSaveError] = useState("");

  const save = async (overwrite: boolean) => {
    if (!dash) return;
    setSaving(true);
    setSaveError("");
    try {
      // edited library panels go to the library first: the dashboard keeps only their reference
      try {
        await updateLibraryPanels(dash, library.current);
      } catch (e) {
        setSaveOpen(true);
        setSaveError(errorMessage(e));
        return;
      }
      const body = { dashboard: { ...libraryRefsOnly(dash), id: meta.isNew ? null : dash.id }, folderUid: meta.folderUid || "", message: saveMessage, overwrite };
      const res = await api.post("/api/dashboards/db", body);
      dash.version = res.version;
      dash.uid = res.uid;
      if (res.id !== undefined) dash.id = res.id;
      savedJson.current = JSON.stringify(dash);
      setSaveOpen(false);
      setConflict(null);
      setDirty(false);
      setSaveMessage("");
      setFlash("Dashboard saved");
      setTimeout(() => setFlash(""), 3000);
      if (meta.isNew || uid !== res.uid) {
        navigate(res.url || `/d/${res.uid}/${slugify(dash.title)}`);
      } else setMeta({ ...meta, version: res.version });
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        setSaveOpen(false);
        setConflict({ status: e.data?.status || "", message: e.message });
      } else setSaveError(errorMessage(e));
    } finally {
      setSaving(false);
    }
  };

  if (error) {
    return (
      <div class="page">
        <Alert kind="error">{error}</Alert>
        <a href="/dashboards">Back to dashboards</a>
      </div>
    );
  }
  if (!dash || !ready) {
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  }

  const editable = canEdit() && meta.canEdit !== false && dash.editable !== false;
  const ctx: DashContext = {
    uid: dash.uid || "new",
    range,
    vars,
    datasources,
    timezone: tz,
    refreshKey,
    graphTooltip: dash.graphTooltip || 0,
    theme: session.theme,
    panelResults,
    onZoom: zoom,
    onView: (p) => setQuery({ viewPanel: String(p.id) }),
    onEdit: editable ? (p) => setQuery({ editPanel: String(p.id) }) : undefined,
    onInspect: (p, data, tab) => setInspect({ panel: p, data, tab }),
    onRemove: editable
      ? (p) => {
          if (!confirm(`Remove panel "${p.title || p.id}"?`)) return;
          dash.panels = dash.panels.filter((x) => x !== p && x.id !== p.id);
          for (const r of dash.panels) if (r.panels) r.panels = r.panels.filter((x) => x.id !== p.id);
          bump();
        }
      : undefined,
    onUnlink: editable
      ? (p) => {
          const target = allPanels(dash).find((x) => x.id === (p.repeatPanelId ?? p.id));
          if (!target?.libraryPanel) return;
          if (!confirm(`Unlink "${p.title || p.id}" from library panel "${target.libraryPanel.name || target.libraryPanel.uid}"? Its configuration is then kept in this dashboard, and later changes to the library panel no longer reach it.`)) return;
          unlinkLibraryPanel(target);
          bump();
        }
      : undefined,
    onDuplicate: editable
      ? (p) => {
          const c = deepCopy(p);
          c.id = nextPanelId(dash);
          c.gridPos = { ...p.gridPos, y: p.gridPos.y + p.gridPos.h };
          delete c.scopedVars;
          delete c.repeatPanelId;
          dash.panels.push(c);
          bump();
        }
      : undefined,
    canEdit: editable,
    annotations,
    raw: { from: String(raw.from), to: String(raw.to) },
    onDragStart: editable && !viewPanel ? (p, ev, mode) => startDrag(p, ev, mode) : undefined,
  };

  // ---- moving and resizing panels (header drag, corner handle) -------------------------------
  const startDrag = (p: Panel, ev: PointerEvent, mode: "move" | "resize") => {
    const grid = gridRef.current;
    const target = dash.panels.find((x) => x.id === p.id && !p.repeatPanelId);
    if (!grid || !target || ev.button !== 0) return;
    ev.preventDefault();
    const rect = grid.getBoundingClientRect();
    const colW = (rect.width + 8) / 24;
    const rowH = 30 + 8;
    const start = { x: ev.clientX, y: ev.clientY, g: { ...target.gridPos } };
    let last = "";
    setDragging(target.id);
    const move = (e: PointerEvent) => {
      const dx = Math.round((e.clientX - start.x) / colW);
      const dy = Math.round((e.clientY - start.y) / rowH);
      const g = mode === "move" ? { ...start.g, x: start.g.x + dx, y: start.g.y + dy } : { ...start.g, w: start.g.w + dx, h: start.g.h + dy };
      const key = `${g.x},${g.y},${g.w},${g.h}`;
      if (key === last) return;
      last = key;
      placePanel(dash, target, g);
      bump();
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      setDragging(null);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  };

  const addPanel = () => {
    const id = nextPanelId(dash);
    const def = datasources.find((d) => d.isDefault) || datasources[0];
    const maxY = dash.panels.reduce((m, p) => Math.max(m, p.gridPos.y + p.gridPos.h), 0);
    const p: Panel = {
      id,
      type: "timeseries",
      title: "Panel Title",
      gridPos: { x: 0, y: maxY, w: 12, h: 8 },
      datasource: def ? { type: def.type, uid: def.uid } : undefined,
      targets: [{ refId: "A", datasource: def ? { type: def.type, uid: def.uid } : undefined }],
      fieldConfig: { defaults: {}, overrides: [] },
      options: {},
    };
    dash.panels.push(p);
    bump();
    setQuery({ editPanel: String(id) });
  };

  const addRow = () => {
    const maxY = dash.panels.reduce((m, p) => Math.max(m, p.gridPos.y + p.gridPos.h), 0);
    dash.panels.push({ id: nextPanelId(dash), type: "row", title: "Row title", collapsed: false, gridPos: { x: 0, y: maxY, w: 24, h: 1 }, panels: [] });
    bump();
  };

  // ---- editors -------------------------------------------------------------------------------
  if (editPanel && editable) {
    const target = allPanels(dash).find((p) => String(p.id) === editPanel);
    if (target) {
      return (
        <PanelEditor
          panel={target}
          dash={dash}
          ctx={ctx}
          onApply={(updated) => {
            Object.keys(target).forEach((k) => delete (target as any)[k]);
            Object.assign(target, updated);
            bump();
            setQuery({ editPanel: null });
          }}
          onDiscard={() => setQuery({ editPanel: null })}
        />
      );
    }
  }
  if (editview && editable) {
    return (
      <DashboardSettings
        dash={dash}
        meta={meta}
        datasources={datasources}
        range={range}
        onChange={(d, m) => {
          if (d !== dash) {
            const fresh = migrateDashboard(d);
            Object.keys(dash).forEach((k) => delete (dash as any)[k]);
            Object.assign(dash, fresh);
          }
          if (m) setMeta({ ...meta, ...m });
          if (dash.timezone && dash.timezone !== tz) setTz(dash.timezone);
          refreshVariables(null, { range, datasources, vars: dash.templating?.list || [] }).then((errs) => {
            setVarErrors(errs);
            bump();
          });
        }}
        onClose={() => setQuery({ editview: null })}
      />
    );
  }

  const items = layoutPanels(dash, vars);
  const libraryEdits = saveOpen ? editedLibraryPanels(dash, library.current) : [];
  const viewed = viewPanel ? items.find((p) => String(p.id) === viewPanel) : null;
  void tick;

  return (
    <div class="dashboard-page">
      <div class="dash-nav">
        <div class="dash-title">
          {meta.folderTitle && meta.folderTitle !== "General" ? (
            <>
              <a href={meta.folderUrl || "/dashboards"} class="muted">
                {meta.folderTitle}
              </a>
              <span class="muted"> / </span>
            </>
          ) : null}
          <h1>{dash.title}</h1>
          <Tags tags={dash.tags} />
          {dirty ? <span class="dirty-dot" title="Unsaved changes" /> : null}
        </div>
        <div class="dash-actions">
          {editable ? (
            <>
              <button class="btn btn-secondary" onClick={addPanel}>
                + Add panel
              </button>
              <button class="btn btn-secondary" onClick={addRow}>
                + Row
              </button>
              <button class="btn btn-secondary" onClick={() => setQuery({ editview: "settings" })} aria-label="Dashboard settings">
                <Icon name="cog" /> Settings
              </button>
              <button class={`btn ${dirty ? "btn-primary" : "btn-secondary"}`} onClick={() => setSaveOpen(true)} disabled={meta.canSave === false}>
                Save
              </button>
            </>
          ) : null}
          <button class="btn btn-secondary" onClick={() => downloadText(`${slugify(dash.title)}.json`, JSON.stringify(dash, null, 2))} title="Export JSON">
            Export
          </button>
          {dash.timepicker?.hidden ? null : (
            <>
              <button class="btn btn-secondary" onClick={zoomOut} aria-label="Zoom out time range" title="Zoom out">
                <Icon name="zoomout" />
              </button>
              <TimePicker raw={raw} timezone={tz} onChange={setRange} onTimezone={(z) => setTz(z)} />
              <RefreshPicker value={refresh} intervals={dash.timepicker?.refresh_intervals} onRefresh={doRefresh} onChange={(v) => setRefresh(v)} />
            </>
          )}
        </div>
      </div>
      {flash ? <Alert kind="success">{flash}</Alert> : null}
      {vars.some((v: any) => v && v.hide !== 2 && v.type !== "constant") ? (
        <div class="var-bar">
          {vars.map((v: any) =>
            v?.type === "adhoc" ? (
              <AdhocPicker key={v.name} v={v} datasources={datasources} range={range} onChange={() => onVariableChange(v.name)} />
            ) : (
              <VariablePicker key={v.name} v={v} error={varErrors[v.name]} onChange={() => onVariableChange(v.name)} />
            ),
          )}
        </div>
      ) : null}
      <DashLinks links={dash.links} ctx={{ vars, range, raw: { from: String(raw.from), to: String(raw.to) } }} selfUid={dash.uid} />
      {viewed ? (
        <div class="view-panel">
          <div class="view-panel-bar">
            <button class="btn btn-secondary" onClick={() => setQuery({ viewPanel: null })}>
              ← Back to dashboard
            </button>
          </div>
          <div class="view-panel-body">
            <PanelView panel={viewed} ctx={{ ...ctx, eager: true }} fill />
          </div>
        </div>
      ) : (
        <div class="grid" data-testid="dashboard-grid" ref={gridRef}>
          {items.map((p) => {
            const g = p.gridPos;
            const style = { gridColumn: `${g.x + 1} / span ${g.w}`, gridRow: `${g.y + 1} / span ${g.h}`, "--h": g.h } as any;
            if (p.type === "row") {
              const count = p.collapsed ? (p.panels || []).length : 0;
              const title = interpolate(p.title || "", vars, { scoped: p.scopedVars, format: "text" });
              const original = dash.panels.find((x) => x.id === (p.repeatPanelId ?? p.id)) || p;
              return (
                <div key={`row-${p.id}`} class={`grid-item grid-row ${p.collapsed ? "collapsed" : ""}`} style={style} data-row-id={p.id}>
                  <button
                    class="row-toggle"
                    aria-expanded={!p.collapsed}
                    onClick={() => {
                      if (original.collapsed) expandRow(dash, original);
                      else collapseRow(dash, original);
                      bump(false);
                    }}
                  >
                    <span class="chev">{p.collapsed ? "▸" : "▾"}</span> {title || "(untitled row)"}
                    {p.collapsed && count ? <span class="muted"> ({count} panels)</span> : null}
                  </button>
                </div>
              );
            }
            return (
              <div key={`p-${p.id}`} class={`grid-item ${dragging === p.id ? "dragging" : ""}`} style={style} data-gridpos={`${g.x},${g.y},${g.w},${g.h}`}>
                <PanelView panel={p} ctx={ctx} />
              </div>
            );
          })}
          {items.length === 0 ? (
            <div class="empty-dash">
              <p>This dashboard is empty.</p>
              {editable ? (
                <button class="btn btn-primary" onClick={addPanel}>
                  + Add visualization
                </button>
              ) : null}
            </div>
          ) : null}
        </div>
      )}
      {inspect ? <InspectDrawer {...inspect} onClose={() => setInspect(null)} /> : null}
      {saveOpen ? (
        <Modal
          title={meta.isNew ? "Save dashboard" : "Save dashboard"}
          onClose={() => setSaveOpen(false)}
          footer={
            <>
              <button class="btn btn-secondary" onClick={() => setSaveOpen(false)}>
                Cancel
              </button>
              <button class="btn btn-primary" disabled={saving} onClick={() => save(false)}>
                {saving ? "Saving…" : "Save"}
              </button>
            </>
          }
        >
          {meta.isNew ? (
            <label class="field">
              <span class="field-label">Title</span>
              <input
                class="input"
                name="title"
                value={dash.title}
                onInput={(e) => {
                  dash.title = (e.target as HTMLInputElement).value;
                  setTick((t) => t + 1);
                }}
              />
            </label>
          ) : null}
          <label class="field">
            <span class="field-label">Message</span>
            <textarea class="input" name="message" rows={3} placeholder="Describe your changes (optional)" value={saveMessage} onInput={(e) => setSaveMessage((e.target as HTMLTextAreaElement).value)} />
          </label>
          {libraryEdits.length ? (
            <div class="library-save-note" data-testid="library-save-note">
              <div class="field-label">Library panels</div>
              {libraryEdits.map(({ info }) => (
                <div key={info.uid}>
                  Saving updates library panel <b>{info.name}</b>
                  {info.connected > 1 ? <span class="muted"> (used by {info.connected} dashboards)</span> : null}
                </div>
              ))}
            </div>
          ) : null}
          {saveError ? <Alert kind="error">{saveError}</Alert> : null}
        </Modal>
      ) : null}
      {conflict ? (
        <Modal
          title={conflict.status === "name-exists" ? "Dashboard name exists" : "Someone else has updated this dashboard"}
          onClose={() => setConflict(null)}
          footer={
            <>
              <button class="btn btn-secondary" onClick={() => setConflict(null)}>
                Cancel
              </button>
              <button class="btn btn-secondary" onClick={() => location.reload()}>
                Discard and reload
              </button>
              <button class="btn btn-danger" onClick={() => save(true)}>
                Save and overwrite
              </button>
            </>
          }
        >
          <p class="conflict-text">{conflict.message}</p>
          <p class="muted">Would you still like to save this dashboard, replacing the other change?</p>
        </Modal>
      ) : null}
    </div>
  );
}

function InspectDrawer(props: { panel: Panel; data: PanelData | null; tab: "data" | "json"; onClose: () => void }) {
  const [tab, setTab] = useState<"data" | "json" | "query">(props.tab);
  const [frame, setFrame] = useState(0);
  const frames = props.data ? prepareFrames(props.data.frames, props.panel.fieldConfig, props.data.legendFormats) : [];
  const f = frames[frame];
  return (
    <Modal title={`Inspect: ${props.panel.title || props.panel.id}`} onClose={props.onClose} wide>
      <div class="tabs">
        {(["data", "json", "query"] as const).map((t) => (
          <button key={t} class={`tab ${tab === t ? "active" : ""}`} onClick={() => setTab(t)}>
            {t === "data" ? "Data" : t === "json" ? "JSON" : "Query"}
          </button>
        ))}
      </div>
      {tab === "data" ? (
        <div class="inspect-data">
          {frames.length > 1 ? (
            <select class="input" value={String(frame)} onChange={(e) => setFrame(Number((e.target as HTMLSelectElement).value))}>
              {frames.map((x, i) => (
                <option key={i} value={String(i)}>
                  {x.name || x.fields.find((q) => q.type === "number")?.displayName || `Series ${i + 1}`}
                </option>
              ))}
            </select>
          ) : null}
          {f ? (
            <div class="table-scroll inspect-table">
              <table class="data-table">
                <thead>
                  <tr>
                    {f.fields.map((x, i) => (
                      <th key={i}>{x.displayName || x.name}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {Array.from({ length: Math.min(f.length, 500) }, (_x, r) => (
                    <tr key={r}>
                      {f.fields.map((x, i) => (
                        <td key={i}>{x.type === "time" && typeof x.values[r] === "number" ? new Date(x.values[r]).toISOString() : String(x.values[r] ?? "")}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <div class="muted">No data</div>
          )}
          {props.data?.errors.length ? <Alert kind="error">{props.data.errors.join("\n")}</Alert> : null}
        </div>
      ) : tab === "json" ? (
        <pre class="code json-view">{JSON.stringify(stripRuntime(props.panel), null, 2)}</pre>
      ) : (
        <pre class="code json-view">{JSON.stringify({ request: props.data?.request, response: props.data?.response }, null, 2)}</pre>
      )}
    </Modal>
  );
}

function stripRuntime(p: Panel): Panel {
  const c: any = { ...p };
  delete c.scopedVars;
  delete c.repeatPanelId;
  return c;
}
