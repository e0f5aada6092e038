// The common data transformations (merge, organize, filter by name, reduce, labels to fields).
import { reduce, REDUCERS, type DataFrame, type Field } from "./data";

function merge(frames: DataFrame[]): DataFrame[] {
  if (frames.length < 2) return frames;
  // join rows on the fields every frame has in common (not the number columns)
  const keyNames = frames[0].fields.filter((f) => f.type !== "number" && frames.every((fr) => fr.fields.some((x) => x.name === f.name))).map((f) => f.name);
  const rows = new Map<string, Record<string, any>>();
  const order: string[] = [];
  const fieldsOut: Field[] = [];
  const seen = new Set<string>();
  for (const fr of frames) {
    for (const f of fr.fields) {
      const name = seen.has(f.name) && !keyNames.includes(f.name) ? `${f.name} ${fr.refId || ""}`.trim() : f.name;
      if (!seen.has(name)) {
        seen.add(name);
        fieldsOut.push({ ...f, name, values: [] });
      }
    }
  }
  for (const fr of frames) {
    for (let i = 0; i < fr.length; i++) {
      const key = keyNames.map((k) => String(fr.fields.find((f) => f.name === k)?.values[i])).join("\u0000");
      let row = rows.get(key);
      if (!row) {
        row = {};
        rows.set(key, row);
        order.push(key);
      }
      for (const f of fr.fields) {
        let name = f.name;
        if (!keyNames.includes(name) && row[name] !== undefined) name = `${f.name} ${fr.refId || ""}`.trim();
        row[name] = f.values[i];
      }
    }
  }
  for (const f of fieldsOut) f.values = order.map((k) => rows.get(k)![f.name] ?? null);
  return [{ refId: frames[0].refId, name: frames[0].name, fields: fieldsOut, length: order.length }];
}

function organize(frames: DataFrame[], o: any): DataFrame[] {
  const exclude = o?.excludeByName || {};
  const rename = o?.renameByName || {};
  const index = o?.indexByName || {};
  return frames.map((fr) => {
    let fields = fr.fields.filter((f) => !exclude[f.name]);
    if (Object.keys(index).length) fields = fields.slice().sort((a, b) => (index[a.name] ?? 1e9) - (index[b.name] ?? 1e9));
    fields = fields.map((f) => (rename[f.name] ? { ...f, displayName: rename[f.name], config: { ...f.config, displayName: rename[f.name] } } : f));
    return { ...fr, fields };
  });
}

function filterByName(frames: DataFrame[], o: any): DataFrame[] {
  const names: string[] | undefined = o?.include?.names;
  const pattern: string | undefined = o?.include?.pattern;
  const exNames: string[] | undefined = o?.exclude?.names;
  let re: RegExp | null = null;
  try {
    re = pattern ? new RegExp(pattern) : null;
  } catch {
    re = null;
  }
  return frames.map((fr) => ({
    ...fr,
    fields: fr.fields.filter((f) => {
      const n = f.displayName || f.name;
      if (exNames && (exNames.includes(n) || exNames.includes(f.name))) return false;
      if (names && names.length) return names.includes(n) || names.includes(f.name) || f.type === "time";
      if (re) return re.test(n);
      return true;
    }),
  }));
}

function reduceRows(frames: DataFrame[], o: any): DataFrame[] {
  const calcs: string[] = o?.reducers?.length ? o.reducers : ["max"];
  const names: string[] = [];
  const out: any[][] = calcs.map(() => []);
  for (const fr of frames) {
    for (const f of fr.fields.filter((x) => x.type === "number")) {
      names.push(f.displayName || f.name);
      calcs.forEach((c, i) => out[i].push(reduce(f.values, c)));
    }
  }
  return [
    {
      fields: [{ name: "Field", type: "string", values: names, config: {} }, ...calcs.map((c, i) => ({ name: REDUCERS[c] || c, type: "number" as const, values: out[i], config: { ...(frames[0]?.fields.find((f) => f.type === "number")?.config || {}) } }))],
      length: names.length,
    },
  ];
}

function labelsToFields(frames: DataFrame[]): DataFrame[] {
  return frames.map((fr) => {
    const fields: Field[] = [];
    for (const f of fr.fields) {
      if (f.labels && f.type === "number") {
        for (const [k, v] of Object.entries(f.labels)) {
          if (!fields.some((x) => x.name === k)) fields.push({ name: k, type: "string", values: new Array(fr.length).fill(v), config: {} });
        }
        fields.push({ ...f, labels: undefined, displayName: f.name });
      } else fields.push(f);
    }
    return { ...fr, fields };
  });
}

export function applyTransformations(frames: DataFrame[], transformations: any[]): DataFrame[] {
  let out = frames;
  for (const t of transformations || []) {
    if (!t || t.disabled) continue;
    switch (t.id) {
      case "merge":
      case "seriesToColumns":
      case "joinByField":
        out = merge(out);
        break;
      case "organize":
        out = organize(out, t.options);
        break;
      case "filterFieldsByName":
        out = filterByName(out, t.options);
        break;
      case "reduce":
        out = reduceRows(out, t.options);
        break;
      case "labelsToFields":
        out = labelsToFields(out);
        break;
      default:
        break; // not supported: data passes through unchanged
    }
  }
  return out;
}
