/**
 * Where we are in the bridge's event stream, and what to do after a reconnect. Pure.
 *
 * After a drop we subscribe again with `since` = the last seq seen, so the bridge replays
 * what we missed. Two things can make that wrong, and both ask for a new snapshot:
 * - the bridge no longer holds those events: the subscribe result says `reset: true`
 *   (and a `reset` frame follows);
 * - the bridge restarted and its seq numbers started over. If it is now *behind* our
 *   seq, the subscribe result's `seq` is lower than our `since`. If it is already *past*
 *   it, only the event ids tell: so we ask from one event earlier (`since` = last - 1)
 *   and check that the first event replayed is the one we saw last.
 */
import type { BusEvent } from "./types";

/** How many past events a fresh page asks for, to show some history. */
export const HISTORY = 500;

export interface ResumeBook {
  /** seq of the last event seen; null before the first subscription. */
  lastSeq: number | null;
  /** id of that event, when it was an event we saw (not a seq the bridge told us). */
  lastId: string | null;
  /** the since of the subscription in flight. */
  since: number | null;
  /** the event we expect to see replayed first. */
  verify: { seq: number; id: string } | null;
}

export function freshBook(): ResumeBook {
  return { lastSeq: null, lastId: null, since: null, verify: null };
}

export interface BridgeStatus {
  seq?: number;
  oldest_seq?: number;
}

/** The subscribe message's `since` (undefined: none) and the book to keep. */
export function planSubscribe(book: ResumeBook, status?: BridgeStatus | null):
    { since: number | undefined; book: ResumeBook } {
  if (book.lastSeq === null) {
    // A fresh page: some history if the bridge tells us its seq, else from now on.
    if (status && typeof status.seq === "number") {
      const oldest = typeof status.oldest_seq === "number" ? status.oldest_seq : 1;
      const since = Math.max(0, oldest - 1, status.seq - HISTORY);
      return { since, book: { ...book, since, verify: null } };
    }
    return { since: undefined, book: { ...book, since: null, verify: null } };
  }
  if (book.lastId !== null && book.lastSeq > 0) {
    const since = book.lastSeq - 1;
    return { since, book: { ...book, since, verify: { seq: book.lastSeq, id: book.lastId } } };
  }
  return { since: book.lastSeq, book: { ...book, since: book.lastSeq, verify: null } };
}

/** The subscribe result arrived. `reset`: reload the snapshot. */
export function subscribed(book: ResumeBook, data: { seq: number; reset?: boolean }):
    { book: ResumeBook; reset: boolean } {
  const behind = book.since !== null && data.seq < book.since;
  const fresh = book.lastSeq === null;
  if (data.reset || behind) {
    return { book: { lastSeq: data.seq, lastId: null, since: null, verify: null }, reset: true };
  }
  if (fresh) {
    // From here on we know where we are: the replayed history comes next, then live events.
    return { book: { ...book, lastSeq: book.since ?? data.seq, since: null }, reset: false };
  }
  return { book: { ...book, since: null }, reset: false };
}

export type Verdict = "apply" | "duplicate" | "reset";

/**
 * One event of the subscription. "reset": the stream is not the one we were following
 * (the caller reloads the snapshot; the event itself is new and is to be applied).
 */
export function eventSeen(book: ResumeBook, ev: BusEvent): { book: ResumeBook; verdict: Verdict } {
  if (book.verify !== null) {
    const v = book.verify;
    if (ev.seq < v.seq) return { book, verdict: "duplicate" };
    if (ev.seq === v.seq && ev.id === v.id) {
      return { book: { ...book, verify: null }, verdict: "duplicate" };
    }
    // Another event at our seq, or ours is missing: the bridge restarted.
    return { book: { lastSeq: ev.seq, lastId: ev.id, since: null, verify: null },
             verdict: "reset" };
  }
  if (book.lastSeq !== null && ev.seq <= book.lastSeq) return { book, verdict: "duplicate" };
  return { book: { ...book, lastSeq: ev.seq, lastId: ev.id }, verdict: "apply" };
}

/** The bridge dropped us (too slow) and told us where to resume. */
export function dropped(book: ResumeBook, resumeSince: number): ResumeBook {
  if (book.lastSeq === null || resumeSince < book.lastSeq) {
    return { ...book, lastSeq: resumeSince, lastId: null, verify: null };
  }
  return book;
}

/** A `reset` frame: the bridge no longer has what we asked for. */
export function resetFrame(book: ResumeBook, seq: number | undefined): ResumeBook {
  return { lastSeq: seq ?? book.lastSeq, lastId: null, since: null, verify: null };
}

/** Reconnect delay: 0.5 s doubling to 10 s, with up to 20% jitter (rand in [0,1)). */
export function backoff(attempt: number, rand: number = Math.random()): number {
  const base = Math.min(10_000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 + 0.2 * rand));
}
