/**
 * The "Create container" form: its values, how they are checked, and the params of
 * `containers.create` they become. Pure, so every rule has a unit test.
 */
import { NAME_RE } from "../../components/rename";

export type RestartPolicy = "no" | "on-failure" | "always" | "unless-stopped";
export type AutoUpdate = "" | "registry" | "local";

export interface PortRow { host: string; container: string; protocol: "tcp" | "udp" }
export interface VolumeRow { source: string; destination: string; readOnly: boolean }
export interface EnvRow { name: string; value: string }

/** Cockpit's memory units; binary, as `podman create --memory 512m` reads them. */
export const MEMORY_UNITS = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
export type MemoryUnit = keyof typeof MEMORY_UNITS;
/** Podman's (runc's) least memory limit: 6 MiB. */
export const MIN_MEMORY = 6 * 1024 ** 2;

export interface CreateForm {
  /** whose Podman: "" the bridge's own (the system's, for a root bridge), or a user it serves */
  owner: string;
  image: string;
  name: string;
  command: string;
  ports: PortRow[];
  env: EnvRow[];
  volumes: VolumeRow[];
  restartPolicy: RestartPolicy;
  restartRetries: string;
  autoUpdate: AutoUpdate;
  healthCmd: string;
  healthInterval: string;
  healthRetries: string;
  /** what Podman does once the container turns unhealthy (podman --health-on-failure) */
  healthAction: HealthAction;
  pod: string;
  /** a terminal for its process (podman -t): Cockpit's "With terminal", on by default there too */
  tty: boolean;
  memoryOn: boolean;
  memory: string;
  memoryUnit: MemoryUnit;
  cpuSharesOn: boolean;
  cpuShares: string;
  /** CPUs' time at most (podman --cpus); empty: no limit */
  cpus: string;
  start: boolean;
  /** after creating: generate and install a systemd unit for it */
  installUnit: boolean;
}

export type HealthAction = "none" | "kill" | "restart" | "stop";

/** Podman's actions on an unhealthy container, as Cockpit's create dialog offers them. */
export const HEALTH_ACTIONS: [HealthAction, string][] = [
  ["none", "No action"], ["restart", "Restart"], ["stop", "Stop"], ["kill", "Force stop"],
];

/** Whether `ref` names an image of `names` (the owner's local images), `:latest` implied as Podman implies it. */
export function isLocalImage(ref: string, names: readonly string[]): boolean {
  const r = ref.trim();
  const tagged = /:[^/]+$/.test(r) || r.includes("@") ? r : `${r}:latest`;
  return names.includes(r) || names.includes(tagged);
}

export function emptyForm(image = ""): CreateForm {
  return {
    owner: "", image, name: "", command: "", ports: [], env: [], volumes: [], restartPolicy: "no",
    restartRetries: "", autoUpdate: "", healthCmd: "", healthInterval: "30", healthRetries: "3", healthAction: "none",
    pod: "", tty: true, memoryOn: false, memory: "512", memoryUnit: "MiB", cpuSharesOn: false, cpuShares: "1024", cpus: "",
    start: true, installUnit: false,
  };
}

/** Splits a command line as a shell would split words (quotes, backslashes; no expansion). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch; inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i]; inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) { out.push(cur); cur = ""; inWord = false; }
    } else {
      cur += ch; inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (inWord) out.push(cur);
  return out;
}

const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function port(v: string): number | null {
  if (!/^\d+$/.test(v.trim())) return null;
  const n = Number(v);
  return n >= 1 && n <= 65535 ? n : null;
}

/** Field -> problem; empty when the form can be sent. */
export function validate(f: CreateForm): Record<string, string> {
  const e: Record<string, string> = {};
  if (!f.image.trim()) e.image = "Choose an image";
  else if (/\s/.test(f.image.trim())) e.image = "An image reference has no spaces";
  if (f.name && !NAME_RE.test(f.name)) e.name = "Letters, digits, _ . - (not first)";
  try { splitCommand(f.command); } catch (err) { e.command = (err as Error).message; }
  f.ports.forEach((p, i) => {
    if (port(p.container) === null) e[`port-${i}`] = "The container port is a number from 1 to 65535";
    else if (p.host.trim() && port(p.host) === null) e[`port-${i}`] = "The host port is a number from 1 to 65535, or empty for a free one";
  });
  const hostPorts = f.ports.map((p) => `${p.host.trim()}/${p.protocol}`).filter((k) => !k.startsWith("/"));
  hostPorts.forEach((k, i) => { if (hostPorts.indexOf(k) !== i) e.ports = `Host port ${k} is given twice`; });
  f.env.forEach((v, i) => { if (!ENV_RE.test(v.name)) e[`env-${i}`] = "A variable's name is letters, digits and _"; });
  f.volumes.forEach((v, i) => {
    if (!v.source.trim()) e[`volume-${i}`] = "A host path or a volume name";
    else if (!v.destination.startsWith("/")) e[`volume-${i}`] = "The path in the container is absolute";
  });
  if (f.restartPolicy === "on-failure" && f.restartRetries && !/^\d+$/.test(f.restartRetries)) {
    e.restartRetries = "A number of retries";
  }
  if (f.healthCmd.trim()) {
    if (!/^\d+$/.test(f.healthInterval) || Number(f.healthInterval) < 1) e.healthInterval = "Seconds, at least 1";
    if (!/^\d+$/.test(f.healthRetries) || Number(f.healthRetries) < 1) e.healthRetries = "At least 1";
  }
  if (f.memoryOn) {
    const m = memoryBytes(f);
    if (m === null) e.memory = "A number";
    else if (m < MIN_MEMORY) e.memory = "At least 6 MiB (Podman's least)";
  }
  if (f.cpuSharesOn && (!/^\d+$/.test(f.cpuShares) || Number(f.cpuShares) < 2 || Number(f.cpuShares) > 262144)) {
    e.cpuShares = "A number from 2 to 262144 (1024 is the default weight)";
  }
  if (f.cpus.trim() && !(/^\d*\.?\d+$/.test(f.cpus.trim()) && Number(f.cpus) >= 0.01 && Number(f.cpus) <= 1024)) {
    e.cpus = "A number of CPUs, at least 0.01 (e.g. 0.5 or 2)";
  }
  if (f.installUnit && !f.name) e.name = "A unit needs a container name";
  if (f.autoUpdate && !f.installUnit) {
    e.autoUpdate = "Podman auto-update acts on containers run by a systemd unit: install one too";
  }
  if (f.autoUpdate === "registry" && !/[./:]/.test(f.image.split("/")[0] ?? "")) {
    e.autoUpdate = "Registry auto-update needs a fully qualified image (registry/name:tag)";
  }
  return e;
}

/** The memory limit in bytes, or null when the field is not a number. */
export function memoryBytes(f: Pick<CreateForm, "memory" | "memoryUnit">): number | null {
  if (!/^\d*\.?\d+$/.test(f.memory.trim())) return null;
  return Math.round(Number(f.memory) * MEMORY_UNITS[f.memoryUnit]);
}

/** The params of `containers.create` (docs/protocol.md). */
export function toCreateParams(f: CreateForm): Record<string, unknown> {
  const p: Record<string, unknown> = { image: f.image.trim() };
  if (f.name) p.name = f.name;
  const cmd = splitCommand(f.command);
  if (cmd.length) p.command = cmd;
  if (f.ports.length) {
    p.ports = f.ports.map((r) => ({
      // no host port: Podman picks a free one (as `podman run -p 80` does)
      ...(r.host.trim() ? { host_port: Number(r.host) } : {}), container_port: Number(r.container), protocol: r.protocol,
    }));
  }
  if (f.env.length) p.env = Object.fromEntries(f.env.map((v) => [v.name, v.value]));
  if (f.volumes.length) {
    p.volumes = f.volumes.map((v) => ({ source: v.source.trim(), destination: v.destination, read_only: v.readOnly }));
  }
  if (f.restartPolicy !== "no") {
    p.restart_policy = f.restartPolicy;
    if (f.restartPolicy === "on-failure" && f.restartRetries) p.restart_retries = Number(f.restartRetries);
  }
  if (f.autoUpdate) p.auto_update = f.autoUpdate; // the bridge sets the io.containers.autoupdate label
  if (f.healthCmd.trim()) {
    p.health = { command: splitCommand(f.healthCmd), interval: Number(f.healthInterval), retries: Number(f.healthRetries),
                 ...(f.healthAction !== "none" ? { on_failure: f.healthAction } : {}) };
  }
  if (f.pod) p.pod = f.pod;
  if (f.tty) p.tty = true;
  const limits: Record<string, number> = {};
  const memory = f.memoryOn ? memoryBytes(f) : null;
  if (memory !== null) limits.memory = memory;
  if (f.cpuSharesOn) limits.cpu_shares = Number(f.cpuShares);
  if (f.cpus.trim()) limits.cpus = Number(f.cpus);
  if (Object.keys(limits).length) p.limits = limits;
  if (f.owner) p.owner = f.owner;
  p.start = f.start;
  return p;
}
