/**
 * The CPU and memory columns of the containers list: `containers.stats_all` items read
 * into one map by container ID (pure, so every rule has a unit test).
 */
import { bytes } from "../container/metrics";

export interface Usage { cpu: number | null; mem: number | null; memLimit: number | null }

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** One stream item (`{samples: [{id, cpu_percent, mem_usage, mem_limit, ...}]}`) as a map. */
export function readUsage(item: Record<string, unknown>): Map<string, Usage> {
  const out = new Map<string, Usage>();
  const samples = Array.isArray(item.samples) ? item.samples : [];
  for (const s of samples as Record<string, unknown>[]) {
    if (typeof s?.id !== "string") continue;
    out.set(s.id, { cpu: num(s.cpu_percent), mem: num(s.mem_usage), memLimit: num(s.mem_limit) });
  }
  return out;
}

/** "12.3 %" (one decimal under 10 %), or null when not measured yet. */
export function cpuText(u: Usage | undefined): string | null {
  if (!u || u.cpu === null) return null;
  return `${u.cpu.toFixed(u.cpu < 10 ? 1 : 0)} %`;
}

/** "1.2 MiB": the memory it uses (the list's cell; its limit goes in the tooltip). */
export function memText(u: Usage | undefined): string | null {
  if (!u || u.mem === null) return null;
  return bytes(u.mem);
}

/** "of 7.8 GiB": the container's limit (the host's memory when it has none of its own);
 * an "unlimited" cgroup's 2^63 is not a limit worth showing. */
export function memLimitText(u: Usage | undefined): string | null {
  if (!u || u.memLimit === null || u.memLimit <= 0 || u.memLimit >= 2 ** 60) return null;
  return `of ${bytes(u.memLimit)}`;
}
