/**
 * The host picker's state: which host of the fleet the host pages show (null: this
 * bridge's own). Another host gets a Store of its own, over a FleetTransport; it is
 * closed when another is picked. The Fleet and Rollouts pages always use this bridge.
 */
import { useSyncExternalStore } from "react";
import { FleetTransport } from "./fleetTransport";
import { setShownStore, Store } from "./store";
import { defaultTransport, type TransportFactory } from "./transport";

/** Sections about the whole fleet, never shown for one host. */
export const FLEET_SECTIONS = new Set(["fleet", "rollouts"]);

let picked: string | null = null;
let store: Store | null = null;
const listeners = new Set<() => void>();

/** Show `host`'s pages (null, or this bridge's own host: this bridge's own pages). */
export function pickHost(host: string | null, own: string | null = null,
                         transport: TransportFactory = defaultTransport()): void {
  const next = host === own ? null : host;
  if (next === picked) return;
  store?.close();
  store = null;
  picked = next;
  if (next !== null) {
    const owed = { snapshot: false };
    store = new Store(() => new FleetTransport(transport(), next, owed));
    store.start();
  }
  for (const fn of listeners) fn();
}

export function pickedHost(): string | null {
  return picked;
}

export function pickedStore(): Store | null {
  return store;
}

/**
 * Makes the pages of `section` use the picked host's store (or this bridge's, for a fleet
 * section); called by the App as it renders the section, before its page renders.
 */
export function scopeTo(section: string): void {
  setShownStore(FLEET_SECTIONS.has(section) ? null : store);
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function usePickedHost(): string | null {
  return useSyncExternalStore(subscribe, pickedHost);
}
