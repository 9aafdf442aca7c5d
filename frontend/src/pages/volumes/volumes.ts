/** The Volumes page's pure parts: rows from `volumes.list`, the filter, the create form. */
import { NAME_RE } from "../../components/rename";
import { str } from "../read";

export interface VolumeRow {
  name: string;
  driver: string;
  mountpoint: string;
  created: string | null;
  labels: Record<string, string>;
  /** containers (names) that use it */
  usedBy: string[];
}

/** Reads `volumes.list`; named volumes first by name, then Podman's anonymous (64-hex) ones. */
export function volumeRows(list: unknown): VolumeRow[] {
  const raw = Array.isArray(list) ? list : [];
  const rows = raw.map((x) => {
    const r = (x ?? {}) as Record<string, unknown>;
    const labels = (r.labels && typeof r.labels === "object" ? r.labels : {}) as Record<string, string>;
    return {
      name: str(r.name), driver: str(r.driver) || "local", mountpoint: str(r.mountpoint),
      created: str(r.created) || null, labels,
      usedBy: Array.isArray(r.in_use_by) ? (r.in_use_by as string[]).slice().sort() : [],
    };
  });
  const key = (v: VolumeRow) => (isAnonymous(v.name) ? "1" : "0") + v.name;
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A volume Podman named itself (`-v /path` without a name, `VOLUME` in an image). */
export function isAnonymous(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

export function shortName(name: string): string {
  return isAnonymous(name) ? name.slice(0, 12) : name;
}

export function filterVolumes(rows: VolumeRow[], filter: string): VolumeRow[] {
  const f = filter.trim().toLowerCase();
  if (!f) return rows;
  return rows.filter((r) => r.name.toLowerCase().includes(f) || r.driver.toLowerCase().includes(f)
    || r.usedBy.some((c) => c.toLowerCase().includes(f))
    || Object.entries(r.labels).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(f)));
}

export interface LabelRow { key: string; value: string }

export interface VolumeForm { name: string; driver: string; labels: LabelRow[] }

/** Errors by field (`name`, `driver`, `labels`); none: the form can be sent. */
export function validateVolume(f: VolumeForm): Record<string, string> {
  const errors: Record<string, string> = {};
  if (f.name.trim() && !NAME_RE.test(f.name.trim())) errors.name = "Letters, digits, _ . - (not first); or empty for a random name";
  if (!f.driver.trim()) errors.driver = "A driver is needed (local is Podman's own)";
  const keys = new Set<string>();
  for (const l of f.labels) {
    const k = l.key.trim();
    if (!k && !l.value) continue;
    if (!k || /[=\s]/.test(k)) { errors.labels = `"${l.key}" is not a label name`; break; }
    if (keys.has(k)) { errors.labels = `The label ${k} is given twice`; break; }
    keys.add(k);
  }
  return errors;
}

export function toVolumeParams(f: VolumeForm): Record<string, unknown> {
  const labels: Record<string, string> = {};
  for (const l of f.labels) if (l.key.trim()) labels[l.key.trim()] = l.value;
  return { ...(f.name.trim() ? { name: f.name.trim() } : {}), driver: f.driver.trim() || "local", labels };
}
