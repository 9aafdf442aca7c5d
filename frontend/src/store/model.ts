/**
 * The live model and the pure functions that change it. No I/O here: the store module
 * (store.ts) feeds it frames from the websocket and hands the results to React.
 *
 * Snapshots and events: `state.get` answers with the model as of some `seq`. Events the
 * bridge sent before that answer arrived may be newer than the snapshot (calls and the
 * event stream run concurrently on the bridge), so while a snapshot is on its way every
 * event is held in `buffer`, and replayed on top of the snapshot if its seq is newer.
 */
import type { TopicData } from "../generated/contracts";
import type { BusEvent, Container, Image, Plugin, Pod, Snapshot, Unit } from "./types";

export const EVENT_LOG_SIZE = 2000;
const BUFFER_SIZE = 50_000;

export interface Model {
  containers: Record<string, Container>; // by id
  units: Record<string, Unit>; // by name
  pods: Pod[];
  images: Image[];
  plugins: Plugin[] | null;
  /** seq of the last snapshot applied; events at or below it are already in the model. */
  snapshotSeq: number;
  loaded: boolean;
  /** state.get calls in flight. */
  snapshotsPending: number;
  buffer: BusEvent[];
  /** Recent events, oldest first, at most EVENT_LOG_SIZE. */
  events: BusEvent[];
}

/** What applying events asks the store to fetch, because events alone cannot tell. */
export interface Needs {
  snapshot: boolean;
  plugins: boolean;
}

export function initialModel(): Model {
  return {
    containers: {}, units: {}, pods: [], images: [], plugins: null,
    snapshotSeq: 0, loaded: false, snapshotsPending: 0, buffer: [], events: [],
  };
}

export function snapshotRequested(m: Model): Model {
  return { ...m, snapshotsPending: m.snapshotsPending + 1 };
}

export function snapshotFailed(m: Model): Model {
  const pending = Math.max(0, m.snapshotsPending - 1);
  // Nothing else is coming: what was held has to be applied to the model we have.
  if (pending === 0 && m.buffer.length > 0) {
    const held = m.buffer;
    const next = applyToState({ ...m, snapshotsPending: 0, buffer: [] }, held);
    return next.model;
  }
  return { ...m, snapshotsPending: pending };
}

export function snapshotArrived(m: Model, snap: Snapshot): Model {
  const containers: Record<string, Container> = {};
  for (const c of snap.containers ?? []) containers[c.id] = normaliseContainer(c);
  const units: Record<string, Unit> = {};
  for (const u of snap.units ?? []) units[unitKey(u.name, u.user)] = u;
  const pending = Math.max(0, m.snapshotsPending - 1);
  const next: Model = {
    ...m, containers, units, pods: snap.pods ?? [], images: snap.images ?? [],
    snapshotSeq: snap.seq, loaded: true, snapshotsPending: pending,
    buffer: pending === 0 ? [] : m.buffer,
  };
  // Replay what the snapshot does not include yet (never asking for another snapshot).
  const newer = m.buffer.filter((e) => e.seq > snap.seq);
  return newer.length > 0 ? applyToState(next, newer).model : next;
}

/**
 * The bridge's seq numbers started over (it restarted) or our place in its stream is lost:
 * what is held belongs to the old numbering. The caller requests a fresh snapshot.
 */
export function newEpoch(m: Model): Model {
  return { ...m, buffer: [], snapshotSeq: 0 };
}

export function pluginsArrived(m: Model, plugins: Plugin[]): Model {
  return { ...m, plugins };
}

/** Applies new (not duplicate) events: logs them, and changes the model or holds them. */
export function applyEvents(m: Model, events: BusEvent[]): { model: Model; needs: Needs } {
  if (events.length === 0) return { model: m, needs: { snapshot: false, plugins: false } };
  let log = m.events.concat(events);
  if (log.length > EVENT_LOG_SIZE) log = log.slice(log.length - EVENT_LOG_SIZE);
  const logged = { ...m, events: log };
  if (m.snapshotsPending > 0 || !m.loaded) {
    let buffer = m.buffer.concat(events);
    if (buffer.length > BUFFER_SIZE) buffer = buffer.slice(buffer.length - BUFFER_SIZE);
    return { model: { ...logged, buffer }, needs: { snapshot: false, plugins: false } };
  }
  return applyToState(logged, events.filter((e) => e.seq > m.snapshotSeq));
}

function applyToState(m: Model, events: BusEvent[]): { model: Model; needs: Needs } {
  const needs: Needs = { snapshot: false, plugins: false };
  let containers = m.containers;
  let units = m.units;
  let plugins = m.plugins;
  let ownContainers = false;
  let ownUnits = false;
  for (const ev of events) {
    const [kind, action] = splitType(ev.type);
    if (kind === "container") {
      if (!ownContainers) { containers = { ...containers }; ownContainers = true; }
      if (applyContainer(containers, action, ev)) needs.snapshot = true;
    } else if (kind === "unit") {
      if (!ownUnits) { units = { ...units }; ownUnits = true; }
      if (applyUnit(units, action, ev)) needs.snapshot = true;
    } else if (ev.type === "bridge.owner_added" || ev.type === "bridge.owner_removed") {
      // A user's manager came or went (a root bridge serving users): its rows with it.
      needs.snapshot = true;
    } else if (ev.type === "bridge.plugin_failed" || ev.type === "bridge.plugin_started") {
      const r = applyPlugin(plugins, ev);
      plugins = r.plugins;
      if (r.unknown) needs.plugins = true;
    }
  }
  return { model: { ...m, containers, units, plugins }, needs };
}

function splitType(type: string): [string, string] {
  const i = type.indexOf(".");
  return i < 0 ? [type, ""] : [type.slice(0, i), type.slice(i + 1)];
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Mutates the (already copied) map; returns true when the container was unknown. */
function applyContainer(containers: Record<string, Container>, action: string,
                        ev: BusEvent): boolean {
  const d = ev.data ?? {};
  const id = str(d.id);
  if (!id) return false;
  if (action === "remove") {
    delete containers[id];
    return false;
  }
  const old = containers[id];
  const labels = (d.labels && typeof d.labels === "object" ? d.labels : {}) as Record<string, string>;
  const rec: Container = old ? { ...old } : {
    id, name: ev.subject, image: str(d.image) ?? "", image_id: "", state: "created",
    health: null, exit_code: null, started_at: null, created_at: ev.time, labels,
    pod: str(d.pod_id) ?? "", unit: labels.PODMAN_SYSTEMD_UNIT ?? null,
    restart_policy: null, restart_count: 0, ports: [],
  };
  if (!old && str(d.user)) {
    rec.user = str(d.user);
    if (typeof d.uid === "number") rec.uid = d.uid;
  }
  const state = str(d.state);
  if (state && state !== "removed") rec.state = state;
  if (action === "start" || action === "restart") rec.started_at = str(d.time) ?? ev.time;
  if (action === "rename" && ev.subject) rec.name = ev.subject;
  if (typeof d.exit_code === "number") rec.exit_code = d.exit_code;
  const health = str(d.health);
  if (health) rec.health = health;
  if (action === "restart") rec.restart_count = (rec.restart_count ?? 0) + 1;
  containers[id] = rec;
  // A create is expected to be new; its details (restart policy, ports) come with a snapshot.
  return old === undefined;
}

const UNIT_FIELDS = ["active_state", "sub_state", "result", "n_restarts"] as const;

function blankUnit(name: string): Unit {
  return { name, description: "", load_state: "", active_state: null, sub_state: null,
           result: null, n_restarts: null, container: null };
}

/** Units are keyed by owner and name: two users may both run `container-myapp.service`. */
export function unitKey(name: string, user?: string): string {
  return user ? `${user}/${name}` : name;
}

function applyUnit(units: Record<string, Unit>, action: string, ev: BusEvent): boolean {
  const name = str(ev.data?.unit) ?? ev.subject;
  if (!name) return false;
  const user = str(ev.data?.user);
  const key = unitKey(name, user);
  if (action === "removed") {
    delete units[key];
    return false;
  }
  if (action !== "state" && action !== "new") return false;
  const old = units[key];
  const rec: Unit = old ? { ...old } : blankUnit(name);
  if (!old && user) {
    rec.user = user;
    if (typeof ev.data?.uid === "number") rec.uid = ev.data.uid;
  }
  if (action === "state") {
    // unit.state's data, as the bridge's contract types it (generated/contracts.ts).
    const d = (ev.data ?? {}) as Partial<TopicData["unit.state"]>;
    for (const k of UNIT_FIELDS) {
      const v = d[k];
      if (v !== undefined) (rec as unknown as Record<string, unknown>)[k] = v;
    }
  }
  units[key] = rec;
  return old === undefined;
}

function applyPlugin(plugins: Plugin[] | null, ev: BusEvent):
    { plugins: Plugin[] | null; unknown: boolean } {
  if (plugins === null) return { plugins, unknown: false };
  const i = plugins.findIndex((p) => p.name === ev.subject);
  if (i < 0) return { plugins, unknown: true };
  const p = { ...plugins[i] };
  if (ev.type === "bridge.plugin_failed") {
    p.state = "failed";
    p.last_error = str(ev.data?.error) ?? p.last_error;
    p.failures = (p.failures ?? 0) + 1;
  } else {
    p.state = "running";
    p.started_at = ev.time;
  }
  const next = plugins.slice();
  next[i] = p;
  return { plugins: next, unknown: false };
}

function normaliseContainer(c: Container): Container {
  return { ...c, labels: c.labels ?? {}, ports: c.ports ?? [],
           unit: c.unit ?? c.labels?.PODMAN_SYSTEMD_UNIT ?? null };
}
