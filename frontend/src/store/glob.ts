/**
 * Topic globs, matched exactly as the bridge matches them (bridge/events.py):
 * `*` within one dotted segment, `?` one character of a segment, `**` across segments,
 * a bare `*` or `**` matches every topic.
 */

const cache = new Map<string, RegExp>();

function escape(c: string): string {
  return /[\\^$.|?*+()[\]{}]/.test(c) ? "\\" + c : c;
}

export function compileGlob(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  if (pattern === "*" || pattern === "**") {
    re = /^[\s\S]*$/;
  } else {
    let out = "";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (pattern.startsWith("**", i)) {
        out += "[\\s\\S]*";
        i++;
      } else if (c === "*") {
        out += "[^.]*";
      } else if (c === "?") {
        out += "[^.]";
      } else {
        out += escape(c);
      }
    }
    re = new RegExp("^" + out + "$");
  }
  if (cache.size < 1024) cache.set(pattern, re);
  return re;
}

export function topicMatches(patterns: readonly string[], topic: string): boolean {
  return patterns.some((p) => compileGlob(p).test(topic));
}

/** Splits what a user typed ("container.*, unit.state") into patterns; empty means all. */
export function parsePatterns(text: string): string[] {
  return text.split(/[\s,]+/).filter((p) => p.length > 0);
}
