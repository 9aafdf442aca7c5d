/** A container's log lines as the Logs tab keeps them: bounded, searchable. */

export interface LogLine {
  /** 1 stdout, 2 stderr */
  fd: number;
  time: string | null;
  text: string;
  /** a running number, for React keys and for "N lines dropped" markers */
  n: number;
}

export interface LogBuffer {
  lines: LogLine[];
  /** lines that fell off the front (the buffer is bounded) or that the bridge dropped */
  dropped: number;
  next: number;
}

export const MAX_LINES = 5000;

export function emptyLog(): LogBuffer {
  return { lines: [], dropped: 0, next: 0 };
}

/** Reads one stream item: `{lines: [{fd, time, text}]}` (or a single `{fd, time, text}`). */
export function itemLines(item: Record<string, unknown>): Omit<LogLine, "n">[] {
  const raw = Array.isArray(item.lines) ? item.lines : ("text" in item || "message" in item) ? [item] : [];
  return raw.map((r: Record<string, unknown>) => ({
    fd: typeof r.fd === "number" ? r.fd : r.stream === "stderr" ? 2 : 1,
    time: typeof r.time === "string" ? r.time : null,
    text: String(r.text ?? r.message ?? ""),
  }));
}

export function appendLines(buf: LogBuffer, lines: Omit<LogLine, "n">[], max = MAX_LINES): LogBuffer {
  if (lines.length === 0) return buf;
  let next = buf.next;
  const all = buf.lines.concat(lines.map((l) => ({ ...l, n: next++ })));
  const over = Math.max(0, all.length - max);
  return { lines: over ? all.slice(over) : all, dropped: buf.dropped + over, next };
}

export function noteGap(buf: LogBuffer, dropped: number): LogBuffer {
  return { ...buf, dropped: buf.dropped + dropped };
}

/** Case-insensitive search; a query of /.../ is a regular expression (an invalid one: no match, and says so). */
export function matcher(query: string): { test: (s: string) => boolean; error: string | null } {
  const q = query.trim();
  if (!q) return { test: () => true, error: null };
  const re = /^\/(.+)\/$/.exec(q);
  if (re) {
    try {
      const r = new RegExp(re[1], "i");
      return { test: (s) => r.test(s), error: null };
    } catch (e) {
      return { test: () => false, error: (e as Error).message };
    }
  }
  const low = q.toLowerCase();
  return { test: (s) => s.toLowerCase().includes(low), error: null };
}

export function searchLines(lines: LogLine[], query: string): { shown: LogLine[]; error: string | null } {
  const m = matcher(query);
  return { shown: query.trim() ? lines.filter((l) => m.test(l.text)) : lines, error: m.error };
}

/** Splits a line around the matches of a plain query, for highlighting. */
export function highlight(text: string, query: string): { text: string; hit: boolean }[] {
  const q = query.trim().toLowerCase();
  if (!q || /^\/.+\/$/.test(q)) return [{ text, hit: false }];
  const out: { text: string; hit: boolean }[] = [];
  const low = text.toLowerCase();
  let at = 0;
  for (let i = low.indexOf(q); i >= 0; i = low.indexOf(q, at)) {
    if (i > at) out.push({ text: text.slice(at, i), hit: false });
    out.push({ text: text.slice(i, i + q.length), hit: true });
    at = i + q.length;
  }
  if (at < text.length) out.push({ text: text.slice(at), hit: false });
  return out;
}
