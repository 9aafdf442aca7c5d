/**
 * Another host's pages, through the fleet (docs/fleet.md, "The panel's host picker").
 *
 * A Transport for a Store that shows host H: it speaks to this page's own bridge (a socket
 * of its own, the same login) and rewrites what the store sends so that
 * - every method call goes to H: `fleet.call {host: H, method, params}` (`fleet.get` for a
 *   viewer, who may only read),
 * - the subscription is to the fleet's events of H only (`"fleet": true, "hosts": [H]`),
 *   their seqs the stream's, which resume as the bus's do,
 * - `bridge.status` (asked for a fresh page's history) is answered here with nothing, so
 *   the page follows H's events from now on and loads H's state with `state.get`.
 * What the bridge answers goes back to the store (same ids), with one change: an event's
 * `seq` is the stream's while `state.get`'s `seq` is H's own bus seq, so the snapshot's seq
 * is turned into the stream seq of the last event it includes (`host_seq` tells which),
 * and an event that arrives after it but is already in it is not passed on (the store
 * would otherwise apply it again, over the snapshot).
 */
import type { Transport } from "./transport";

export const ANSWERED_HERE = new Set(["bridge.status"]);

export class FleetTransport implements Transport {
  onopen: (() => void) | null = null;
  onmessage: ((text: string) => void) | null = null;
  onclose: ((problem: string | null) => void) | null = null;
  private role: string | null = null;
  /** ids of the calls of state.get in flight, and of the subscription. */
  private snapshots = new Set<number>();
  private subId: number | null = null;
  /** the stream seq the subscription started after. */
  private startSeq = 0;
  /** (stream seq, host seq) of recent events, oldest first. */
  private seen: [number, number][] = [];
  /** H's bus seq of the last snapshot: its events are in the model already. */
  private snapHostSeq = -1;
  /** why this transport closed itself (H could not be read). */
  private problem: string | null = null;

  /**
   * `owed` outlives one connection (the store makes a transport per connection): a
   * snapshot that failed is owed, and the next subscription says `reset` so that the
   * store asks for it again, even if it still shows an earlier state of H.
   */
  constructor(private inner: Transport, readonly host: string,
              private owed: { snapshot: boolean } = { snapshot: false }) {
    inner.onopen = () => this.onopen?.();
    inner.onclose = (problem) => this.onclose?.(problem ?? this.problem);
    inner.onmessage = (text) => this.receive(text);
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  close(): void {
    this.inner.close();
  }

  private receive(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.onmessage?.(text); // the store ignores what it cannot read
      return;
    }
    if (frame.type === "auth_ok") {
      this.role = typeof frame.role === "string" ? frame.role : null;
    } else if (frame.type === "event") {
      const ev = frame.event as { host?: string; seq?: number; host_seq?: number; type?: string } | undefined;
      if (ev?.host !== this.host) return; // the bridge filters already; never show another's
      if (typeof ev.seq === "number" && typeof ev.host_seq === "number") {
        if (ev.host_seq <= this.snapHostSeq) return;
        this.seen.push([ev.seq, ev.host_seq]);
        if (this.seen.length > SEEN) this.seen.splice(0, this.seen.length - SEEN);
      }
      if (ev.type === "bridge.started" && typeof ev.seq === "number") {
        // H's bridge restarted: what happened while it was away came as no event, so the
        // page reloads H's state (a reset of the subscription, as the bus would send).
        this.onmessage?.(text);
        this.onmessage?.(JSON.stringify({ type: "reset", sub: frame.sub, seq: ev.seq }));
        return;
      }
    } else if (frame.type === "result" && typeof frame.id === "number") {
      if (frame.id === this.subId && frame.ok) {
        const data = (frame.data ?? {}) as { seq?: number; reset?: boolean };
        if (typeof data.seq === "number") this.startSeq = data.seq;
        if (this.owed.snapshot && !data.reset) {
          text = JSON.stringify({ ...frame, data: { ...data, reset: true } });
        }
      } else if (this.snapshots.delete(frame.id)) {
        this.owed.snapshot = !frame.ok;
        if (!frame.ok) {
          // H is offline or NATS away: the page has nothing to show. Closing makes the
          // store connect again with its backoff, and ask for the state again then.
          const err = frame.error as { message?: string } | undefined;
          this.problem = err?.message ?? `${this.host} cannot be read`;
          this.onmessage?.(text);
          this.inner.close();
          return;
        }
        frame = { ...frame, data: this.snapshotSeen(frame.data as Record<string, unknown>) };
        text = JSON.stringify(frame);
      }
    }
    this.onmessage?.(text);
  }

  /** The snapshot with its seq in the stream's numbering (see above). */
  private snapshotSeen(snap: Record<string, unknown>): Record<string, unknown> {
    const hostSeq = typeof snap.seq === "number" ? snap.seq : 0;
    this.snapHostSeq = hostSeq;
    const r = snapshotStreamSeq(this.seen, this.startSeq, hostSeq);
    this.seen = this.seen.filter(([, h]) => h > hostSeq);
    return { ...snap, seq: r };
  }

  send(text: string): void {
    const msg = JSON.parse(text) as Record<string, unknown>;
    if (typeof msg.id === "number") {
      if (msg.type === "subscribe") {
        this.subId = msg.id;
        this.seen = [];
      } else if (msg.type === "call" && msg.method === "state.get") {
        this.snapshots.add(msg.id);
      }
    }
    const out = rewrite(msg, this.host, this.role);
    if (out.reply !== undefined) {
      const reply = out.reply;
      // As an answer from the bridge: after this call returns, as a socket's would.
      queueMicrotask(() => this.onmessage?.(JSON.stringify(reply)));
      return;
    }
    if (out.send !== undefined) this.inner.send(JSON.stringify(out.send));
  }
}

const SEEN = 5000;

/**
 * The stream seq a snapshot taken at host seq `hostSeq` stands at: the last event seen
 * that it includes, else where the subscription started. A host publishes in order, so
 * its events' stream seqs grow with their host seqs. Pure.
 */
export function snapshotStreamSeq(seen: [number, number][], startSeq: number, hostSeq: number): number {
  let at = startSeq;
  for (const [stream, host] of seen) if (host <= hostSeq && stream > at) at = stream;
  return at;
}

export interface Rewritten {
  /** what goes to the bridge; */
  send?: Record<string, unknown>;
  /** or the answer given here, at once. */
  reply?: Record<string, unknown>;
}

/** What a store's message to the bridge becomes when the store shows `host`. Pure. */
export function rewrite(msg: Record<string, unknown>, host: string, role: string | null): Rewritten {
  switch (msg.type) {
    case "subscribe":
      return { send: { ...msg, fleet: true, hosts: [host] } };
    case "call": {
      const method = String(msg.method);
      if (ANSWERED_HERE.has(method)) {
        return { reply: { id: msg.id, type: "result", ok: true, data: {} } };
      }
      return {
        send: {
          id: msg.id, type: "call", method: role === "viewer" ? "fleet.get" : "fleet.call",
          params: { host, method, params: msg.params ?? {} },
        },
      };
    }
    case "stream_input":
    case "stream_resize":
    case "stream_close":
      // No stream opens through the fleet (the host answers not-supported): nothing to send.
      return { reply: { id: msg.id, type: "result", ok: true, data: null } };
    default:
      return { send: msg };
  }
}
