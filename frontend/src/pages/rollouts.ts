/** Rollouts as `fleet.rollout.history` and `.status` give them: pure helpers of the page. */

export interface HostDetail {
  state: string;
  wave: number;
  reason?: string;
  asked_at?: number | null;
  done_at?: number | null;
}

export interface RolloutSummary {
  id: string;
  phase: string;
  digest: string;
  hosts: Record<string, string>;
  image?: string;
  selector?: string;
  wave?: number;
  waves?: string[][];
  reason?: string;
  created?: number;
  details?: Record<string, HostDetail>;
}

export interface WaveRow {
  index: number;
  title: string;
  hosts: { name: string; state: string; reason: string }[];
  /** "done" when every host has its verdict, "current" for the wave being run. */
  status: "waiting" | "current" | "done";
}

const ENDED = new Set(["passed", "rolled-back", "failed", "timed-out", "skipped", "reverted", "revert-failed"]);

export function rolloutsOf(data: unknown): RolloutSummary[] {
  if (!Array.isArray(data)) return [];
  return data.filter((r): r is RolloutSummary =>
    typeof r === "object" && r !== null && typeof (r as RolloutSummary).id === "string"
    && typeof (r as RolloutSummary).phase === "string");
}

/** The canary (wave 0) and each wave with its hosts' states, in the planned order. */
export function waveRows(r: RolloutSummary): WaveRow[] {
  const waves = Array.isArray(r.waves) ? r.waves : [Object.keys(r.hosts ?? {})];
  return waves.map((names, index) => {
    const hosts = names.map((name) => ({
      name, state: r.hosts?.[name] ?? "unknown", reason: r.details?.[name]?.reason ?? "" }));
    const status = hosts.every((h) => ENDED.has(h.state)) ? "done"
      : index === (r.wave ?? 0) ? "current" : "waiting";
    return { index, title: index === 0 ? "Canary" : `Wave ${index}`, hosts, status };
  });
}

/** How many hosts are in each state, in a stable order ("passed 3, updating 1"). */
export function tally(hosts: Record<string, string>): string {
  const counts = new Map<string, number>();
  for (const s of Object.values(hosts ?? {})) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s} ${n}`).join(", ");
}
