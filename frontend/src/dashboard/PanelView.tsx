// One panel: header with menu, lazy query when visible, the visualisation, errors, placeholders.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { PANEL_TYPES } from "./panels/registry";
import { panelRange, runPanelQueries, type PanelData, type PanelResults } from "./query";
import { interpolate } from "./variables";
import type { Panel } from "./model";
import type { DataSource } from "./datasources";
import type { TimeRange } from "../lib/time";
import { framesToCsv, prepareFrames } from "./data";
import { Icon } from "../lib/icons";
import { annotationsFor, linkUrl, type Annotation } from "./features";

export interface DashContext {
  uid: string;
  range: TimeRange;
  vars: any[];
  datasources: DataSource[];
  timezone?: string;
  refreshKey: number;
  graphTooltip: number;
  theme: string;
  panelResults: PanelResults;
  onZoom: (from: number, to: number) => void;
  onView?: (p: Panel) => void;
  onEdit?: (p: Panel) => void;
  onInspect?: (p: Panel, data: PanelData | null, tab: "data" | "json") => void;
  onRemove?: (p: Panel) => void;
  onDuplicate?: (p: Panel) => void;
  /** Turn a library panel into a normal panel of the dashboard (its model inlined). */
  onUnlink?: (p: Panel) => void;
  canEdit: boolean;
  /** Query even when scrolled out of view (view mode, editor, tests of whole dashboards). */
  eager?: boolean;
  /** The dashboard's annotations (drawn on time series). */
  annotations?: Annotation[];
  /** The raw time range (for links that keep the time). */
  raw?: { from: string; to: string };
  /** Panels can be dragged by their header and resized from their corner. */
  onDragStart?: (p: Panel, ev: PointerEvent, mode: "move" | "resize") => void;
}

function useSize(ref: { current: HTMLElement | null }): { w: number; h: number } {
  const [size, setSize] = useState({ w: 0, h: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver((entries) => {
      const r = entries[0].contentRect;
      setSize((s) => (Math.abs(s.w - r.width) < 1 && Math.abs(s.h - r.height) < 1 ? s : { w: Math.floor(r.width), h: Math.floor(r.height) }));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return size;
}

function useVisible(ref: { current: HTMLElement | null }, eager: boolean): boolean {
  const [visible, setVisible] = useState(eager);
  useEffect(() => {
    if (eager) {
      setVisible(true);
      return;
    }
    const el = ref.current;
    if (!el) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          setVisible(true);
          io.disconnect();
        }
      },
      { rootMargin: "300px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [eager]);
  return visible;
}

function download(name: string, text: string, type: string): void {
  const blob = new Blob([text], { type });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.dataset.native = "";
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(a.href);
    a.remove();
  }, 0);
}

export function PanelView({ panel, ctx, fill }: { panel: Panel; ctx: DashContext; fill?: boolean }) {
  const outer = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const size = useSize(body);
  const visible = useVisible(outer, !!ctx.eager || !!fill);
  const [data, setData] = useState<PanelData | null>(null);
  const [loading, setLoading] = useState(false);
  const [menu, setMenu] = useState(false);
  const def = PANEL_TYPES[panel.type];
  const needsData = def ? def.needsData : false;
  const varsKey = JSON.stringify(ctx.vars.map((v) => (v?.type === "adhoc" ? v.filters : v?.current?.value)));
  const targetsKey = JSON.stringify([panel.targets, panel.datasource, panel.timeFrom, panel.timeShift, panel.interval, panel.maxDataPoints, panel.scopedVars]);

  useEffect(() => {
    if (!visible || !needsData || size.w === 0) return;
    const ac = new AbortController();
    setLoading(true);
    runPanelQueries(panel, {
      range: ctx.range,
      vars: ctx.vars,
      datasources: ctx.datasources,
      width: size.w,
      timezone: ctx.timezone,
      panelResults: ctx.panelResults,
      signal: ac.signal,
    })
      .then((d) => {
        if (ac.signal.aborted) return;
        ctx.panelResults.set(panel.id, d);
        setData(d);
        setLoading(false);
      })
      .catch((e) => {
        if (ac.signal.aborted) return;
        setData({ frames: [], errors: [String(e?.message || e)], range: ctx.range, legendFormats: {} });
        setLoading(false);
      });
    return () => ac.abort();
  }, [visible, needsData, size.w > 0, ctx.range.from, ctx.range.to, ctx.refreshKey, varsKey, targetsKey, ctx.datasources]);

  const panelAnnotations = useMemo(() => annotationsFor(ctx.annotations, panel.id), [ctx.annotations, panel.id]);
  const scoped = panel.scopedVars;
  const title = interpolate(panel.title || "", ctx.vars, { scoped, format: "text" });
  const timeInfo = panelRange(panel, ctx.range, ctx.vars, ctx.timezone).info;
  const errors = data?.errors || [];
  const Comp = def?.component;
  const headerH = title || timeInfo || true ? 28 : 0;
  const innerH = Math.max(0, size.h);
  const panelData: PanelData = data || { frames: [], errors: [], range: ctx.range, legendFormats: {} };

  let content: any = null;
  if (!def) {
    content = (
      <div class="panel-unsupported" data-unsupported={panel.type}>
        <div class="unsupported-icon"><Icon name="panel" size={28} /></div>
        <div>
          Panel type <b>{panel.type || "(none)"}</b> is not supported by Vigil.
        </div>
        <div class="muted">Its configuration is kept unchanged when the dashboard is saved.</div>
      </div>
    );
  } else if (size.w > 0 && innerH > 0 && Comp && (!needsData || data)) {
    content = (
      <Comp
        panel={panel}
        data={panelData}
        width={size.w}
        height={innerH}
        timezone={ctx.timezone}
        vars={ctx.vars}
        syncKey={ctx.graphTooltip ? `dash-${ctx.uid}` : undefined}
        graphTooltip={ctx.graphTooltip}
        onZoom={ctx.onZoom}
        theme={ctx.theme}
        annotations={panelAnnotations}
      />
    );
  }

  const menuItems: [string, () => void][] = [];
  if (ctx.onView) menuItems.push(["View", () => ctx.onView!(panel)]);
  if (ctx.canEdit && ctx.onEdit) menuItems.push(["Edit", () => ctx.onEdit!(panel)]);
  if (ctx.onInspect) {
    menuItems.push(["Inspect data", () => ctx.onInspect!(panel, data, "data")]);
    menuItems.push(["Panel JSON", () => ctx.onInspect!(panel, data, "json")]);
  }
  if (needsData)
    menuItems.push([
      "Download CSV",
      () => {
        const frames = prepareFrames(panelData.frames, panel.fieldConfig, panelData.legendFormats);
        download(`${(title || "panel").replace(/[^\w.-]+/g, "_")}.csv`, framesToCsv(frames), "text/csv");
      },
    ]);
  if (ctx.canEdit && ctx.onDuplicate) menuItems.push(["Duplicate", () => ctx.onDuplicate!(panel)]);
  if (ctx.canEdit && ctx.onUnlink && panel.libraryPanel?.uid && !panel.libraryPanelError) menuItems.push(["Unlink library panel", () => ctx.onUnlink!(panel)]);
  if (ctx.canEdit && ctx.onRemove) menuItems.push(["Remove", () => ctx.onRemove!(panel)]);

  const transparent = !!panel.transparent;
  const links: any[] = Array.isArray(panel.links) ? panel.links.filter((l: any) => l && l.url) : [];
  const [linksOpen, setLinksOpen] = useState(false);
  const linkCtx = { vars: ctx.vars, range: ctx.range, raw: ctx.raw || { from: String(ctx.range.from), to: String(ctx.range.to) }, scoped };
  const drag = ctx.onDragStart;
  return (
    <div ref={outer} class={`panel ${transparent ? "transparent" : ""}`} data-panel-id={panel.id} data-panel-type={panel.type} data-loaded={String(!needsData || !!data)} data-errors={errors.length}>
      <div
        class={`panel-header ${drag ? "draggable" : ""}`}
        style={{ height: headerH }}
        onPointerDown={
          drag
            ? (e) => {
                if ((e.target as HTMLElement).closest("button, a, .menu")) return;
                drag(panel, e as unknown as PointerEvent, "move");
              }
            : undefined
        }
      >
        <span class="panel-title" title={panel.description || title}>
          {title}
        </span>
        {timeInfo ? <span class="panel-timeinfo">{timeInfo}</span> : null}
        {panel.libraryPanelError ? <span class="panel-error-text-inline">{panel.libraryPanelError}</span> : null}
        {links.length ? (
          <span class="panel-menu-wrap panel-links">
            <button class="panel-links-btn" aria-label={`Links of panel ${title || panel.id}`} title="Panel links" onClick={(e) => { e.stopPropagation(); setLinksOpen(!linksOpen); }}>
              <Icon name="link" size={13} />
            </button>
            {linksOpen ? (
              <div class="menu panel-links-menu" onMouseLeave={() => setLinksOpen(false)}>
                {links.map((l, i) => {
                  const href = linkUrl(l, linkCtx);
                  return (
                    <a key={i} class="menu-item panel-link" href={href || undefined} target={l.targetBlank ? "_blank" : undefined} rel="noopener noreferrer">
                      {interpolate(String(l.title || href), ctx.vars, { scoped, format: "text" })}
                    </a>
                  );
                })}
              </div>
            ) : null}
          </span>
        ) : null}
        {loading ? <span class="panel-loading" aria-label="loading" /> : null}
        {errors.length ? (
          <span class="panel-error-badge" title={errors.join("\n")} role="img" aria-label="error">
            !
          </span>
        ) : null}
        <span class="panel-menu-wrap">
          <button
            class="panel-menu-btn"
            aria-label={`Menu for panel ${title || panel.id}`}
            onClick={(e) => {
              e.stopPropagation();
              setMenu(!menu);
            }}
          >
            ⋮
          </button>
          {menu ? (
            <div class="menu" onMouseLeave={() => setMenu(false)}>
              {menuItems.map(([label, fn]) => (
                <button
                  key={label}
                  class="menu-item"
                  onClick={() => {
                    setMenu(false);
                    fn();
                  }}
                >
                  {label}
                </button>
              ))}
            </div>
          ) : null}
        </span>
      </div>
      <div ref={body} class="panel-body">
        {content}
        {errors.length && data && !data.frames.length ? <div class="panel-error-text">{errors[0]}</div> : null}
      </div>
      {drag ? (
        <div
          class="panel-resize"
          aria-label={`Resize panel ${title || panel.id}`}
          onPointerDown={(e) => {
            e.stopPropagation();
            drag(panel, e as unknown as PointerEvent, "resize");
          }}
        />
      ) : null}
    </div>
  );
}
