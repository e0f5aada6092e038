// Time picker, refresh picker and template variable pickers.
import { useState } from "preact/hooks";
import { describeRange, formatDate, parseTime, QUICK_RANGES, resolveTz, type RawRange } from "../lib/time";
import { useOutside } from "../lib/ui";
import { Icon } from "../lib/icons";
import { ALL, setCurrent, type VarOption } from "./variables";

const ZONES = ["browser", "utc", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney"];

export function TimePicker(props: { raw: RawRange; timezone?: string; onChange: (r: RawRange) => void; onTimezone?: (tz: string) => void }) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(props.raw.from);
  const [to, setTo] = useState(props.raw.to);
  const [err, setErr] = useState("");
  const ref = useOutside(open, () => setOpen(false));
  const tz = props.timezone || "browser";
  const show = () => {
    const fmt = (s: string, up: boolean) => {
      if (s.startsWith("now")) return s;
      const ms = parseTime(s, up, Date.now(), resolveTz(tz));
      return ms === undefined ? s : formatDate(ms, tz);
    };
    setFrom(fmt(String(props.raw.from), false));
    setTo(fmt(String(props.raw.to), true));
    setErr("");
    setOpen(!open);
  };
  const apply = () => {
    const z = resolveTz(tz);
    const f = parseTime(from, false, Date.now(), z);
    const t = parseTime(to, true, Date.now(), z);
    if (f === undefined || t === undefined) {
      setErr("Use now-6h, now/d, or 2024-01-31 13:00:00");
      return;
    }
    if (f > t) {
      setErr('"From" must be before "To"');
      return;
    }
    const keep = (s: string, ms: number) => (s.startsWith("now") ? s : String(ms));
    props.onChange({ from: keep(from, f), to: keep(to, t) });
    setOpen(false);
  };
  return (
    <div class="picker" ref={ref}>
      <button class="btn btn-secondary time-picker-btn" onClick={show} aria-label="Time range" title={tz !== "browser" ? tz : undefined}>
        <Icon name="clock" /> {describeRange(props.raw, tz)}
        {tz === "utc" ? " UTC" : ""}
      </button>
      {open ? (
        <div class="popover time-popover">
          <div class="time-abs">
            <h4>Absolute time range</h4>
            <label>
              From
              <input class="input" name="from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              To
              <input class="input" name="to" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            </label>
            {err ? <div class="error-text">{err}</div> : null}
            <button class="btn btn-primary" onClick={apply}>
              Apply time range
            </button>
            {props.onTimezone ? (
              <label>
                Time zone
                <select class="input" value={tz} onChange={(e) => props.onTimezone!((e.target as HTMLSelectElement).value)}>
                  {(ZONES.includes(tz) ? ZONES : [tz, ...ZONES]).map((z) => (
                    <option key={z} value={z}>
                      {z === "browser" ? "Browser time" : z === "utc" ? "UTC" : z}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
          </div>
          <div class="time-quick">
            {QUICK_RANGES.map((q) => (
              <button
                key={q.display}
                class={`quick ${q.from === props.raw.from && q.to === props.raw.to ? "active" : ""}`}
                onClick={() => {
                  props.onChange({ from: q.from, to: q.to });
                  setOpen(false);
                }}
              >
                {q.display}
              </button>
            ))}
          </div>
        </div>
      ) : null}
    </div>
  );
}

const DEFAULT_INTERVALS = ["5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "1d"];

export function RefreshPicker(props: { value: string; intervals?: string[]; onRefresh: () => void; onChange: (v: string) => void; loading?: boolean }) {
  const [open, setOpen] = useState(false);
  const ref = useOutside(open, () => setOpen(false));
  const list = props.intervals && props.intervals.length ? props.intervals : DEFAULT_INTERVALS;
  return (
    <div class="picker refresh-picker" ref={ref}>
      <button class="btn btn-secondary" onClick={props.onRefresh} aria-label="Refresh dashboard" title="Refresh">
        <Icon name="refresh" />
      </button>
      <button class="btn btn-secondary" onClick={() => setOpen(!open)} aria-label="Auto refresh interval">
        {props.value || "Off"} ▾
      </button>
      {open ? (
        <div class="popover menu-list">
          {["", ...list].map((i) => (
            <button
              key={i}
              class={`menu-item ${i === props.value ? "active" : ""}`}
              onClick={() => {
                props.onChange(i);
                setOpen(false);
              }}
            >
              {i || "Off"}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}

export function VariablePicker(props: { v: any; error?: string; onChange: () => void }) {
  const v = props.v;
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState("");
  const ref = useOutside(open, () => setOpen(false));
  const label = v.label || v.name;
  if (v.hide === 2 || v.type === "constant" || v.type === "adhoc") return null;
  const showLabel = v.hide !== 1;
  if (v.type === "textbox") {
    return (
      <div class="var-picker">
        {showLabel ? <label class="var-label">{label}</label> : null}
        <input
          class="input var-input"
          aria-label={`Variable ${v.name}`}
          value={String(v.current?.value ?? "")}
          onKeyDown={(e) => {
            if (e.key === "Enter") (e.target as HTMLInputElement).blur();
          }}
          onBlur={(e) => {
            const val = (e.target as HTMLInputElement).value;
            if (val !== v.current?.value) {
              v.current = { text: val, value: val };
              props.onChange();
            }
          }}
        />
      </div>
    );
  }
  const opts: VarOption[] = v.options || [];
  const values: string[] = Array.isArray(v.current?.value) ? v.current.value.map(String) : v.current?.value !== undefined ? [String(v.current.value)] : [];
  const text = Array.isArray(v.current?.text) ? v.current.text.join(" + ") : String(v.current?.text ?? "");
  const choose = (o: VarOption) => {
    if (!v.multi) {
      setCurrent(v, [o]);
      setOpen(false);
      props.onChange();
      return;
    }
    let sel = new Set(values);
    if (o.value === ALL) sel = new Set([ALL]);
    else {
      sel.delete(ALL);
      if (sel.has(o.value)) sel.delete(o.value);
      else sel.add(o.value);
      if (!sel.size) sel.add(v.includeAll ? ALL : opts[0]?.value);
    }
    setCurrent(
      v,
      opts.filter((x) => sel.has(x.value)),
    );
  };
  const shown = opts.filter((o) => !filter || o.text.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div class="var-picker picker" ref={ref}>
      {showLabel ? <label class="var-label">{label}</label> : null}
      <button
        class={`btn btn-secondary var-btn ${props.error ? "has-error" : ""}`}
        aria-label={`Variable ${v.name}`}
        title={props.error || undefined}
        onClick={() => {
          if (open && v.multi) props.onChange();
          setOpen(!open);
        }}
      >
        {text || "(none)"} ▾
      </button>
      {open ? (
        <div class="popover menu-list var-menu">
          <input class="input" placeholder="Filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} autoFocus />
          <div class="var-options">
            {shown.slice(0, 500).map((o) => (
              <button key={o.value} class={`menu-item ${values.includes(o.value) ? "active" : ""}`} onClick={() => choose(o)}>
                {v.multi ? <input type="checkbox" checked={values.includes(o.value)} tabIndex={-1} /> : null} {o.text}
              </button>
            ))}
            {!shown.length ? <div class="muted pad">No options{props.error ? `: ${props.error}` : ""}</div> : null}
          </div>
          {v.multi ? (
            <button
              class="btn btn-primary"
              onClick={() => {
                setOpen(false);
                props.onChange();
              }}
            >
              Apply
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
