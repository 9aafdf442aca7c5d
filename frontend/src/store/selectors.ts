/** Derived views of the model, pure so that pages stay thin and tests stay easy. */
import { topicMatches } from "./glob";
import { unitKey, type Model } from "./model";
import type { BusEvent, Container, Unit } from "./types";

export function containerList(m: Model): Container[] {
  return Object.values(m.containers).sort((a, b) => a.name.localeCompare(b.name));
}

export function findContainer(m: Model, nameOrId: string): Container | undefined {
  return m.containers[nameOrId] ??
    Object.values(m.containers).find((c) => c.name === nameOrId);
}

export interface UnitRow extends Unit {
  /** true when the bridge does not track the unit although a container names it. */
  missing?: boolean;
}

/**
 * Units that run containers: the bridge's units whose container is known, plus units
 * named by a container's PODMAN_SYSTEMD_UNIT label (kept current by container events).
 */
export function containerUnits(m: Model, all = false): UnitRow[] {
  const byUnit = new Map<string, Container>();
  for (const c of Object.values(m.containers)) if (c.unit) byUnit.set(unitKey(c.unit, c.user), c);
  const rows: UnitRow[] = [];
  for (const [key, u] of Object.entries(m.units)) {
    const container = byUnit.get(key)?.name ?? u.container ?? null;
    if (all || container) rows.push({ ...u, container });
  }
  for (const [key, c] of byUnit) {
    if (!(key in m.units)) {
      rows.push({ name: c.unit ?? key, description: "", load_state: "not-found", active_state: null,
                  sub_state: null, result: null, n_restarts: null, container: c.name, missing: true,
                  ...(c.user ? { user: c.user, uid: c.uid } : {}) });
    }
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name) || ownerOf(a).localeCompare(ownerOf(b)));
}

/** Who a row belongs to: a user's name, or "system". */
export function ownerOf(row: { user?: string }): string {
  return row.user ?? "system";
}

/** The users whose rows the model holds (a root bridge serving users), sorted. */
export function owners(m: Model): string[] {
  const users = new Set<string>();
  for (const c of Object.values(m.containers)) if (c.user) users.add(c.user);
  for (const u of Object.values(m.units)) if (u.user) users.add(u.user);
  return [...users].sort();
}

/** Rows of one owner ("system", a user's name), or all of them (""). */
export function ofOwner<T extends { user?: string }>(rows: T[], owner: string): T[] {
  return owner ? rows.filter((r) => ownerOf(r) === owner) : rows;
}

/** The events that concern one container: its own, its unit's and the plugins' about it. */
export function eventsOfContainer(events: BusEvent[], c: Container): BusEvent[] {
  return events.filter((e) => {
    const d = e.data ?? {};
    if (e.type.startsWith("container.")) return d.id === c.id || (!d.id && e.subject === c.name);
    if (c.unit && (e.subject === c.unit || d.unit === c.unit)) return true;
    return e.subject === c.name || d.container === c.name || d.container_name === c.name ||
      d.container === c.id;
  });
}

export interface EventFilter {
  patterns: string[];
  subject: string;
}

/** Topic globs as the bridge reads them; the subject matches as a glob too (`web*`). */
export function filterEvents(events: BusEvent[], f: EventFilter): BusEvent[] {
  const subject = f.subject.trim();
  const subjectRe = subject ? subjectPattern(subject) : null;
  return events.filter((e) =>
    (f.patterns.length === 0 || topicMatches(f.patterns, e.type)) &&
    (subjectRe === null || subjectRe.test(e.subject ?? "")));
}

function subjectPattern(text: string): RegExp {
  const body = text.split("*").map((p) => p.replace(/[\\^$.|?+()[\]{}]/g, "\\$&")).join(".*");
  // Without a wildcard, a plain substring search is what people expect of a filter box.
  return text.includes("*") ? new RegExp("^" + body + "$", "i") : new RegExp(body, "i");
}

/** Seconds (since the epoch) or an ISO string, to milliseconds; null when unknown. */
export function toMillis(t: unknown): number | null {
  if (typeof t === "number") return t === 0 || !Number.isFinite(t) ? null : t > 1e12 ? t : t * 1000;
  if (typeof t !== "string" || t === "") return null;
  // Podman's times carry nanoseconds; Date.parse takes at most milliseconds.
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(ms) ? null : ms;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function uptime(c: Container, now: number): string {
  if (c.state !== "running") return "";
  const started = toMillis(c.started_at);
  return started === null ? "" : formatDuration(now - started);
}
