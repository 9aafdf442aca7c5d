/** CPU and memory samples from `containers.stats`, kept as a bounded series for the charts. */

export interface Sample {
  /** ms since the epoch (the time the page received it, when the item has none) */
  t: number;
  /** percent of one CPU (100 = one core busy), as Podman reports it */
  cpu: number | null;
  mem: number | null;
  memLimit: number | null;
  pids: number | null;
  netIn: number | null;
  netOut: number | null;
}

export const MAX_SAMPLES = 120;

function num(...vals: unknown[]): number | null {
  for (const v of vals) {
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v.replace(/%$/, "")))) {
      return Number(v.replace(/%$/, ""));
    }
  }
  return null;
}

/**
 * One stats item into a sample. Reads the bridge's snake_case fields and, failing those,
 * Podman's own (`CPU`, `MemUsage`, ... as in libpod's stats stream, possibly under `Stats[0]`).
 */
export function readSample(item: Record<string, unknown>, now: number): Sample | null {
  let s = item;
  if (item.stats && typeof item.stats === "object" && !Array.isArray(item.stats)) s = item.stats as Record<string, unknown>;
  for (const key of ["Stats", "stats"]) {
    const arr = item[key];
    if (Array.isArray(arr) && arr.length) s = arr[0] as Record<string, unknown>;
  }
  const cpu = num(s.cpu_percent, s.cpu, s.CPU, s.CPUPerc);
  const mem = num(s.mem_usage, s.memory_usage, s.MemUsage);
  if (cpu === null && mem === null) return null;
  const time = typeof s.time === "string" ? Date.parse(s.time) : num(s.time);
  return {
    t: time !== null && Number.isFinite(time) ? (time < 1e12 ? time * 1000 : time) : now,
    cpu, mem,
    memLimit: num(s.mem_limit, s.memory_limit, s.MemLimit),
    pids: num(s.pids, s.PIDs),
    netIn: num(s.net_in, s.net_input, s.NetInput),
    netOut: num(s.net_out, s.net_output, s.NetOutput),
  };
}

export function addSample(series: Sample[], s: Sample, max = MAX_SAMPLES): Sample[] {
  const out = series.length >= max ? series.slice(series.length - max + 1) : series.slice();
  out.push(s);
  return out;
}

export interface ChartPath {
  /** an SVG path ("M x y L x y ...") in a width x height box */
  d: string;
  max: number;
  last: number | null;
}

/**
 * A line through the values, newest at the right, the vertical scale from 0 to the larger
 * of `floor` and the biggest value (rounded up to a pleasant step).
 */
export function chartPath(values: (number | null)[], width: number, height: number, floor: number,
                          slots = MAX_SAMPLES): ChartPath {
  const seen = values.filter((v): v is number => v !== null);
  const max = niceCeil(Math.max(floor, ...seen));
  const step = width / Math.max(1, slots - 1);
  const x0 = width - step * (values.length - 1);
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    const x = x0 + i * step;
    const y = height - (Math.min(v, max) / max) * height;
    d += `${pen ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)} `;
    pen = true;
  });
  return { d: d.trim(), max, last: seen.length ? seen[seen.length - 1] : null };
}

export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
