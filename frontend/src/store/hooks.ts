/** React's view of the store. */
import { useEffect, useState, useSyncExternalStore } from "react";
import { getHomeStore, getStore, Store, type AppState, type Resource } from "./store";

/** The state of the store the page shows: this bridge's, or the host picked (hostStore.ts). */
export function useAppState(): AppState {
  const store = getStore();
  return useSyncExternalStore(store.subscribe, store.getState);
}

/** The state of this page's own bridge: its connection and login. */
export function useHomeState(): AppState {
  const store = getHomeStore();
  return useSyncExternalStore(store.subscribe, store.getState);
}

const EMPTY: Resource = { data: null, error: null, loading: true, stale: false };

/**
 * The result of a method the bus does not keep current by itself; fetched while a page
 * shows it, and fetched again (debounced) when an event matching `topics` arrives, and
 * every `everyMs` when given (for what changes on other hosts, which raises no event here).
 */
export function useResource<T>(method: string, params: Record<string, unknown>, topics: string[],
                               everyMs = 0): Resource & { data: T | null; refresh: () => void } {
  const store = getStore();
  const key = Store.key(method, params);
  const topicsKey = topics.join(",");
  useEffect(() => {
    const off = store.useResource(method, params, topicsKey.split(","));
    const t = everyMs ? setInterval(() => store.refreshResource(method, params), everyMs) : undefined;
    return () => { off(); clearInterval(t); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, topicsKey, everyMs]);
  const state = useAppState();
  const r = state.resources[key] ?? EMPTY;
  return { ...r, data: r.data as T | null, refresh: () => store.refreshResource(method, params) };
}

/** Re-renders every `ms` (uptimes, countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * `useResource` of one method for each owner a root bridge serves (the user's name; its
 * params carry `owner`): the results by owner, each fetched again on `topics`.
 */
export function useOwnedResources<T>(method: string, owners: readonly string[],
                                     topics: string[]): Record<string, Resource & { data: T | null }> {
  const store = getStore();
  const key = owners.join("\n");
  const topicsKey = topics.join(",");
  useEffect(() => {
    const offs = (key ? key.split("\n") : []).map((owner) => store.useResource(method, { owner }, topicsKey.split(",")));
    return () => offs.forEach((off) => off());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [method, key, topicsKey]);
  const state = useAppState();
  return Object.fromEntries(owners.map((owner) => {
    const r = state.resources[Store.key(method, { owner })] ?? EMPTY;
    return [owner, { ...r, data: r.data as T | null }];
  }));
}
