/**
 * The live events of every host of the fleet: a websocket of its own, subscribed with
 * `"fleet": true` (docs/fleet.md), resuming from the last stream seq after a reconnect.
 * Kept apart from the store, which follows this bridge's own bus.
 */
import { useEffect, useState } from "react";
import { defaultTransport, type Transport } from "../store/transport";
import type { BusEvent } from "../store/types";

export type FleetEvent = BusEvent & { host?: string };

export const KEEP = 300;

/** Append `incoming` to `events`, dropping repeats (by seq) and keeping the newest `keep`. */
export function appendEvents(events: FleetEvent[], incoming: FleetEvent[], keep = KEEP): FleetEvent[] {
  const last = events.length ? events[events.length - 1].seq : -1;
  const fresh = incoming.filter((e) => e.seq > last);
  if (!fresh.length) return events;
  return [...events, ...fresh].slice(-keep);
}

export interface FleetFeed {
  events: FleetEvent[];
  problem: string | null;
}

export function useFleetEvents(): FleetFeed {
  const [feed, setFeed] = useState<FleetFeed>({ events: [], problem: null });
  useEffect(() => {
    let closed = false;
    let ws: Transport | null = null;
    let since: number | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    const open = () => {
      const t = defaultTransport()();
      ws = t;
      t.onopen = () => t.send(JSON.stringify({ type: "auth" }));
      t.onmessage = (text) => {
        const frame = JSON.parse(text) as Record<string, unknown>;
        if (frame.type === "auth_ok") {
          const msg: Record<string, unknown> = { id: 1, type: "subscribe", topics: ["*"], fleet: true };
          if (since !== null) msg.since = since;
          t.send(JSON.stringify(msg));
        } else if (frame.type === "result" && frame.ok === false) {
          const err = frame.error as { message?: string } | undefined;
          setFeed((f) => ({ ...f, problem: err?.message ?? "the fleet's events are not available" }));
        } else if (frame.type === "result") {
          setFeed((f) => ({ ...f, problem: null }));
        } else if (frame.type === "event") {
          const ev = frame.event as FleetEvent;
          since = ev.seq;
          setFeed((f) => ({ ...f, events: appendEvents(f.events, [ev]) }));
        }
      };
      t.onclose = () => {
        if (closed) return;
        retry = setTimeout(open, 2000);
      };
    };
    open();
    return () => {
      closed = true;
      if (retry) clearTimeout(retry);
      ws?.close();
    };
  }, []);
  return feed;
}
