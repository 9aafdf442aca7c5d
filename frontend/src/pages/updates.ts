/** Shapes of the auto-update and rollback plugins' answers, and small helpers. */
import type { LastRun } from "../generated/contracts";
import { toMillis } from "../store/selectors";

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
  last_run?: LastRun | null;
  schedule?: string | null;
  running?: boolean;
  pending?: unknown[];
}

// The rows of autoupdate.history and rollback.history are the plugins' stored records
// (bridge/updates.py), generated into ../generated/contracts.ts.
export type { UpdateHistoryEntry, WatchHistoryEntry } from "../generated/contracts";

/**
 * One result row. The auto-update plugin answers with Podman's own JSON rows (`Unit`,
 * `ContainerName`, `Updated`, ...) under `rows`; the documented shape is snake_case under
 * `results`. Both are read.
 */
export function normaliseResult(row: unknown): UpdateResult {
  if (typeof row === "string") return { container: row, updated: "pending" };
  const r = (row ?? {}) as Record<string, unknown>;
  const pick = (...keys: string[]): string | undefined => {
    for (const k of keys) {
      const v = r[k];
      if (v !== undefined && v !== null && v !== "") return String(v);
    }
    return undefined;
  };
  return {
    unit: pick("unit", "Unit"),
    container: pick("container", "Container"),
    container_name: pick("container_name", "ContainerName"),
    container_id: pick("container_id", "ContainerID"),
    image: pick("image", "Image"),
    policy: pick("policy", "Policy"),
    updated: pick("updated", "Updated"),
    reason: pick("reason", "Reason"),
  };
}

/** Pending updates: what the status lists, plus what the last dry run found. */
export function pendingRows(status: UpdateStatus | null, lastRun: { dryRun: boolean; results: unknown } | null): UpdateResult[] {
  const rows: UpdateResult[] = [];
  const listed = Array.isArray(status?.pending) ? status.pending : [];
  for (const p of listed) rows.push({ ...normaliseResult(p), updated: "pending" });
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

/** The rows of an `autoupdate.run` answer (`results` or Podman's `rows`, or a bare list). */
export function resultsOf(data: unknown): UpdateResult[] {
  let rows: unknown = data;
  if (!Array.isArray(rows) && rows && typeof rows === "object") {
    const o = rows as { results?: unknown; rows?: unknown };
    rows = Array.isArray(o.results) ? o.results : o.rows;
  }
  return Array.isArray(rows) ? rows.map(normaliseResult) : [];
}

/** The status's `last_run`: the plugin's record of the run. */
export function describeRun(r: LastRun | null | undefined): string {
  if (!r) return "—";
  const counts = Object.entries(r.results).map(([k, v]) => `${k}: ${v}`).join(", ");
  return [localTime(r.finished ?? r.started), r.dry_run ? "(dry run)" : "", counts ? `— ${counts}` : ""]
    .filter(Boolean).join(" ");
}

export function containerOf(r: UpdateResult): string {
  return r.container_name ?? r.container ?? r.container_id?.slice(0, 12) ?? "—";
}

/** sha256:abcdef… -> abcdef123456 (updates, rollbacks, rollouts); "—" for none. */
export function shortDigest(d: string | null | undefined): string {
  return (d ?? "").replace(/^sha256:/, "").slice(0, 12) || "—";
}

/** An ISO time or seconds since the epoch (the bridge sends both), in the local zone; Go's
 * zero time (year 1: Podman's "never") as "—". */
export function localTime(t: unknown): string {
  const ms = toMillis(t);
  if (ms === null) return typeof t === "string" && t ? t : "—";
  return ms < 0 ? "—" : new Date(ms).toLocaleString();
}
