// The org's data sources, and resolving a panel's or target's datasource reference.
import { api } from "../lib/api";

export interface DataSource {
  id: number;
  uid: string;
  name: string;
  type: string;
  typeName?: string;
  url?: string;
  isDefault?: boolean;
  jsonData?: any;
  access?: string;
  readOnly?: boolean;
}

export const MIXED = "-- Mixed --";
export const DASHBOARD_DS = "-- Dashboard --";
export const GRAFANA_DS = "-- Grafana --";

let cache: Promise<DataSource[]> | null = null;

export function loadDataSources(force = false): Promise<DataSource[]> {
  if (!cache || force) {
    cache = api.get<DataSource[]>("/api/datasources").catch(() => [] as DataSource[]);
  }
  return cache;
}

export function invalidateDataSources(): void {
  cache = null;
}

/** Type ids that mean the same plugin. */
export function sameType(a: string | undefined, b: string | undefined): boolean {
  const norm = (t?: string) => (t === "testdata" || t === "grafana-testdata-datasource" ? "testdata" : t === "grafana-postgresql-datasource" ? "postgres" : t || "");
  return norm(a) === norm(b);
}

export function isTestData(t?: string): boolean {
  return t === "testdata" || t === "grafana-testdata-datasource";
}

export function isSql(t?: string): boolean {
  return t === "postgres" || t === "grafana-postgresql-datasource" || t === "mysql" || t === "sqlite" || t === "mssql" || t === "frser-sqlite-datasource";
}

export function refName(ref: any): string {
  if (ref === null || ref === undefined) return "";
  if (typeof ref === "string") return ref;
  return ref.uid || ref.type || "";
}

/**
 * Resolve a reference (uid object, name string, null = default) after variables were interpolated.
 * Returns null when it names a special source (mixed, dashboard) or nothing matches.
 */
export function resolveDataSource(ref: any, list: DataSource[]): DataSource | null {
  const def = list.find((d) => d.isDefault) || null;
  if (ref === null || ref === undefined || ref === "" || ref === "default") return def;
  if (typeof ref === "string") {
    return list.find((d) => d.name === ref) || list.find((d) => d.uid === ref) || null;
  }
  if (typeof ref === "object") {
    if (ref.uid) {
      const byUid = list.find((d) => d.uid === ref.uid) || list.find((d) => d.name === ref.uid);
      if (byUid) return byUid;
      if (ref.uid === "default") return def;
      return null;
    }
    if (ref.type) {
      // type only: the default if it is of that type, else the first of that type
      if (def && sameType(def.type, ref.type)) return def;
      return list.find((d) => sameType(d.type, ref.type)) || null;
    }
    return def;
  }
  return null;
}

export function isSpecial(ref: any): "mixed" | "dashboard" | "grafana" | null {
  const n = typeof ref === "string" ? ref : ref?.uid;
  if (n === MIXED || n === "-- Mixed --") return "mixed";
  if (n === DASHBOARD_DS || n === "-- Dashboard --") return "dashboard";
  if (n === GRAFANA_DS || n === "grafana") return "grafana";
  return null;
}
