/** Shapes of the auto-update and rollback plugins' answers, and small helpers. */

export interface UpdateResult {
  unit?: string;
  container?: string;
  container_name?: string;
  container_id?: string;
  image?: string;
  policy?: string;
  updated?: string;
  reason?: string;
}

export interface UpdateStatus {
  next_run?: string | null;
  last_run?: string | null;
  schedule?: string | null;
  running?: boolean;
  pending?: unknown[];
}

export interface UpdateHistoryEntry {
  time?: string;
  unit?: string;
  container?: string;
  image?: string;
  old_digest?: string | null;
  new_digest?: string | null;
  result?: string;
  reason?: string | null;
}

export interface RollbackEntry {
  time?: string;
  unit?: string;
  container?: string;
  from_image?: string;
  to_image?: string;
  result?: string;
  reason?: string | null;
}

/** Pending updates: what the status lists, plus what the last dry run found. */
export function pendingRows(status: UpdateStatus | null, lastRun: { dryRun: boolean; results: unknown } | null): UpdateResult[] {
  const rows: UpdateResult[] = [];
  for (const p of status?.pending ?? []) {
    rows.push(typeof p === "string" ? { container: p, updated: "pending" } : { updated: "pending", ...(p as UpdateResult) });
  }
  if (lastRun?.dryRun) {
    for (const r of resultsOf(lastRun.results)) {
      if (r.updated === "pending" && !rows.some((x) => key(x) === key(r))) rows.push(r);
    }
  }
  return rows;
}

function key(r: UpdateResult): string {
  return `${r.unit ?? ""}/${r.container_name ?? r.container ?? ""}`;
}

export function resultsOf(data: unknown): UpdateResult[] {
  if (Array.isArray(data)) return data as UpdateResult[];
  const results = (data as { results?: unknown } | null)?.results;
  return Array.isArray(results) ? (results as UpdateResult[]) : [];
}

export function containerOf(r: UpdateResult): string {
  return r.container_name ?? r.container ?? r.container_id?.slice(0, 12) ?? "—";
}

/** sha256:abcdef… -> abcdef123456 */
export function shortDigest(d: string | null | undefined): string {
  if (!d) return "—";
  return d.replace(/^sha256:/, "").slice(0, 12);
}

export function localTime(t: string | null | undefined): string {
  if (!t) return "—";
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? t : new Date(ms).toLocaleString();
}
