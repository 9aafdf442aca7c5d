/** The unit generator's options as the form holds them, and as `units.generate` takes them. */

export const RESTART_POLICIES = ["no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"];

export interface GenOptions {
  container: string;
  new: boolean;
  /** "" = not given: the generator takes the container's own policy. */
  restart_policy: string;
  /** "" = not given (the generator's default, 10 s). */
  stop_timeout: string;
  container_prefix: string;
  separator: string;
  no_header: boolean;
  after: string;
  wants: string;
  requires: string;
}

export function defaultOptions(container: string): GenOptions {
  return { container, new: true, restart_policy: "", stop_timeout: "", container_prefix: "container",
           separator: "-", no_header: false, after: "", wants: "", requires: "" };
}

function list(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** Params for units.generate / units.install; options left at "not given" are left out. */
export function toParams(o: GenOptions, format: "systemd" | "quadlet"): Record<string, unknown> {
  const p: Record<string, unknown> = {
    name: o.container, format, new: o.new, no_header: o.no_header,
    container_prefix: o.container_prefix, separator: o.separator,
    after: list(o.after), wants: list(o.wants), requires: list(o.requires),
  };
  if (o.restart_policy) p.restart_policy = o.restart_policy;
  const t = o.stop_timeout.trim();
  if (t !== "" && /^\d+$/.test(t)) p.stop_timeout = Number(t);
  return p;
}
