/** The pull dialog's registry search, its pure parts: `images.search` and `images.registries` read. */
import { str } from "../read";

export interface SearchResult {
  index: string;
  name: string;
  description: string;
  stars: number;
  official: boolean;
  automated: boolean;
  tag: string | null;
}

export interface SearchAnswer { term: string; registries: string[]; results: SearchResult[] }

export interface Registries { search: string[]; configured: { location: string; blocked: boolean }[] }

export function searchAnswer(data: unknown): SearchAnswer {
  const d = (data ?? {}) as Record<string, unknown>;
  const results = (Array.isArray(d.results) ? d.results : []).map((x) => {
    const r = (x ?? {}) as Record<string, unknown>;
    return { index: str(r.index), name: str(r.name), description: str(r.description),
             stars: typeof r.stars === "number" ? r.stars : 0, official: r.official === true,
             automated: r.automated === true, tag: str(r.tag) || null };
  });
  return { term: str(d.term), registries: Array.isArray(d.registries) ? d.registries.map(String) : [],
           results: sortResults(results) };
}

/** Official ones first, then by stars, then by name (a registry without a search API gives neither). */
export function sortResults(rows: SearchResult[]): SearchResult[] {
  return rows.slice().sort((a, b) => Number(b.official) - Number(a.official) || b.stars - a.stars
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function registriesOf(data: unknown): Registries {
  const d = (data ?? {}) as Record<string, unknown>;
  const configured = (Array.isArray(d.configured) ? d.configured : []).map((x) => {
    const r = (x ?? {}) as Record<string, unknown>;
    return { location: str(r.location), blocked: r.blocked === true };
  }).filter((r) => r.location);
  return { search: Array.isArray(d.search) ? d.search.map(String) : [], configured };
}

/**
 * The "in" choices: "" (what the host searches for a short name: its
 * unqualified-search-registries), each of those, then each registry registries.conf
 * configures (not blocked), once each.
 */
export function registryChoices(r: Registries): { value: string; label: string }[] {
  const all = r.search.length ? `All search registries (${r.search.join(", ")})` : "The host's search registries (none)";
  const seen = new Set<string>();
  const out = [{ value: "", label: all }];
  for (const loc of [...r.search, ...r.configured.filter((c) => !c.blocked).map((c) => c.location)]) {
    if (seen.has(loc)) continue;
    seen.add(loc);
    out.push({ value: loc, label: loc });
  }
  return out;
}

export function searchParams(term: string, registry: string, limit = 25): Record<string, unknown> | null {
  const t = term.trim();
  if (!t || /\s/.test(t)) return null;
  return { term: t, limit, ...(registry ? { registry } : {}) };
}

/** What to pull for a result and a tag. */
export function pullRef(name: string, tag: string | null): string {
  return `${name}:${tag || "latest"}`;
}

/** The tag to offer first: latest when the repository has it, else the last listed. */
export function defaultTag(tags: string[]): string | null {
  if (tags.includes("latest")) return "latest";
  return tags.length ? tags[tags.length - 1] : null;
}
