/**
 * "Clone": the Create dialog's form filled from a container's inspect (and its image's, to
 * leave out the variables the image sets itself). Pure, so every rule has a unit test.
 */
import { HEALTH_ACTIONS, MEMORY_UNITS } from "./createOptions";
import type { CreateForm, EnvRow, HealthAction, MemoryUnit, PortRow, RestartPolicy, VolumeRow } from "./createOptions";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// Variables Podman sets in every container (not the user's).
const PODMAN_ENV = new Set(["HOSTNAME", "container", "TERM", "HOME"]);

/** A word of a command line, quoted so that splitCommand gives it back. */
export function quoteWord(w: string): string {
  return w !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'"'"'`)}'`;
}

export function joinCommand(argv: string[]): string {
  return argv.map(quoteWord).join(" ");
}

function envRows(env: string[] | undefined, imageEnv: string[] | undefined): EnvRow[] {
  const fromImage = new Set(imageEnv ?? []);
  return (env ?? []).filter((e) => !fromImage.has(e)).map((e) => {
    const i = e.indexOf("=");
    return i < 0 ? { name: e, value: "" } : { name: e.slice(0, i), value: e.slice(i + 1) };
  }).filter((e) => !PODMAN_ENV.has(e.name));
}

function portRows(bindings: Json | undefined): PortRow[] {
  const rows: PortRow[] = [];
  for (const [key, hosts] of Object.entries(bindings ?? {})) {
    const [container, proto] = key.split("/");
    for (const h of (hosts as Json[] | null) ?? [{}]) {
      rows.push({ host: String(h?.HostPort ?? ""), container, protocol: proto === "udp" ? "udp" : "tcp" });
    }
  }
  return rows;
}

function volumeRows(mounts: Json[] | undefined): VolumeRow[] {
  return (mounts ?? []).filter((m) => m.Type === "bind" || m.Type === "volume").map((m) => ({
    source: m.Type === "volume" ? String(m.Name ?? "") : String(m.Source ?? ""),
    destination: String(m.Destination ?? ""), readOnly: m.RW === false,
  }));
}

function seconds(ns: unknown, fallback: string): string {
  return typeof ns === "number" && ns > 0 ? String(Math.round(ns / 1e9)) : fallback;
}

/** A memory limit in bytes as the dialog shows it: the largest unit that holds it whole. */
function memoryOf(bytes: unknown): Pick<CreateForm, "memoryOn" | "memory" | "memoryUnit"> | Record<string, never> {
  if (typeof bytes !== "number" || bytes <= 0) return {};
  const units = Object.keys(MEMORY_UNITS).reverse() as MemoryUnit[];
  const unit = units.find((u) => bytes % MEMORY_UNITS[u] === 0) ?? "KiB";
  return { memoryOn: true, memory: String(Math.round(bytes / MEMORY_UNITS[unit])), memoryUnit: unit };
}

/** The form a clone of this container starts from (its name + "-clone", as `podman container clone`). */
export function formFromInspect(info: Json, image: Json | null, pod = "", owner = ""): Partial<CreateForm> {
  const config: Json = info.Config ?? {};
  const host: Json = info.HostConfig ?? {};
  const policy = String(host.RestartPolicy?.Name || "no") as RestartPolicy;
  const test: string[] = config.Healthcheck?.Test ?? [];
  const imageCmd: string[] = image?.Config?.Cmd ?? [];
  const cmd: string[] = config.Cmd ?? [];
  const sameCmd = cmd.length === imageCmd.length && cmd.every((w, i) => w === imageCmd[i]);
  return {
    image: String(info.ImageName || config.Image || info.Image || ""),
    name: `${String(info.Name ?? "").replace(/^\//, "")}-clone`,
    command: sameCmd ? "" : joinCommand(cmd),
    ports: portRows(host.PortBindings),
    env: envRows(config.Env, image?.Config?.Env),
    volumes: volumeRows(info.Mounts),
    restartPolicy: ["no", "on-failure", "always", "unless-stopped"].includes(policy) ? policy : "no",
    restartRetries: policy === "on-failure" && host.RestartPolicy?.MaximumRetryCount
      ? String(host.RestartPolicy.MaximumRetryCount) : "",
    // The form sends argv (CMD); a shell check (CMD-SHELL) keeps its shell: /bin/sh -c, as Podman runs it.
    healthCmd: test[0] === "CMD-SHELL" ? joinCommand(["/bin/sh", "-c", test.slice(1).join(" ")])
      : test[0] === "CMD" ? joinCommand(test.slice(1)) : "",
    healthInterval: seconds(config.Healthcheck?.Interval, "30"),
    healthRetries: String(config.Healthcheck?.Retries || 3),
    // Podman's inspect names it (none, kill, restart, stop); older ones leave it out.
    healthAction: HEALTH_ACTIONS.some(([a]) => a === config.HealthcheckOnFailureAction)
      ? config.HealthcheckOnFailureAction as HealthAction : "none",
    pod,
    owner,
    tty: Boolean(config.Tty),
    ...memoryOf(host.Memory),
    ...(typeof host.CpuShares === "number" && host.CpuShares > 0 && host.CpuShares !== 1024
      ? { cpuSharesOn: true, cpuShares: String(host.CpuShares) } : {}),
    cpus: typeof host.NanoCpus === "number" && host.NanoCpus > 0 ? String(host.NanoCpus / 1e9) : "",
  };
}
