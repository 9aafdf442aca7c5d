/** Test helpers: events and snapshots shaped like the bridge's, and a transport to it. */
import type { Transport } from "./transport";
import type { BusEvent, Container, Snapshot, Unit } from "./types";

let n = 0;

export function ev(seq: number, type: string, subject: string,
                   data: Record<string, unknown> = {}): BusEvent {
  n++;
  return { seq, id: `ev-${seq}-${n}`, time: "2026-11-28T12:00:00.123456789Z",
           source: type.startsWith("unit.") ? "systemd" : "podman", type, subject, data };
}

export function container(id: string, name: string, extra: Partial<Container> = {}): Container {
  return { id, name, image: "localhost/test:v1", image_id: "sha", state: "running",
           health: null, exit_code: null, started_at: "2026-11-28T11:00:00Z", created_at: null,
           labels: {}, pod: "", unit: null, restart_policy: "no", restart_count: 0, ports: [],
           ...extra };
}

export function unit(name: string, extra: Partial<Unit> = {}): Unit {
  return { name, description: name, load_state: "loaded", active_state: "active",
           sub_state: "running", result: "success", n_restarts: 0, container: null, ...extra };
}

export function snapshot(seq: number, containers: Container[] = [], units: Unit[] = []): Snapshot {
  return { seq, containers, units, pods: [], images: [] };
}

/** A transport that keeps what is sent to it; `frame` plays the bridge's side. */
export class FakeTransport implements Transport {
  onopen: (() => void) | null = null;
  onmessage: ((text: string) => void) | null = null;
  onclose: ((problem: string | null) => void) | null = null;
  isOpen = true;
  closed = false;
  sent: Record<string, unknown>[] = [];
  send(text: string): void { this.sent.push(JSON.parse(text) as Record<string, unknown>); }
  close(): void { this.isOpen = false; this.closed = true; this.onclose?.(null); }
  frame(obj: Record<string, unknown>): void { this.onmessage?.(JSON.stringify(obj)); }
  last(type: string, method?: string): Record<string, unknown> {
    return [...this.sent].reverse().find((m) => m.type === type && (!method || m.method === method))!;
  }
}
