// Which panels show, where: repeated panels and rows expanded, grid compacted.
import { compact, deepCopy, type Dashboard, type Panel } from "./model";
import { ALL, currentValues } from "./variables";

function repeatValues(vars: any[], name: string): { text: string; value: string }[] {
  const v = vars.find((x) => x.name === name);
  if (!v) return [];
  const vals = currentValues(v);
  const opts: any[] = v.options || [];
  return vals.map((val) => ({ value: val, text: String(opts.find((o) => o.value === val)?.text ?? val) })).filter((x) => x.value !== ALL);
}

function repeatPanel(p: Panel, vars: any[], out: Panel[]): void {
  const vals = repeatValues(vars, p.repeat!);
  if (vals.length <= 1) {
    out.push(vals.length ? { ...p, scopedVars: { ...(p.scopedVars || {}), [p.repeat!]: vals[0] } } : p);
    return;
  }
  const dir = p.repeatDirection === "v" ? "v" : "h";
  const maxPerRow = p.maxPerRow || 4;
  const g = p.gridPos;
  vals.forEach((val, i) => {
    const clone: Panel = i === 0 ? { ...p } : { ...deepCopy(p), id: p.id * 1000 + i, repeatPanelId: p.id };
    clone.scopedVars = { ...(p.scopedVars || {}), [p.repeat!]: val };
    if (dir === "h") {
      const perRow = Math.min(maxPerRow, vals.length);
      const w = Math.max(1, Math.floor(24 / perRow));
      clone.gridPos = { x: (i % perRow) * w, y: g.y + Math.floor(i / perRow) * g.h, w, h: g.h };
    } else {
      clone.gridPos = { x: g.x, y: g.y + i * g.h, w: g.w, h: g.h };
    }
    out.push(clone);
  });
}

/** The flat list to draw: rows, the panels of expanded rows, repeats expanded. */
export function layoutPanels(dash: Dashboard, vars: any[]): Panel[] {
  const out: Panel[] = [];
  const panels = dash.panels.slice().sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  for (let i = 0; i < panels.length; i++) {
    const p = panels[i];
    if (p.type === "row" && p.repeat) {
      const vals = repeatValues(vars, p.repeat);
      // the row's panels: nested when collapsed, else the following ones up to the next row
      const members: Panel[] = p.collapsed ? p.panels || [] : [];
      if (!p.collapsed) {
        let k = i + 1;
        while (k < panels.length && panels[k].type !== "row") members.push(panels[k++]);
        i = k - 1;
      }
      const height = members.length ? Math.max(...members.map((m) => m.gridPos.y + m.gridPos.h)) - Math.min(...members.map((m) => m.gridPos.y)) : 0;
      (vals.length ? vals : [null]).forEach((val, r) => {
        const scoped = val ? { [p.repeat!]: val } : undefined;
        const offset = r * (height + 1);
        const row: Panel = r === 0 ? { ...p, scopedVars: scoped } : { ...deepCopy(p), id: p.id * 1000 + r, repeatPanelId: p.id, scopedVars: scoped, panels: p.panels };
        row.gridPos = { ...p.gridPos, y: p.gridPos.y + offset };
        out.push(row);
        if (!p.collapsed)
          for (const m of members) {
            const c: Panel = r === 0 ? { ...m } : { ...deepCopy(m), id: m.id * 1000 + r, repeatPanelId: m.id };
            c.scopedVars = { ...(m.scopedVars || {}), ...(scoped || {}) };
            c.gridPos = { ...m.gridPos, y: m.gridPos.y + offset };
            if (c.repeat) repeatPanel(c, vars, out);
            else out.push(c);
          }
      });
      continue;
    }
    if (p.type !== "row" && p.repeat) repeatPanel(p, vars, out);
    else out.push(p);
  }
  compact(out);
  return out;
}
