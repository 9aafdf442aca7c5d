/** Hash routes (#/containers/web): the bridge serves one page at "/". */
import { useEffect, useState } from "react";

export const SECTIONS = [
  { id: "containers", title: "Containers" },
  { id: "images", title: "Images" },
  { id: "pods", title: "Pods" },
  { id: "volumes", title: "Volumes" },
  { id: "units", title: "Units" },
  { id: "updates", title: "Updates" },
  { id: "events", title: "Events" },
  { id: "plugins", title: "Plugins" },
  { id: "audit", title: "Audit" },
  { id: "fleet", title: "Fleet" },
  { id: "rollouts", title: "Rollouts" },
] as const;
export type Section = (typeof SECTIONS)[number]["id"];

export interface Route {
  section: Section;
  /** the rest of the path, decoded (#/containers/web -> ["web"]). */
  args: string[];
}

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const section = SECTIONS.find((s) => s.id === parts[0])?.id ?? "containers";
  return { section, args: section === parts[0] ? parts.slice(1) : [] };
}

export function href(section: Section, ...args: string[]): string {
  return "#/" + [section, ...args.map(encodeURIComponent)].join("/");
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
