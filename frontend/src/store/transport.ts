/**
 * How the store reaches the bridge. The protocol is the same text frames either way:
 *
 * - standalone (the bridge serves the page): a WebSocket to /ws on the page's own origin;
 * - inside Cockpit (the page is a Cockpit package): a Cockpit channel of payload `stream`
 *   to the bridge's unix socket, with the websocket spoken over it by wsframes.ts.
 *   Cockpit's own login, administrative access (superuser "try") and TLS apply, and no
 *   second port is opened. The bridge decides what the connecting cockpit-bridge process
 *   may do by its uid (SO_PEERCRED).
 */

import {
  decodeText, encodeFrame, FrameReader, handshakeRequest, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT,
  randomKey, textFrame,
} from "./wsframes";

export interface Transport {
  /** Called once the bridge can be written to. */
  onopen: (() => void) | null;
  onmessage: ((text: string) => void) | null;
  /** Called once, when the transport is gone (or could not be opened); why, if known. */
  onclose: ((problem: string | null) => void) | null;
  readonly isOpen: boolean;
  send(text: string): void;
  close(): void;
}

export type TransportFactory = () => Transport;

export class WebSocketTransport implements Transport {
  onopen: (() => void) | null = null;
  onmessage: ((text: string) => void) | null = null;
  onclose: ((problem: string | null) => void) | null = null;
  private ws: WebSocket;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.onopen = () => this.onopen?.();
    this.ws.onmessage = (msg) => this.onmessage?.(String(msg.data));
    this.ws.onclose = () => this.onclose?.(null);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  close(): void {
    this.ws.close();
  }
}

/** The part of cockpit.js this page uses (base1/cockpit.js, loaded by the package page). */
export interface CockpitChannel {
  /** text, or bytes (a Uint8Array) on a binary channel. */
  send(data: string | Uint8Array): void;
  close(options?: unknown): void;
  addEventListener(type: "ready", fn: () => void): void;
  addEventListener(type: "message", fn: (ev: unknown, data: string | Uint8Array) => void): void;
  addEventListener(type: "close", fn: (ev: unknown, options: ChannelClose) => void): void;
}

/** What a channel's close message carries (the problem code, and the bridge's text). */
export interface ChannelClose {
  problem?: string;
  message?: string;
}

export interface Cockpit {
  channel(options: Record<string, unknown>): CockpitChannel;
  user?: () => Promise<{ id: number }>;
}

/** The sockets a Cockpit page tries, in order: the system bridge's, then the user's own. */
export function cockpitSockets(uid: number | null): string[] {
  const paths = ["/run/podbridge/podbridge.sock"];
  if (uid !== null && uid !== 0) paths.push(`/run/user/${uid}/podbridge/podbridge.sock`);
  return paths;
}

/**
 * The close problem of a stream channel to a unix socket, as Cockpit 287's C bridge names
 * it: "not-found" (no socket there, or nobody listening) and "access-denied". Cockpit's
 * Python bridge (Debian 13's 337) says "not-found" only for a refused connection and
 * "terminated" for every other failure to connect, with the OS error as the message
 * ("[Errno 2] No such file or directory", "[Errno 13] Permission denied").
 */
export function channelProblem(options: ChannelClose | null | undefined): string | null {
  const problem = options?.problem ?? null;
  const message = options?.message ?? "";
  if (problem === "terminated") {
    if (/\[Errno 2\]|No such file or directory/.test(message)) return "not-found";
    if (/\[Errno 13\]|Permission denied/.test(message)) return "access-denied";
  }
  return problem;
}

/** What a Cockpit channel's close problem means to a user of the page. */
export function explainProblem(problem: string | null, paths: string[]): string {
  switch (problem) {
    case "not-found":
      return `No podbridge listens on ${paths.join(" or ")}: start it with ` +
        `podbridge serve --listen unix:${paths[0]}`;
    case "access-denied":
      return "podbridge's socket is not open to this user: turn on administrative access " +
        "in Cockpit, or run a bridge of your own";
    case null:
    case "":
      return "The connection to podbridge was lost";
    default:
      return `The connection to podbridge failed: ${problem}`;
  }
}

export class CockpitTransport implements Transport {
  onopen: (() => void) | null = null;
  onmessage: ((text: string) => void) | null = null;
  onclose: ((problem: string | null) => void) | null = null;
  private channel: CockpitChannel | null = null;
  private reader = new FrameReader();
  private open = false;
  private closed = false;
  private index = 0;
  private refused = false;

  constructor(private cockpit: Cockpit, private paths: string[]) {
    this.connect();
  }

  /** Tries the sockets in order; the first that opens is used. */
  private connect(): void {
    const path = this.paths[this.index];
    const system = this.index === 0;
    const ch = this.cockpit.channel({
      payload: "stream", unix: path, binary: true,
      // Through the root bridge when the user has administrative access, else as the user.
      ...(system ? { superuser: "try" } : {}),
    });
    this.channel = ch;
    this.reader = new FrameReader();
    ch.addEventListener("ready", () => {
      if (this.channel === ch) ch.send(handshakeRequest("/ws", randomKey()));
    });
    ch.addEventListener("message", (_ev, data) => {
      if (this.channel === ch && typeof data !== "string") this.doData(data);
    });
    ch.addEventListener("close", (_ev, options) => {
      if (this.channel !== ch || this.closed) return;
      let problem = channelProblem(options);
      // Refused by the system socket and none of the user's: the refusal is the news.
      if (!this.open && (problem === "access-denied" || this.refused)) {
        this.refused = true;
        problem = "access-denied";
      }
      if (!this.open && this.index + 1 < this.paths.length) {
        this.index++;
        this.connect();
        return;
      }
      this.finish(problem ? explainProblem(problem, this.paths) : null);
    });
  }

  private doData(data: Uint8Array): void {
    let got;
    try {
      got = this.reader.feed(data);
    } catch (err) {
      this.channel?.close();
      this.finish(`podbridge refused the connection: ${String((err as Error).message)}`);
      return;
    }
    if (got.opened) {
      this.open = true;
      this.onopen?.();
    }
    for (const frame of got.messages) {
      if (this.closed) return;
      if (frame.opcode === OP_TEXT) {
        this.onmessage?.(decodeText(frame.payload));
      } else if (frame.opcode === OP_PING) {
        this.channel?.send(encodeFrame(OP_PONG, frame.payload));
      } else if (frame.opcode === OP_CLOSE) {
        this.channel?.close();
        this.finish(null);
      }
    }
  }

  private finish(problem: string | null): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.channel = null;
    this.onclose?.(problem);
  }

  get isOpen(): boolean {
    return this.open;
  }

  send(text: string): void {
    this.channel?.send(textFrame(text));
  }

  close(): void {
    const ch = this.channel;
    if (ch === null) return;
    ch.close();
    this.finish(null);
  }
}

declare global {
  interface Window {
    cockpit?: Cockpit;
  }
}

/** The transport for this page: Cockpit's when cockpit.js is loaded, else a WebSocket. */
export function defaultTransport(): TransportFactory {
  const cockpit = window.cockpit;
  if (cockpit) {
    // The user's own socket is tried once Cockpit has said who the user is.
    let uid: number | null = null;
    cockpit.user?.().then((u) => { uid = u.id; }, () => undefined);
    return () => new CockpitTransport(cockpit, cockpitSockets(uid));
  }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/ws`;
  return () => new WebSocketTransport(url);
}

export function insideCockpit(): boolean {
  return window.cockpit !== undefined;
}
