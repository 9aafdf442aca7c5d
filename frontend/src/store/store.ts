/**
 * The one store: one websocket to the bridge, the live model, and the method results that
 * events invalidate. React reads it through hooks.ts; nothing else opens a socket.
 *
 * Connection life: open -> {"type":"auth"} (the session cookie) -> auth_ok -> subscribe to
 * every topic (resuming with `since` after a drop) -> `state.get` when we have no model or
 * lost our place. On close: reconnect with backoff, keep the model on screen meanwhile.
 */
import { topicMatches } from "./glob";
import * as M from "./model";
import * as R from "./resume";
import { StreamTable, type StreamFrame, type StreamHandlers } from "./streams";
import { defaultTransport, type Transport, type TransportFactory } from "./transport";
import type { BusEvent, Plugin, RpcError, ServerFrame, Snapshot } from "./types";

export type Phase = "connecting" | "online" | "offline" | "login";

export interface ConnState {
  phase: Phase;
  /** when offline: the time of the next attempt (ms since the epoch). */
  retryAt: number | null;
  /** ever been online: decides between a spinner and a "disconnected" banner. */
  wasOnline: boolean;
  version: string | null;
  message: string | null;
  /** who is logged in, and their role (viewer, operator, admin). */
  user?: string | null;
  role?: string | null;
}

export interface Resource {
  data: unknown;
  error: RpcError | null;
  loading: boolean;
  /** when the result is stale (an event matched its topics) and a refresh is queued. */
  stale: boolean;
}

export interface AppState {
  model: M.Model;
  conn: ConnState;
  resources: Record<string, Resource>;
  /** the results of the last `autoupdate.run` from this page, kept across navigation. */
  lastRun: { dryRun: boolean; time: number; results: unknown } | null;
}

export class CallError extends Error {
  code: string;
  constructor(err: RpcError) {
    super(err.message);
    this.code = err.code;
  }
}

interface Pending {
  resolve: (data: unknown) => void;
  reject: (err: CallError) => void;
}

/** An open stream: its opening result's extra fields, and what the client may send it. */
export interface Stream {
  id: number;
  head: Record<string, unknown>;
  input(data: string): void;
  resize(rows: number, cols: number): void;
  close(): void;
}

interface ResourceSpec { method: string; params: Record<string, unknown>; topics: string[]; users: number }

const REFRESH_DEBOUNCE = 400;
/** conn.message when the bridge refused a token we sent (not just "log in first"). */
export const TOKEN_REFUSED = "That token was refused";

export class Store {
  state: AppState = {
    model: M.initialModel(),
    conn: { phase: "connecting", retryAt: null, wasOnline: false, version: null, message: null },
    resources: {},
    lastRun: null,
  };
  private listeners = new Set<() => void>();
  private ws: Transport | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private sub: number | null = null;
  private book: R.ResumeBook = R.freshBook();
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private inbox: BusEvent[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  private specs = new Map<string, ResourceSpec>();
  private refreshTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private token: string | null;
  private streams = new StreamTable();
  private closed = false;

  constructor(private connect: TransportFactory, token: string | null = null) {
    this.token = token;
  }

  // -- React plumbing
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getState = (): AppState => this.state;

  private set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  private setConn(patch: Partial<ConnState>): void {
    this.set({ conn: { ...this.state.conn, ...patch } });
  }

  // -- the socket
  start(): void {
    if (this.ws || this.closed) return;
    this.clearRetry();
    this.setConn({ phase: "connecting", retryAt: null });
    const ws = this.connect();
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(
      this.token ? { type: "auth", token: this.token } : { type: "auth" }));
    ws.onmessage = (text) => {
      if (this.ws !== ws) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(text) as ServerFrame;
      } catch {
        return;
      }
      this.doFrame(frame);
    };
    ws.onclose = (problem) => {
      if (this.ws === ws) this.lost(problem);
    };
  }

  /** Closes the socket for good: a store no longer shown (another host's, hostStore.ts). */
  close(): void {
    this.closed = true;
    this.clearRetry();
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  /** Reconnect now (the banner's button). */
  retryNow(): void {
    this.attempt = 0;
    this.start();
  }

  /**
   * After a successful login the cookie is set: connect again. The token typed is kept in
   * memory (never in storage) and sent in the auth message from now on, so that the page
   * logs itself in again after a bridge restart (the bridge's sessions do not survive one).
   */
  loggedIn(token?: string): void {
    if (token) this.token = token;
    this.setConn({ message: null });
    this.retryNow();
  }

  /** Ends the session for every tab (the bridge closes their sockets too). */
  async logout(): Promise<void> {
    this.token = null;
    this.setConn({ phase: "login", message: "You have logged out" });
    try {
      await fetch("/logout", { method: "POST", credentials: "same-origin",
                               headers: { "Content-Type": "application/json" }, body: "{}" });
    } finally {
      this.ws?.close();
    }
  }

  private lost(problem: string | null = null): void {
    this.ws = null;
    this.sub = null;
    for (const p of this.pending.values()) {
      p.reject(new CallError({ code: "disconnected", message: "the connection to the bridge was lost" }));
    }
    this.pending.clear();
    this.streams.failAll();
    this.flush();
    if (this.state.conn.phase === "login") return;
    const delay = R.backoff(this.attempt++);
    this.setConn({ phase: "offline", retryAt: Date.now() + delay, message: problem });
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.start(); }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private send(obj: Record<string, unknown>): Promise<unknown> {
    const ws = this.ws;
    if (!ws || !ws.isOpen || this.state.conn.phase !== "online") {
      return Promise.reject(new CallError({ code: "disconnected", message: "not connected to the bridge" }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...obj, id }));
    });
  }

  /** Runs a bridge method; rejects with a CallError (code, message). */
  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    return this.send({ type: "call", method, params: params ?? {} }) as Promise<T>;
  }

  /**
   * Opens a stream (a follow-style method): resolves once the bridge answered, rejects with
   * its error. The handlers get the items, gaps and the one end (also "disconnected").
   */
  async stream(method: string, params: Record<string, unknown>, h: StreamHandlers): Promise<Stream> {
    const data = (await this.call<Record<string, unknown>>(method, params)) ?? {};
    const id = Number(data.stream);
    const quiet = (msg: Record<string, unknown>) => { void this.send(msg).catch(() => undefined); };
    if (!Number.isInteger(id)) {
      // Answered at once (logs or stats without follow): one item, then the end.
      h.onData(data);
      h.onEnd?.({ reason: "eof" });
      return { id: -1, head: data, input: () => undefined, resize: () => undefined, close: () => undefined };
    }
    this.streams.attach(id, h);
    return {
      id,
      head: data,
      input: (text) => quiet({ type: "stream_input", stream: id, data: text }),
      resize: (rows, cols) => quiet({ type: "stream_resize", stream: id, rows, cols }),
      close: () => {
        if (this.streams.forget(id)) quiet({ type: "stream_close", stream: id });
      },
    };
  }

  private doFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "data":
      case "gap":
      case "end":
        this.streams.dispatch(frame as StreamFrame);
        break;
      case "auth_ok":
        this.attempt = 0;
        this.setConn({ phase: "online", wasOnline: true, version: frame.version ?? null,
                       message: null, retryAt: null, user: frame.name ?? null,
                       role: frame.role ?? null });
        void this.sync();
        break;
      case "auth_invalid":
        this.setConn({ phase: "login",
                       message: this.token ? TOKEN_REFUSED : frame.message ?? "login required" });
        this.token = null;
        break;
      case "auth_expired":
        // Logged out (here or in another tab), idle too long, or the token was revoked.
        this.token = null;
        this.setConn({ phase: "login", message: `Your session ended (${frame.message ?? "log in again"})` });
        break;
      case "result": {
        const p = this.pending.get(frame.id);
        if (!p) break;
        this.pending.delete(frame.id);
        if (frame.ok) p.resolve(frame.data);
        else p.reject(new CallError(frame.error));
        break;
      }
      case "event":
        if (frame.sub === this.sub) this.doEvent(frame.event);
        break;
      case "reset":
        if (frame.sub === this.sub) {
          this.book = R.resetFrame(this.book, frame.seq);
          this.requestSnapshot(true);
        }
        break;
      case "dropped":
        if (frame.sub === this.sub) this.book = R.dropped(this.book, frame.resume_since);
        // the bridge closes the socket next; lost() reconnects
        this.attempt = 0;
        break;
      default:
        break;
    }
  }

  /** After auth: subscribe (resuming where we were), then the snapshot if we need one. */
  private async sync(): Promise<void> {
    try {
      let status: R.BridgeStatus | null = null;
      if (this.book.lastSeq === null) {
        status = await this.call<R.BridgeStatus>("bridge.status").catch(() => null);
      }
      const plan = R.planSubscribe(this.book, status);
      this.book = plan.book;
      const id = this.nextId; // the id send() is about to use is the subscription's id
      this.sub = id;
      const msg: Record<string, unknown> = { type: "subscribe", topics: ["*"] };
      if (plan.since !== undefined) msg.since = plan.since;
      const data = (await this.send(msg)) as { seq: number; reset?: boolean };
      const r = R.subscribed(this.book, data);
      this.book = r.book;
      const model = this.state.model;
      if (r.reset || !model.loaded) this.requestSnapshot(true);
      void this.loadPlugins();
      for (const key of this.specs.keys()) this.fetchResource(key);
    } catch {
      // the connection went away meanwhile: lost() is already reconnecting
    }
  }

  private doEvent(ev: BusEvent): void {
    const r = R.eventSeen(this.book, ev);
    this.book = r.book;
    if (r.verdict === "duplicate") return;
    if (r.verdict === "reset") {
      this.flush();
      this.set({ model: M.newEpoch(this.state.model) });
      this.requestSnapshot(true);
    }
    this.inbox.push(ev);
    if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), 30);
  }

  /** Applies the events received since the last flush, as one change. */
  private flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.inbox.length === 0) return;
    const events = this.inbox;
    this.inbox = [];
    const r = M.applyEvents(this.state.model, events);
    this.set({ model: r.model });
    if (r.needs.snapshot) this.requestSnapshot(false);
    if (r.needs.plugins) void this.loadPlugins();
    this.invalidate(events);
  }

  /** now: at once (the model is wrong); else debounced (some details are missing). */
  private requestSnapshot(now: boolean): void {
    if (this.snapshotTimer !== null) {
      if (!now) return;
      clearTimeout(this.snapshotTimer);
    }
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      void this.loadSnapshot();
    }, now ? 0 : 500);
  }

  private async loadSnapshot(): Promise<void> {
    this.flush();
    this.set({ model: M.snapshotRequested(this.state.model) });
    try {
      const snap = await this.call<Snapshot>("state.get");
      this.flush();
      this.set({ model: M.snapshotArrived(this.state.model, snap) });
    } catch {
      this.flush();
      this.set({ model: M.snapshotFailed(this.state.model) });
    }
  }

  private async loadPlugins(): Promise<void> {
    try {
      const plugins = await this.call<Plugin[]>("plugins.list");
      this.set({ model: M.pluginsArrived(this.state.model, plugins) });
    } catch {
      // shown as "not available" by the page while plugins stays null
    }
  }

  // -- results of methods that events invalidate (autoupdate.status, history, ...)
  static key(method: string, params: Record<string, unknown> = {}): string {
    return method + " " + JSON.stringify(params);
  }

  /** A page uses a method's result; it is fetched now and again when `topics` fire. */
  useResource(method: string, params: Record<string, unknown>, topics: string[]): () => void {
    const key = Store.key(method, params);
    const spec = this.specs.get(key);
    if (spec) {
      spec.users++;
    } else {
      this.specs.set(key, { method, params, topics, users: 1 });
    }
    if (!this.state.resources[key] || this.state.resources[key].stale || !spec) {
      this.fetchResource(key);
    }
    return () => {
      const s = this.specs.get(key);
      if (s && --s.users <= 0) this.specs.delete(key);
    };
  }

  refreshResource(method: string, params: Record<string, unknown> = {}): void {
    this.fetchResource(Store.key(method, params));
  }

  private setResource(key: string, patch: Partial<Resource>): void {
    const old = this.state.resources[key] ?? { data: null, error: null, loading: false, stale: false };
    this.set({ resources: { ...this.state.resources, [key]: { ...old, ...patch } } });
  }

  private fetchResource(key: string): void {
    const spec = this.specs.get(key);
    if (!spec || this.state.conn.phase !== "online") return;
    this.setResource(key, { loading: true });
    this.call(spec.method, spec.params).then(
      (data) => this.setResource(key, { data, error: null, loading: false, stale: false }),
      (err: CallError) => {
        if (err.code === "disconnected") this.setResource(key, { loading: false, stale: true });
        else this.setResource(key, { error: { code: err.code, message: err.message }, loading: false, stale: false });
      });
  }

  private invalidate(events: BusEvent[]): void {
    for (const [key, spec] of this.specs) {
      if (this.refreshTimers.has(key)) continue;
      // A source lost or found its peer (Podman's service came back): every result may
      // have changed, and one that failed meanwhile should be asked for again.
      if (!events.some((e) => e.type === "bridge.source" || topicMatches(spec.topics, e.type))) continue;
      this.refreshTimers.set(key, setTimeout(() => {
        this.refreshTimers.delete(key);
        this.fetchResource(key);
      }, REFRESH_DEBOUNCE));
    }
  }

  setLastRun(run: AppState["lastRun"]): void {
    this.set({ lastRun: run });
  }
}

/** A token in the address (dev server, or a link) is used once and taken out of it. */
function takeToken(): string | null {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  if (token !== null) {
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }
  return token;
}

let instance: Store | null = null;
/** The store of the host the pages show, when it is another host (hostStore.ts). */
let shown: Store | null = null;

/** The store of this page's own bridge: its login, its connection, the fleet's pages. */
export function getHomeStore(): Store {
  if (instance === null) {
    instance = new Store(defaultTransport(), takeToken());
    instance.start();
  }
  return instance;
}

/** The store the host's pages use: this bridge's, or the host picked (hostStore.ts). */
export function getStore(): Store {
  return shown ?? getHomeStore();
}

export function setShownStore(store: Store | null): void {
  shown = store;
}
