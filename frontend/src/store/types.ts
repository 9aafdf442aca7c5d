/** The shapes of the bridge's protocol (docs/protocol.md) as the panel uses them. */

export interface Port {
  host_ip?: string;
  host_port?: number | null;
  container_port?: number | null;
  protocol?: string;
}

export interface Container {
  id: string;
  name: string;
  image: string;
  image_id?: string;
  state: string;
  health: string | null;
  exit_code: number | null;
  /** ISO time, or seconds since the epoch (from Podman's list), or null. */
  started_at: string | number | null;
  created_at?: string | number | null;
  labels: Record<string, string>;
  pod?: string;
  unit: string | null;
  restart_policy: string | null;
  restart_count: number;
  ports: Port[];
  /** The owner of a rootless container (a root bridge serving users); absent: the system's. */
  uid?: number;
  user?: string;
}

export interface Unit {
  name: string;
  description: string;
  load_state: string;
  active_state: string | null;
  sub_state: string | null;
  result: string | null;
  n_restarts: number | null;
  container: string | null;
  /** The owner of a user unit (a root bridge serving users); absent: the system's. */
  uid?: number;
  user?: string;
}

export interface Pod {
  id: string;
  name: string;
  status: string;
  containers: string[];
}

export interface Image {
  id: string;
  names: string[];
  created?: string | number;
  size?: number;
}

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

export interface Plugin {
  name: string;
  enabled: boolean;
  state: string;
  last_error: string | null;
  failures: number;
  started_at: string | null;
}

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
