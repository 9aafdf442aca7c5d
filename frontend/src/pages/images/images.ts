/** The Images page's pure parts: which containers use an image, and a pull's progress. */
import { str } from "../read";

export interface ImageRow {
  id: string;
  names: string[];
  /** bytes */
  size: number | null;
  created: string | number | null;
  /** containers (names) that use it */
  usedBy: string[];
  dangling: boolean;
  /** the user whose rootless Podman holds it (a root bridge serving users); none: the bridge's own */
  user?: string;
}

interface ContainerLike { name: string; image: string; image_id?: string }

function short(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/** Reads `images.list` (snake_case, or Podman's own Id/Names/Size/Created/RepoTags). */
export function imageRows(list: unknown, containers: ContainerLike[]): ImageRow[] {
  const raw = Array.isArray(list) ? list : Array.isArray((list as { images?: unknown[] })?.images) ? (list as { images: unknown[] }).images : [];
  const rows = raw.map((x) => {
    const r = x as Record<string, unknown>;
    const id = str(r.id) || str(r.Id);
    const names = ((r.names ?? r.Names ?? r.RepoTags ?? r.repo_tags ?? []) as string[])
      .filter((n) => n && n !== "<none>:<none>");
    const size = typeof r.size === "number" ? r.size : typeof r.Size === "number" ? r.Size : null;
    return { id, names, size, created: (r.created ?? r.Created ?? null) as string | number | null,
             usedBy: Array.isArray(r.in_use_by) ? (r.in_use_by as string[]).slice().sort() : null as string[] | null,
             dangling: typeof r.dangling === "boolean" ? r.dangling : names.length === 0 };
  });
  for (const row of rows) {
    if (row.usedBy !== null) continue; // the bridge said (images.list's in_use_by)
    const sid = short(row.id);
    row.usedBy = containers.filter((c) =>
      (c.image_id && short(c.image_id) === sid) ||
      row.names.includes(c.image) || row.names.includes(`localhost/${c.image}`) ||
      c.image === sid || (c.image.length >= 12 && row.id.replace(/^sha256:/, "").startsWith(c.image)))
      .map((c) => c.name).sort();
  }
  // named images first, by name; then the dangling ones, by id
  const key = (r: ImageRow) => (r.names[0] ? "0" + r.names[0] : "1" + r.id);
  return (rows as ImageRow[]).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A row's key among every owner's images: the same image may be in several owners' storage. */
export function rowKey(r: ImageRow): string {
  return `${r.user ?? ""}/${r.id}`;
}

export function displayName(r: ImageRow): string {
  return r.names[0] ?? `<none> ${short(r.id)}`;
}

export interface PullState {
  /** 0..100, or null while nothing says how far it is */
  percent: number | null;
  lines: string[];
  done: boolean;
  error: string | null;
  imageId: string | null;
  /** blob id -> [current, total] bytes */
  blobs: Record<string, [number, number]>;
  step: number;
  /** every percent the bar showed, in order (what a user saw move) */
  shown: number[];
}

export function pullStart(): PullState {
  return { percent: 0, lines: [], done: false, error: null, imageId: null, blobs: {}, step: 0, shown: [0] };
}

const STEPS: [RegExp, number][] = [
  [/^Trying to pull/i, 5], [/^Getting image source signatures/i, 10], [/^Copying blob/i, 20],
  [/^Copying config/i, 80], [/^Writing manifest/i, 90], [/^Storing signatures/i, 95],
];

/**
 * One progress item of `images.pull`: text lines (`stream`/`status`/`message`), byte counts
 * (`progress: {current, total}` or `progressDetail`, per blob `id`), the result (`images`,
 * `id`), or an `error`. Byte counts, when there are any, decide the bar; else the steps.
 */
export function pullStep(s: PullState, item: Record<string, unknown>): PullState {
  const next = { ...s, blobs: { ...s.blobs }, lines: s.lines.slice(-200) };
  const text = str(item.progress) || str(item.stream) || str(item.status) || str(item.message) || str(item.line);
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    next.lines.push(line);
    for (const [re, pct] of STEPS) {
      if (re.test(line)) {
        if (pct === 20) next.step = Math.min(75, Math.max(next.step, 20) + 10);
        else next.step = Math.max(next.step, pct);
      }
    }
  }
  const prog = (typeof item.progress === "object" ? item.progress : item.progressDetail ?? item.progress_detail) as
    Record<string, unknown> | undefined;
  const cur = Number(prog?.current ?? item.current);
  const tot = Number(prog?.total ?? item.total);
  if (Number.isFinite(cur) && Number.isFinite(tot) && tot > 0) {
    next.blobs[str(item.id) || str(item.blob) || "_"] = [Math.min(cur, tot), tot];
  }
  if (item.error) {
    next.error = typeof item.error === "string" ? item.error : str((item.error as Record<string, unknown>).message) || JSON.stringify(item.error);
  }
  const images = item.images;
  if ((Array.isArray(images) && images.length) || item.done === true || (str(item.id) && str(item.reference))) {
    next.done = true;
    next.imageId = Array.isArray(images) ? String(images[0]) : str(item.id) || null;
  }
  const bs = Object.values(next.blobs);
  if (next.done && !next.error) next.percent = 100;
  else if (bs.length) {
    const [c, t] = bs.reduce(([a, b], [x, y]) => [a + x, b + y], [0, 0]);
    next.percent = Math.min(99, Math.floor((c / t) * 100));
  } else next.percent = next.step;
  if (next.percent !== null && next.percent !== next.shown[next.shown.length - 1]) next.shown = [...next.shown, next.percent];
  return next;
}

/** What the Details tab shows of `images.inspect` (Podman's inspect): command, entrypoint, exposed ports. */
export function imageFacts(info: unknown): { command: string; entrypoint: string; ports: string[] } {
  const cfg = ((info as { Config?: Record<string, unknown> } | null)?.Config ?? {}) as Record<string, unknown>;
  const words = (v: unknown) => (Array.isArray(v) ? v.map((w) => (/[\s"'\\]/.test(String(w)) ? JSON.stringify(String(w)) : String(w))).join(" ") : "");
  const ports = cfg.ExposedPorts && typeof cfg.ExposedPorts === "object" ? Object.keys(cfg.ExposedPorts).sort() : [];
  return { command: words(cfg.Cmd), entrypoint: words(cfg.Entrypoint), ports };
}
