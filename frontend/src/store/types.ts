/** The shapes of the bridge's protocol (docs/protocol.md) as the panel uses them. */

import type {
  ContainerRecord,
  ImageRecord,
  PluginRecord,
  PodRecord,
  UnitRecord,
} from "../generated/contracts";

// The records are the bridge's contracts (bridge/state.py, bridge/plugin.py), generated
// into ../generated/contracts.ts by the panel's build: the panel never restates them.
export type Container = ContainerRecord;
export type Unit = UnitRecord;
export type Pod = PodRecord;
export type Image = ImageRecord;

export interface Snapshot {
  seq: number;
  containers: Container[];
  pods: Pod[];
  images: Image[];
  units: Unit[];
}

export interface BusEvent {
  seq: number;
  id: string;
  time: string;
  source: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

export type Plugin = PluginRecord;

export interface RpcError {
  code: string;
  message: string;
}

/** Frames the bridge sends. */
export type ServerFrame =
  | { type: "auth_ok"; version?: string; name?: string; role?: string }
  | { type: "auth_invalid"; message?: string }
  | { type: "auth_expired"; message?: string }
  | { type: "result"; id: number; ok: true; data: unknown }
  | { type: "result"; id: number; ok: false; error: RpcError }
  | { type: "event"; sub: number; event: BusEvent }
  | { type: "reset"; sub: number; seq?: number }
  | { type: "dropped"; sub: number; resume_since: number }
  | { type: "error"; error: RpcError }
  | { type: "data"; stream: number; data: Record<string, unknown> }
  | { type: "gap"; stream: number; dropped: number }
  | { type: "end"; stream: number; reason?: string };
