/**
 * Streams on the websocket (docs/protocol.md, "Streams"): a follow-style call (logs, stats,
 * exec, pull progress, a journal) answers `{"stream": N, ...}` and then sends frames
 * `{"type":"data","stream":N,"data":ITEM}`, `{"type":"gap","stream":N,"dropped":K}` and one
 * `{"type":"end","stream":N,"reason":...}`. The client sends `stream_input`,
 * `stream_resize` and `stream_close` (each a message with an id, answered by a result).
 *
 * This module holds the table of open streams of one connection: pure routing, no socket.
 */

export interface StreamEnd {
  /** eof, closed (by us), gone (the container went away), error, disconnected */
  reason: string;
  error?: { code: string; message: string };
  [extra: string]: unknown;
}

export interface StreamHandlers {
  onData: (item: Record<string, unknown>) => void;
  onGap?: (dropped: number) => void;
  onEnd?: (end: StreamEnd) => void;
}

export type StreamFrame =
  | { type: "data"; stream: number; data: Record<string, unknown> }
  | { type: "gap"; stream: number; dropped: number }
  | { type: "end"; stream: number; reason?: string; [k: string]: unknown };

/** Frames of a stream whose opening result has not been read yet are kept, this many at most. */
export const EARLY_LIMIT = 512;

export class StreamTable {
  private open = new Map<number, StreamHandlers>();
  private early = new Map<number, StreamFrame[]>();
  /** streams we closed or that ended: frames still on their way for them are dropped. */
  private over = new Set<number>();

  get size(): number {
    return this.open.size;
  }

  has(id: number): boolean {
    return this.open.has(id);
  }

  /** The stream's opening result arrived: frames kept for it so far are delivered now. */
  attach(id: number, h: StreamHandlers): void {
    this.open.set(id, h);
    const kept = this.early.get(id) ?? [];
    this.early.delete(id);
    for (const f of kept) this.dispatch(f);
  }

  /** Routes a frame; true when it was a stream frame (delivered or kept). */
  dispatch(frame: StreamFrame): boolean {
    if (this.over.has(frame.stream)) return true;
    const h = this.open.get(frame.stream);
    if (!h) {
      const kept = this.early.get(frame.stream) ?? [];
      if (kept.length < EARLY_LIMIT) kept.push(frame);
      this.early.set(frame.stream, kept);
      return true;
    }
    switch (frame.type) {
      case "data":
        h.onData(frame.data ?? {});
        break;
      case "gap":
        h.onGap?.(frame.dropped);
        break;
      case "end": {
        this.open.delete(frame.stream);
        this.over.add(frame.stream);
        const { type: _t, stream: _s, ...rest } = frame;
        h.onEnd?.({ ...rest, reason: String(frame.reason ?? "eof") });
        break;
      }
    }
    return true;
  }

  /** We closed it: no more frames are wanted (the bridge's `end` is ignored). */
  forget(id: number): StreamHandlers | undefined {
    const h = this.open.get(id);
    this.open.delete(id);
    this.early.delete(id);
    this.over.add(id);
    return h;
  }

  /** The connection is gone: every stream ends. */
  failAll(reason = "disconnected"): void {
    const all = [...this.open.values()];
    this.open.clear();
    this.early.clear();
    this.over.clear();
    for (const h of all) h.onEnd?.({ reason });
  }
}
