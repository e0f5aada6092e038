// Query editors: TestData, Prometheus (metric and label completion), SQL; JSON for the rest.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../lib/api";
import { isSql, isTestData, type DataSource } from "./datasources";

export const TESTDATA_SCENARIOS: [string, string][] = [
  ["random_walk", "Random Walk"],
  ["predictable_pulse", "Predictable Pulse"],
  ["predictable_csv_wave", "Predictable CSV Wave"],
  ["csv_metric_values", "CSV Metric Values"],
  ["csv_content", "CSV Content"],
  ["random_walk_table", "Random Walk Table"],
  ["no_data_points", "No Data Points"],
];

interface EditorProps {
  query: any;
  ds: DataSource;
  onChange: (q: any) => void;
  range: { from: number; to: number };
}

function num(v: string): number | undefined {
  if (v.trim() === "") return undefined;
  const n = Number(v);
  return isNaN(n) ? undefined : n;
}

function TestDataEditor({ query, onChange }: EditorProps) {
  const scenario = query.scenarioId || "random_walk";
  const set = (k: string, v: any) => onChange({ ...query, [k]: v });
  const numberInput = (k: string, label: string, placeholder = "") => (
    <label class="inline-field">
      <span>{label}</span>
      <input class="input" name={k} value={query[k] ?? ""} placeholder={placeholder} onChange={(e) => set(k, num((e.target as HTMLInputElement).value))} />
    </label>
  );
  return (
    <div class="query-editor testdata-editor">
      <label class="inline-field">
        <span>Scenario</span>
        <select class="input" name="scenarioId" value={scenario} onChange={(e) => set("scenarioId", (e.target as HTMLSelectElement).value)}>
          {TESTDATA_SCENARIOS.map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label class="inline-field">
        <span>Alias</span>
        <input class="input" name="alias" value={query.alias || ""} onChange={(e) => set("alias", (e.target as HTMLInputElement).value || undefined)} />
      </label>
      <label class="inline-field">
        <span>Labels</span>
        <input class="input" name="labels" placeholder='key=value, key2=value' value={query.labels || ""} onChange={(e) => set("labels", (e.target as HTMLInputElement).value || undefined)} />
      </label>
      {scenario === "random_walk" || scenario === "random_walk_table" ? (
        <>
          {numberInput("seriesCount", "Series count", "1")}
          {numberInput("startValue", "Start value")}
          {numberInput("min", "Min")}
          {numberInput("max", "Max")}
          {numberInput("spread", "Spread", "1")}
          {numberInput("noise", "Noise", "0")}
        </>
      ) : null}
      {scenario === "csv_metric_values" ? (
        <label class="inline-field wide">
          <span>String input</span>
          <input class="input" name="stringInput" value={query.stringInput || ""} placeholder="1,20,90,30,5,0" onChange={(e) => set("stringInput", (e.target as HTMLInputElement).value)} />
        </label>
      ) : null}
      {scenario === "csv_content" ? (
        <label class="inline-field wide">
          <span>CSV</span>
          <textarea class="input code" rows={5} name="csvContent" value={query.csvContent || ""} onChange={(e) => set("csvContent", (e.target as HTMLTextAreaElement).value)} />
        </label>
      ) : null}
      {scenario === "predictable_pulse" ? (
        <>
          {(["timeStep", "onCount", "offCount", "onValue", "offValue"] as const).map((k) => (
            <label class="inline-field" key={k}>
              <span>{k}</span>
              <input class="input" value={query.pulseWave?.[k] ?? ""} onChange={(e) => set("pulseWave", { ...(query.pulseWave || {}), [k]: num((e.target as HTMLInputElement).value) })} />
            </label>
          ))}
        </>
      ) : null}
      {scenario === "predictable_csv_wave" ? (
        <>
          <label class="inline-field">
            <span>Step (s)</span>
            <input class="input" value={query.csvWave?.[0]?.timeStep ?? ""} onChange={(e) => set("csvWave", [{ ...(query.csvWave?.[0] || {}), timeStep: num((e.target as HTMLInputElement).value) }])} />
          </label>
          <label class="inline-field wide">
            <span>Values</span>
            <input class="input" value={query.csvWave?.[0]?.valuesCSV ?? ""} onChange={(e) => set("csvWave", [{ ...(query.csvWave?.[0] || {}), valuesCSV: (e.target as HTMLInputElement).value }])} />
          </label>
        </>
      ) : null}
    </div>
  );
}

function proxyBase(ds: DataSource): string {
  return `/api/datasources/proxy/uid/${encodeURIComponent(ds.uid)}/api/v1/`;
}

function PrometheusEditor({ query, ds, onChange, range }: EditorProps) {
  const [metrics, setMetrics] = useState<string[]>([]);
  const [suggest, setSuggest] = useState<string[]>([]);
  const [active, setActive] = useState(0);
  const [hint, setHint] = useState("");
  const ta = useRef<HTMLTextAreaElement>(null);
  const labelCache = useRef(new Map<string, string[]>());
  useEffect(() => {
    let gone = false;
    api
      .get(`${proxyBase(ds)}label/__name__/values?start=${Math.floor(range.from / 1000)}&end=${Math.ceil(range.to / 1000)}`)
      .then((r) => !gone && setMetrics(r.data || []))
      .catch((e) => !gone && setHint(`Metric list unavailable: ${e.message}`));
    return () => {
      gone = true;
    };
  }, [ds.uid]);
  const set = (k: string, v: any) => onChange({ ...query, [k]: v });
  const expr = String(query.expr ?? "");

  const complete = async (text: string, pos: number) => {
    const before = text.slice(0, pos);
    const inBraces = /([a-zA-Z_:][\w:]*)?\{([^}]*)$/.exec(before);
    if (inBraces && !/=\s*"[^"]*$/.test(inBraces[2])) {
      const metric = inBraces[1] || "";
      const partial = /([a-zA-Z_]\w*)?$/.exec(inBraces[2])?.[1] || "";
      const key = metric || "*";
      let labels = labelCache.current.get(key);
      if (!labels) {
        try {
          const match = metric ? `&match[]=${encodeURIComponent(metric)}` : "";
          const r = await api.get(`${proxyBase(ds)}labels?start=${Math.floor(range.from / 1000)}&end=${Math.ceil(range.to / 1000)}${match}`);
          labels = (r.data || []).filter((l: string) => l !== "__name__");
        } catch {
          labels = [];
        }
        labelCache.current.set(key, labels!);
      }
      setSuggest(labels!.filter((l) => l.startsWith(partial)).slice(0, 20));
      setActive(0);
      return;
    }
    const valueCtx = /([a-zA-Z_]\w*)\s*=~?\s*"([^"]*)$/.exec(before);
    if (valueCtx) {
      const label = valueCtx[1];
      const key = "v:" + label;
      let vals = labelCache.current.get(key);
      if (!vals) {
        try {
          const r = await api.get(`${proxyBase(ds)}label/${encodeURIComponent(label)}/values?start=${Math.floor(range.from / 1000)}&end=${Math.ceil(range.to / 1000)}`);
          vals = r.data || [];
        } catch {
          vals = [];
        }
        labelCache.current.set(key, vals!);
      }
      setSuggest(vals!.filter((v) => v.startsWith(valueCtx[2])).slice(0, 20));
      setActive(0);
      return;
    }
    const word = /([a-zA-Z_:][\w:]*)$/.exec(before)?.[1] || "";
    if (word.length >= 2) {
      setSuggest(metrics.filter((m) => m.includes(word)).slice(0, 20));
      setActive(0);
    } else setSuggest([]);
  };

  const accept = (s: string) => {
    const el = ta.current;
    if (!el) return;
    const pos = el.selectionStart;
    const before = expr.slice(0, pos);
    const after = expr.slice(pos);
    let start = pos;
    const valueCtx = /"([^"]*)$/.exec(before);
    if (valueCtx && /=~?\s*"[^"]*$/.test(before)) start = pos - valueCtx[1].length;
    else {
      const m = /([a-zA-Z_:][\w:]*)$/.exec(before);
      if (m) start = pos - m[1].length;
    }
    const next = expr.slice(0, start) + s + after;
    set("expr", next);
    setSuggest([]);
    requestAnimationFrame(() => {
      el.focus();
      el.selectionStart = el.selectionEnd = start + s.length;
    });
  };

  return (
    <div class="query-editor prom-editor">
      <div class="prom-expr">
        <textarea
          ref={ta}
          class="input code"
          name="expr"
          rows={3}
          placeholder="Enter a PromQL query (e.g. rate(http_requests_total[5m]))"
          value={expr}
          onInput={(e) => {
            const el = e.target as HTMLTextAreaElement;
            onChange({ ...query, expr: el.value });
            complete(el.value, el.selectionStart);
          }}
          onKeyDown={(e) => {
            if (suggest.length) {
              if (e.key === "ArrowDown") {
                setActive((a) => Math.min(suggest.length - 1, a + 1));
                e.preventDefault();
              } else if (e.key === "ArrowUp") {
                setActive((a) => Math.max(0, a - 1));
                e.preventDefault();
              } else if (e.key === "Tab" || e.key === "Enter") {
                accept(suggest[active]);
                e.preventDefault();
              } else if (e.key === "Escape") setSuggest([]);
            }
          }}
          onBlur={() => setTimeout(() => setSuggest([]), 150)}
        />
        {suggest.length ? (
          <div class="suggest" role="listbox">
            {suggest.map((s, i) => (
              <div key={s} role="option" class={`suggest-item ${i === active ? "active" : ""}`} onMouseDown={(e) => { e.preventDefault(); accept(s); }}>
                {s}
              </div>
            ))}
          </div>
        ) : null}
      </div>
      {hint ? <div class="muted small">{hint}</div> : null}
      <div class="row-fields">
        <label class="inline-field">
          <span>Legend</span>
          <input class="input" name="legendFormat" placeholder="{{instance}}" value={query.legendFormat || ""} onChange={(e) => set("legendFormat", (e.target as HTMLInputElement).value || undefined)} />
        </label>
        <label class="inline-field">
          <span>Min step</span>
          <input class="input" name="interval" placeholder="auto" value={query.interval || ""} onChange={(e) => set("interval", (e.target as HTMLInputElement).value || undefined)} />
        </label>
        <label class="inline-field">
          <span>Format</span>
          <select class="input" value={query.format || "time_series"} onChange={(e) => set("format", (e.target as HTMLSelectElement).value)}>
            <option value="time_series">Time series</option>
            <option value="table">Table</option>
            <option value="heatmap">Heatmap</option>
          </select>
        </label>
        <label class="inline-field">
          <span>Type</span>
          <select
            class="input"
            value={query.instant && !query.range ? "instant" : query.instant && query.range ? "both" : "range"}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              onChange({ ...query, range: v !== "instant", instant: v !== "range" });
            }}
          >
            <option value="range">Range</option>
            <option value="instant">Instant</option>
            <option value="both">Both</option>
          </select>
        </label>
      </div>
    </div>
  );
}

function SqlEditor({ query, onChange }: EditorProps) {
  const set = (k: string, v: any) => onChange({ ...query, [k]: v });
  return (
    <div class="query-editor sql-editor">
      <textarea
        class="input code"
        name="rawSql"
        rows={6}
        placeholder="SELECT $__timeGroupAlias(time_col, $__interval), avg(value) AS value FROM t WHERE $__timeFilter(time_col) GROUP BY 1 ORDER BY 1"
        value={query.rawSql || ""}
        onInput={(e) => onChange({ ...query, rawSql: (e.target as HTMLTextAreaElement).value, rawQuery: true, editorMode: "code" })}
      />
      <div class="row-fields">
        <label class="inline-field">
          <span>Format</span>
          <select class="input" value={query.format || "time_series"} onChange={(e) => set("format", (e.target as HTMLSelectElement).value)}>
            <option value="time_series">Time series</option>
            <option value="table">Table</option>
          </select>
        </label>
        <span class="muted small">Macros: $__timeFilter(col), $__timeGroup(col, $__interval), $__timeFrom(), $__timeTo(), $__unixEpochFilter(col)</span>
      </div>
    </div>
  );
}

function JsonEditor({ query, onChange }: EditorProps) {
  const [text, setText] = useState(JSON.stringify(query, null, 2));
  const [err, setErr] = useState("");
  return (
    <div class="query-editor">
      <textarea
        class="input code"
        rows={6}
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onBlur={() => {
          try {
            onChange(JSON.parse(text));
            setErr("");
          } catch (e) {
            setErr(String(e));
          }
        }}
      />
      {err ? <div class="error-text">{err}</div> : null}
    </div>
  );
}

export function QueryEditor(props: EditorProps) {
  if (isTestData(props.ds.type)) return <TestDataEditor {...props} />;
  if (props.ds.type === "prometheus") return <PrometheusEditor {...props} />;
  if (isSql(props.ds.type)) return <SqlEditor {...props} />;
  return <JsonEditor {...props} />;
}
