// Panel editor: live preview, data source and queries, options for every supported type.
import { useMemo, useState } from "preact/hooks";
import { deepCopy, type Dashboard, type Panel } from "./model";
import { PanelView, type DashContext } from "./PanelView";
import { PANEL_TYPES } from "./panels/registry";
import { QueryEditor } from "./QueryEditors";
import { isSpecial, resolveDataSource, type DataSource } from "./datasources";
import { interpolate } from "./variables";
import { UNIT_CHOICES } from "../lib/units";
import { REDUCERS } from "./data";
import { graphToTimeseries, singlestatToStat } from "./panels/legacy";

function get(obj: any, path: string): any {
  return path.split(".").reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}
function set(obj: any, path: string, value: any): void {
  const parts = path.split(".");
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    if (typeof o[parts[i]] !== "object" || o[parts[i]] === null) o[parts[i]] = {};
    o = o[parts[i]];
  }
  if (value === undefined) delete o[parts[parts.length - 1]];
  else o[parts[parts.length - 1]] = value;
}

type Opt =
  | { kind: "text"; path: string; label: string; placeholder?: string; multiline?: boolean }
  | { kind: "number"; path: string; label: string; placeholder?: string }
  | { kind: "bool"; path: string; label: string; dflt?: boolean }
  | { kind: "select"; path: string; label: string; choices: [string, string][]; dflt?: string }
  | { kind: "unit"; path: string; label: string }
  | { kind: "calcs"; path: string; label: string; single?: boolean }
  | { kind: "thresholds"; path: string; label: string }
  | { kind: "mappings"; path: string; label: string };

const COMMON_FIELD: Opt[] = [
  { kind: "unit", path: "fieldConfig.defaults.unit", label: "Unit" },
  { kind: "number", path: "fieldConfig.defaults.decimals", label: "Decimals", placeholder: "auto" },
  { kind: "number", path: "fieldConfig.defaults.min", label: "Min", placeholder: "auto" },
  { kind: "number", path: "fieldConfig.defaults.max", label: "Max", placeholder: "auto" },
  { kind: "text", path: "fieldConfig.defaults.displayName", label: "Display name" },
  { kind: "text", path: "fieldConfig.defaults.noValue", label: "No value" },
  {
    kind: "select",
    path: "fieldConfig.defaults.color.mode",
    label: "Color scheme",
    choices: [
      ["palette-classic", "Classic palette"],
      ["thresholds", "From thresholds"],
      ["fixed", "Single color"],
      ["continuous-GrYlRd", "Green-Yellow-Red"],
      ["continuous-BlPu", "Blue-Purple"],
    ],
  },
  { kind: "text", path: "fieldConfig.defaults.color.fixedColor", label: "Fixed color", placeholder: "green or #73BF69" },
  { kind: "thresholds", path: "fieldConfig.defaults.thresholds", label: "Thresholds" },
  { kind: "mappings", path: "fieldConfig.defaults.mappings", label: "Value mappings" },
];

const REDUCE: Opt[] = [
  { kind: "calcs", path: "options.reduceOptions.calcs", label: "Calculation", single: true },
  { kind: "bool", path: "options.reduceOptions.values", label: "Show all values (no reduction)" },
  { kind: "text", path: "options.reduceOptions.fields", label: "Fields (regex, empty = numeric)" },
];

const TYPE_OPTIONS: Record<string, Opt[]> = {
  timeseries: [
    { kind: "bool", path: "options.legend.showLegend", label: "Legend visible", dflt: true },
    { kind: "select", path: "options.legend.displayMode", label: "Legend mode", choices: [["list", "List"], ["table", "Table"], ["hidden", "Hidden"]], dflt: "list" },
    { kind: "select", path: "options.legend.placement", label: "Legend placement", choices: [["bottom", "Bottom"], ["right", "Right"]], dflt: "bottom" },
    { kind: "calcs", path: "options.legend.calcs", label: "Legend values" },
    { kind: "select", path: "options.tooltip.mode", label: "Tooltip mode", choices: [["single", "Single"], ["multi", "All"], ["none", "Hidden"]], dflt: "single" },
    { kind: "select", path: "fieldConfig.defaults.custom.drawStyle", label: "Style", choices: [["line", "Lines"], ["bars", "Bars"], ["points", "Points"]], dflt: "line" },
    { kind: "select", path: "fieldConfig.defaults.custom.lineInterpolation", label: "Line interpolation", choices: [["linear", "Linear"], ["smooth", "Smooth"], ["stepBefore", "Step before"], ["stepAfter", "Step after"]], dflt: "linear" },
    { kind: "number", path: "fieldConfig.defaults.custom.lineWidth", label: "Line width", placeholder: "1" },
    { kind: "number", path: "fieldConfig.defaults.custom.fillOpacity", label: "Fill opacity (0-100)", placeholder: "0" },
    { kind: "select", path: "fieldConfig.defaults.custom.gradientMode", label: "Gradient mode", choices: [["none", "None"], ["opacity", "Opacity"]], dflt: "none" },
    { kind: "select", path: "fieldConfig.defaults.custom.showPoints", label: "Show points", choices: [["auto", "Auto"], ["always", "Always"], ["never", "Never"]], dflt: "auto" },
    { kind: "bool", path: "fieldConfig.defaults.custom.spanNulls", label: "Connect null values" },
    { kind: "select", path: "fieldConfig.defaults.custom.stacking.mode", label: "Stack series", choices: [["none", "Off"], ["normal", "Normal"], ["percent", "100%"]], dflt: "none" },
    { kind: "text", path: "fieldConfig.defaults.custom.axisLabel", label: "Axis label" },
    { kind: "select", path: "fieldConfig.defaults.custom.thresholdsStyle.mode", label: "Show thresholds", choices: [["off", "Off"], ["line", "As lines"], ["area", "As filled regions"], ["line+area", "As lines and filled regions"], ["dashed", "As dashed lines"]], dflt: "off" },
  ],
  stat: [
    ...REDUCE,
    { kind: "select", path: "options.colorMode", label: "Color mode", choices: [["value", "Value"], ["background", "Background gradient"], ["background_solid", "Background solid"], ["none", "None"]], dflt: "value" },
    { kind: "select", path: "options.graphMode", label: "Graph mode", choices: [["area", "Area"], ["none", "None"]], dflt: "area" },
    { kind: "select", path: "options.textMode", label: "Text mode", choices: [["auto", "Auto"], ["value", "Value"], ["value_and_name", "Value and name"], ["name", "Name"], ["none", "None"]], dflt: "auto" },
    { kind: "select", path: "options.orientation", label: "Orientation", choices: [["auto", "Auto"], ["horizontal", "Horizontal"], ["vertical", "Vertical"]], dflt: "auto" },
  ],
  gauge: [
    ...REDUCE,
    { kind: "bool", path: "options.showThresholdMarkers", label: "Show threshold markers", dflt: true },
    { kind: "bool", path: "options.showThresholdLabels", label: "Show threshold labels" },
  ],
  bargauge: [
    ...REDUCE,
    { kind: "select", path: "options.displayMode", label: "Display mode", choices: [["gradient", "Gradient"], ["lcd", "Retro LCD"], ["basic", "Basic"]], dflt: "gradient" },
    { kind: "select", path: "options.orientation", label: "Orientation", choices: [["auto", "Auto"], ["horizontal", "Horizontal"], ["vertical", "Vertical"]], dflt: "auto" },
    { kind: "bool", path: "options.showUnfilled", label: "Show unfilled area", dflt: true },
  ],
  table: [
    { kind: "select", path: "fieldConfig.defaults.custom.align", label: "Column alignment", choices: [["auto", "Auto"], ["left", "Left"], ["center", "Center"], ["right", "Right"]], dflt: "auto" },
    { kind: "select", path: "fieldConfig.defaults.custom.cellOptions.type", label: "Cell type", choices: [["auto", "Auto"], ["color-text", "Colored text"], ["color-background", "Colored background"], ["gauge", "Gauge"]], dflt: "auto" },
  ],
  text: [
    { kind: "select", path: "options.mode", label: "Mode", choices: [["markdown", "Markdown"], ["html", "HTML"], ["code", "Code"]], dflt: "markdown" },
    { kind: "text", path: "options.content", label: "Content", multiline: true },
  ],
  heatmap: [
    { kind: "bool", path: "options.calculate", label: "Calculate buckets from the data" },
    { kind: "select", path: "options.color.mode", label: "Color mode", choices: [["scheme", "Scheme"], ["opacity", "Opacity"]], dflt: "scheme" },
    { kind: "select", path: "options.color.scheme", label: "Scheme", choices: [["Oranges", "Oranges"], ["Spectral", "Spectral"], ["Viridis", "Viridis"], ["Blues", "Blues"], ["RdYlGn", "Red-Yellow-Green"]], dflt: "Oranges" },
    { kind: "bool", path: "options.legend.show", label: "Show legend" },
    { kind: "unit", path: "fieldConfig.defaults.unit", label: "Y axis unit" },
  ],
};

function ThresholdsEditor({ value, onChange }: { value: any; onChange: (v: any) => void }) {
  const th = value && Array.isArray(value.steps) ? value : { mode: "absolute", steps: [{ color: "green", value: null }, { color: "red", value: 80 }] };
  const steps = th.steps.slice();
  const update = (i: number, k: string, v: any) => {
    steps[i] = { ...steps[i], [k]: v };
    onChange({ ...th, steps });
  };
  return (
    <div class="thresholds-editor">
      {steps.map((s: any, i: number) => (
        <div class="threshold-row" key={i}>
          <input class="input color-input" value={s.color} onChange={(e) => update(i, "color", (e.target as HTMLInputElement).value)} aria-label="Threshold color" />
          {s.value === null || s.value === undefined ? (
            <span class="muted">Base</span>
          ) : (
            <input class="input" type="number" value={s.value} onChange={(e) => update(i, "value", Number((e.target as HTMLInputElement).value))} aria-label="Threshold value" />
          )}
          {i > 0 ? (
            <button class="icon-btn" aria-label="Remove threshold" onClick={() => onChange({ ...th, steps: steps.filter((_x: any, k: number) => k !== i) })}>
              ✕
            </button>
          ) : null}
        </div>
      ))}
      <button
        class="btn btn-secondary btn-sm"
        onClick={() => {
          const last = steps[steps.length - 1];
          onChange({ ...th, steps: [...steps, { color: "red", value: (typeof last.value === "number" ? last.value : 0) + 10 }] });
        }}
      >
        + Add threshold
      </button>
      <label class="inline-field">
        <span>Mode</span>
        <select class="input" value={th.mode || "absolute"} onChange={(e) => onChange({ ...th, mode: (e.target as HTMLSelectElement).value })}>
          <option value="absolute">Absolute</option>
          <option value="percentage">Percentage</option>
        </select>
      </label>
    </div>
  );
}

function MappingsEditor({ value, onChange }: { value: any; onChange: (v: any) => void }) {
  const list: any[] = Array.isArray(value) ? value : [];
  const valueMaps = list.filter((m) => m.type === "value");
  const entries: [string, any][] = valueMaps.flatMap((m) => Object.entries(m.options || {}));
  const write = (es: [string, any][]) => {
    const others = list.filter((m) => m.type !== "value");
    onChange(es.length ? [...others, { type: "value", options: Object.fromEntries(es) }] : others);
  };
  return (
    <div class="mappings-editor">
      {entries.map(([k, r], i) => (
        <div class="threshold-row" key={i}>
          <input class="input" value={k} aria-label="Value" onChange={(e) => write(entries.map((x, j) => (j === i ? [(e.target as HTMLInputElement).value, x[1]] : x)))} />
          <span>→</span>
          <input class="input" value={r.text || ""} aria-label="Display text" onChange={(e) => write(entries.map((x, j) => (j === i ? [x[0], { ...x[1], text: (e.target as HTMLInputElement).value }] : x)))} />
          <input class="input color-input" value={r.color || ""} placeholder="color" aria-label="Color" onChange={(e) => write(entries.map((x, j) => (j === i ? [x[0], { ...x[1], color: (e.target as HTMLInputElement).value || undefined }] : x)))} />
          <button class="icon-btn" aria-label="Remove mapping" onClick={() => write(entries.filter((_x, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <button class="btn btn-secondary btn-sm" onClick={() => write([...entries, [String(entries.length), { text: "", index: entries.length }]])}>
        + Add value mapping
      </button>
      {list.some((m) => m.type !== "value") ? <div class="muted small">{list.filter((m) => m.type !== "value").length} other mapping(s) kept as they are</div> : null}
    </div>
  );
}

function OptionInput({ opt, draft, onChange }: { opt: Opt; draft: any; onChange: () => void }) {
  const v = get(draft, opt.path);
  const write = (x: any) => {
    set(draft, opt.path, x);
    onChange();
  };
  switch (opt.kind) {
    case "text":
      return opt.multiline ? (
        <textarea class="input code" rows={8} value={v ?? ""} onInput={(e) => write((e.target as HTMLTextAreaElement).value)} aria-label={opt.label} />
      ) : (
        <input class="input" value={v ?? ""} placeholder={opt.placeholder} onChange={(e) => write((e.target as HTMLInputElement).value || undefined)} aria-label={opt.label} />
      );
    case "number":
      return (
        <input
          class="input"
          value={v ?? ""}
          placeholder={opt.placeholder}
          aria-label={opt.label}
          onChange={(e) => {
            const s = (e.target as HTMLInputElement).value.trim();
            write(s === "" || isNaN(Number(s)) ? undefined : Number(s));
          }}
        />
      );
    case "bool":
      return <input type="checkbox" checked={v ?? opt.dflt ?? false} onChange={(e) => write((e.target as HTMLInputElement).checked)} aria-label={opt.label} />;
    case "select":
      return (
        <select class="input" value={v ?? opt.dflt ?? ""} onChange={(e) => write((e.target as HTMLSelectElement).value)} aria-label={opt.label}>
          {opt.dflt === undefined ? <option value="">(default)</option> : null}
          {opt.choices.map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
      );
    case "unit":
      return (
        <>
          <input class="input" list="unit-list" value={v ?? ""} placeholder="short" onChange={(e) => write((e.target as HTMLInputElement).value || undefined)} aria-label={opt.label} />
          <datalist id="unit-list">
            {UNIT_CHOICES.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </datalist>
        </>
      );
    case "calcs": {
      const cur: string[] = Array.isArray(v) ? v : [];
      if (opt.single)
        return (
          <select class="input" value={cur[0] || "lastNotNull"} onChange={(e) => write([(e.target as HTMLSelectElement).value])} aria-label={opt.label}>
            {Object.entries(REDUCERS).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        );
      return (
        <div class="calcs">
          {["min", "max", "mean", "lastNotNull", "sum"].map((c) => (
            <label key={c} class="check">
              <input type="checkbox" checked={cur.includes(c)} onChange={(e) => write((e.target as HTMLInputElement).checked ? [...cur, c] : cur.filter((x) => x !== c))} /> {REDUCERS[c]}
            </label>
          ))}
        </div>
      );
    }
    case "thresholds":
      return <ThresholdsEditor value={v} onChange={write} />;
    case "mappings":
      return <MappingsEditor value={v} onChange={write} />;
  }
}

/** Turn an old panel into its current type before editing (as Grafana does on edit). */
function modernise(p: Panel): Panel {
  if (p.type === "graph") {
    const { fieldConfig, options } = graphToTimeseries(p);
    const out: Panel = { id: p.id, type: "timeseries", title: p.title, description: p.description, gridPos: p.gridPos, datasource: p.datasource, targets: p.targets, fieldConfig, options, interval: p.interval, timeFrom: p.timeFrom, timeShift: p.timeShift, maxDataPoints: p.maxDataPoints, repeat: p.repeat, links: p.links };
    delete out.fieldConfig!.defaults.custom.nullAsZero;
    return JSON.parse(JSON.stringify(out));
  }
  if (p.type === "singlestat") {
    const c = singlestatToStat(p);
    return JSON.parse(JSON.stringify({ id: p.id, type: c.type, title: p.title, description: p.description, gridPos: p.gridPos, datasource: p.datasource, targets: p.targets, fieldConfig: c.fieldConfig, options: c.options, interval: p.interval, timeFrom: p.timeFrom, maxDataPoints: p.maxDataPoints, links: p.links }));
  }
  return deepCopy(p);
}

export function PanelEditor(props: { panel: Panel; dash: Dashboard; ctx: DashContext; onApply: (p: Panel) => void; onDiscard: () => void }) {
  const [draft] = useState<Panel>(() => {
    const d = modernise(props.panel);
    delete d.scopedVars;
    if (!d.targets || !d.targets.length) d.targets = [{ refId: "A" }];
    if (!d.fieldConfig) d.fieldConfig = { defaults: {}, overrides: [] };
    if (!d.options) d.options = {};
    return d;
  });
  const [version, setVersion] = useState(0);
  const [tab, setTab] = useState<"queries" | "json">("queries");
  const [jsonText, setJsonText] = useState("");
  const [jsonErr, setJsonErr] = useState("");
  const changed = () => setVersion((v) => v + 1);
  const dsList = props.ctx.datasources;
  const special = isSpecial(draft.datasource);
  const panelDs: DataSource | null = special ? null : resolveDataSource(typeof draft.datasource === "string" ? interpolate(draft.datasource, props.ctx.vars) : draft.datasource && draft.datasource.uid ? { ...draft.datasource, uid: interpolate(String(draft.datasource.uid), props.ctx.vars) } : draft.datasource, dsList);
  const preview = useMemo(() => ({ ...deepCopy(draft), id: draft.id }), [version]);
  const def = PANEL_TYPES[draft.type];
  const typeOpts = TYPE_OPTIONS[draft.type] || [];
  const usesFieldConfig = draft.type !== "text";

  const setDs = (uid: string) => {
    const ds = dsList.find((d) => d.uid === uid);
    if (!ds) return;
    draft.datasource = { type: ds.type, uid: ds.uid };
    draft.targets = (draft.targets || []).map((t: any) => ({ refId: t.refId, datasource: { type: ds.type, uid: ds.uid }, ...(t.hide ? { hide: true } : {}) }));
    changed();
  };

  return (
    <div class="panel-editor">
      <div class="editor-bar">
        <h2>Edit panel</h2>
        <div class="spacer" />
        <button class="btn btn-secondary" onClick={props.onDiscard}>
          Discard
        </button>
        <button
          class="btn btn-primary"
          onClick={() => {
            // an untouched library panel stays as loaded (the editor's defaults are no edit to save to the library)
            if (version === 0 && draft.libraryPanel?.uid) props.onDiscard();
            else props.onApply(deepCopy(draft));
          }}
        >
          Apply
        </button>
      </div>
      {draft.libraryPanel?.uid && !draft.libraryPanelError ? (
        <div class="library-note" data-testid="library-note">
          <span>
            Library panel <b>{draft.libraryPanel.name || draft.libraryPanel.uid}</b>: saving the dashboard updates it in the library, for every dashboard that uses it.
          </span>
          <button
            class="btn btn-secondary btn-sm"
            onClick={() => {
              delete draft.libraryPanel;
              changed();
            }}
          >
            Unlink
          </button>
        </div>
      ) : null}
      <div class="editor-main">
        <div class="editor-left">
          <div class="editor-preview">
            <PanelView key={version} panel={preview} ctx={{ ...props.ctx, eager: true, onEdit: undefined, onRemove: undefined, onDuplicate: undefined, onView: undefined, onUnlink: undefined }} fill />
          </div>
          <div class="editor-queries">
            <div class="tabs">
              <button class={`tab ${tab === "queries" ? "active" : ""}`} onClick={() => setTab("queries")}>
                Queries
              </button>
              <button
                class={`tab ${tab === "json" ? "active" : ""}`}
                onClick={() => {
                  setJsonText(JSON.stringify(draft, null, 2));
                  setTab("json");
                }}
              >
                Panel JSON
              </button>
            </div>
            {tab === "queries" ? (
              <>
                <div class="ds-picker">
                  <label class="inline-field">
                    <span>Data source</span>
                    <select class="input" name="datasource" value={panelDs?.uid || ""} onChange={(e) => setDs((e.target as HTMLSelectElement).value)}>
                      {!panelDs ? <option value="">{special ? String(typeof draft.datasource === "string" ? draft.datasource : draft.datasource?.uid) : "(choose)"}</option> : null}
                      {dsList.map((d) => (
                        <option key={d.uid} value={d.uid}>
                          {d.name} ({d.typeName || d.type})
                        </option>
                      ))}
                    </select>
                  </label>
                  <label class="inline-field">
                    <span>Min interval</span>
                    <input class="input" value={draft.interval || ""} placeholder="auto" onChange={(e) => { draft.interval = (e.target as HTMLInputElement).value || undefined; changed(); }} />
                  </label>
                  <label class="inline-field">
                    <span>Relative time</span>
                    <input class="input" value={draft.timeFrom || ""} placeholder="1h" onChange={(e) => { draft.timeFrom = (e.target as HTMLInputElement).value || null; changed(); }} />
                  </label>
                </div>
                {(draft.targets || []).map((t: any, i: number) => {
                  const tds = special === "mixed" ? resolveDataSource(t.datasource, dsList) : panelDs;
                  return (
                    <div class="query-row" key={`${t.refId}-${i}`}>
                      <div class="query-head">
                        <b>{t.refId}</b>
                        <span class="muted">{tds ? tds.name : "no data source"}</span>
                        <div class="spacer" />
                        <button class="icon-btn" title={t.hide ? "Enable query" : "Disable query"} onClick={() => { t.hide = !t.hide; changed(); }}>
                          {t.hide ? "◌" : "●"}
                        </button>
                        <button class="icon-btn" aria-label={`Remove query ${t.refId}`} onClick={() => { draft.targets = draft.targets!.filter((_x: any, k: number) => k !== i); changed(); }}>
                          ✕
                        </button>
                      </div>
                      {tds ? (
                        <QueryEditor
                          ds={tds}
                          query={t}
                          range={props.ctx.range}
                          onChange={(q) => {
                            draft.targets![i] = { ...q, refId: t.refId, datasource: q.datasource || { type: tds.type, uid: tds.uid } };
                            changed();
                          }}
                        />
                      ) : (
                        <div class="muted">Choose a data source to edit this query.</div>
                      )}
                    </div>
                  );
                })}
                <button
                  class="btn btn-secondary"
                  onClick={() => {
                    const used = new Set((draft.targets || []).map((t: any) => t.refId));
                    const letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").find((l) => !used.has(l)) || `Q${used.size}`;
                    draft.targets = [...(draft.targets || []), { refId: letter, datasource: panelDs ? { type: panelDs.type, uid: panelDs.uid } : undefined }];
                    changed();
                  }}
                >
                  + Add query
                </button>
              </>
            ) : (
              <div>
                <textarea class="input code" rows={20} value={jsonText} onInput={(e) => setJsonText((e.target as HTMLTextAreaElement).value)} />
                {jsonErr ? <div class="error-text">{jsonErr}</div> : null}
                <button
                  class="btn btn-secondary"
                  onClick={() => {
                    try {
                      const parsed = JSON.parse(jsonText);
                      Object.keys(draft).forEach((k) => delete (draft as any)[k]);
                      Object.assign(draft, parsed, { id: props.panel.id });
                      setJsonErr("");
                      changed();
                    } catch (e) {
                      setJsonErr(String(e));
                    }
                  }}
                >
                  Apply JSON
                </button>
              </div>
            )}
          </div>
        </div>
        <div class="editor-options">
          <div class="opt-group">
            <h3>Panel</h3>
            <label class="field">
              <span class="field-label">Visualization</span>
              <select class="input" name="panel-type" value={draft.type} onChange={(e) => { draft.type = (e.target as HTMLSelectElement).value; changed(); }}>
                {!def?.pickable ? <option value={draft.type}>{def?.name || draft.type}</option> : null}
                {Object.entries(PANEL_TYPES)
                  .filter(([, d]) => d.pickable)
                  .map(([id, d]) => (
                    <option key={id} value={id}>
                      {d.name}
                    </option>
                  ))}
              </select>
            </label>
            <label class="field">
              <span class="field-label">Title</span>
              <input class="input" name="panel-title" value={draft.title || ""} onInput={(e) => { draft.title = (e.target as HTMLInputElement).value; changed(); }} />
            </label>
            <label class="field">
              <span class="field-label">Description</span>
              <textarea class="input" rows={2} value={draft.description || ""} onInput={(e) => { draft.description = (e.target as HTMLTextAreaElement).value || undefined; changed(); }} />
            </label>
            <label class="field check">
              <input type="checkbox" checked={!!draft.transparent} onChange={(e) => { draft.transparent = (e.target as HTMLInputElement).checked || undefined; changed(); }} /> Transparent background
            </label>
            <div class="field-row">
              <label class="field">
                <span class="field-label">Width (1-24)</span>
                <input class="input" type="number" min={1} max={24} value={draft.gridPos.w} onChange={(e) => { draft.gridPos.w = Math.max(1, Math.min(24, Number((e.target as HTMLInputElement).value) || 12)); changed(); }} />
              </label>
              <label class="field">
                <span class="field-label">Height</span>
                <input class="input" type="number" min={1} max={100} value={draft.gridPos.h} onChange={(e) => { draft.gridPos.h = Math.max(1, Math.min(100, Number((e.target as HTMLInputElement).value) || 8)); changed(); }} />
              </label>
            </div>
          </div>
          {typeOpts.length ? (
            <div class="opt-group">
              <h3>{def?.name || draft.type}</h3>
              {typeOpts.map((o) => (
                <label class="field" key={o.path + o.label}>
                  <span class="field-label">{o.label}</span>
                  <OptionInput opt={o} draft={draft} onChange={changed} />
                </label>
              ))}
            </div>
          ) : null}
          {usesFieldConfig ? (
            <div class="opt-group">
              <h3>Standard options</h3>
              {COMMON_FIELD.map((o) => (
                <div class="field" key={o.path}>
                  <span class="field-label">{o.label}</span>
                  <OptionInput opt={o} draft={draft} onChange={changed} />
                </div>
              ))}
              {(draft.fieldConfig?.overrides || []).length ? <div class="muted small">{draft.fieldConfig!.overrides!.length} field override(s) kept; edit them in Panel JSON.</div> : null}
            </div>
          ) : null}
        </div>
      </div>
    </div>
  );
}
