import { describe, expect, it } from "vitest";
import { ev } from "./fixtures";
import * as R from "./resume";

/** A book that has followed the stream up to seq `last`. */
function following(last: number) {
  let b = R.subscribed(R.planSubscribe(R.freshBook(), { seq: 0, oldest_seq: 1 }).book, { seq: 0 }).book;
  let lastEv = ev(1, "container.start", "web", { id: "c1" });
  for (let s = 1; s <= last; s++) {
    lastEv = ev(s, "container.start", "web", { id: "c1" });
    b = R.eventSeen(b, lastEv).book;
  }
  return { book: b, lastEv };
}

describe("first subscription", () => {
  it("asks for recent history when the bridge says where it is", () => {
    expect(R.planSubscribe(R.freshBook(), { seq: 2000, oldest_seq: 1 }).since).toBe(2000 - R.HISTORY);
    expect(R.planSubscribe(R.freshBook(), { seq: 20, oldest_seq: 1 }).since).toBe(0);
    expect(R.planSubscribe(R.freshBook(), { seq: 20000, oldest_seq: 19900 }).since).toBe(19899);
    expect(R.planSubscribe(R.freshBook(), null).since).toBeUndefined();
  });

  it("then takes the replayed events once", () => {
    const p = R.planSubscribe(R.freshBook(), { seq: 3, oldest_seq: 1 });
    const s = R.subscribed(p.book, { seq: 3 });
    expect(s.reset).toBe(false);
    let b = s.book;
    const e1 = ev(1, "unit.state", "a.service");
    let r = R.eventSeen(b, e1);
    expect(r.verdict).toBe("apply");
    b = r.book;
    r = R.eventSeen(b, e1);
    expect(r.verdict).toBe("duplicate");
  });

  it("without since starts at the bridge's seq", () => {
    const s = R.subscribed(R.planSubscribe(R.freshBook(), null).book, { seq: 42 });
    expect(s.book.lastSeq).toBe(42);
    expect(R.eventSeen(s.book, ev(42, "x.y", "z")).verdict).toBe("duplicate");
    expect(R.eventSeen(s.book, ev(43, "x.y", "z")).verdict).toBe("apply");
  });
});

describe("resuming after a drop", () => {
  it("asks from one before the last event and checks it is the same event", () => {
    const { book, lastEv } = following(10);
    const p = R.planSubscribe(book);
    expect(p.since).toBe(9);
    const s = R.subscribed(p.book, { seq: 9 });
    expect(s.reset).toBe(false);
    let r = R.eventSeen(s.book, lastEv);
    expect(r.verdict).toBe("duplicate");
    r = R.eventSeen(r.book, ev(11, "container.died", "web"));
    expect(r.verdict).toBe("apply");
    expect(r.book.lastSeq).toBe(11);
  });

  it("misses nothing and doubles nothing across a replay", () => {
    const { book, lastEv } = following(5);
    let b = R.subscribed(R.planSubscribe(book).book, { seq: 4 }).book;
    const seen: number[] = [];
    for (const e of [lastEv, ev(6, "a.b", "x"), ev(7, "a.b", "x"), ev(7, "a.b", "x"), ev(8, "a.b", "x")]) {
      const r = R.eventSeen(b, e);
      b = r.book;
      if (r.verdict === "apply") seen.push(e.seq);
    }
    expect(seen).toEqual([6, 7, 8]);
  });

  it("a bridge now behind our seq (restarted) means reset", () => {
    const { book } = following(10);
    const s = R.subscribed(R.planSubscribe(book).book, { seq: 2 });
    expect(s.reset).toBe(true);
    expect(s.book.lastSeq).toBe(2);
    expect(R.eventSeen(s.book, ev(3, "a.b", "x")).verdict).toBe("apply");
  });

  it("a bridge already past our seq with other events (restarted) means reset", () => {
    const { book } = following(10);
    const s = R.subscribed(R.planSubscribe(book).book, { seq: 9 });
    expect(s.reset).toBe(false);
    const r = R.eventSeen(s.book, ev(10, "unit.state", "other.service"));
    expect(r.verdict).toBe("reset");
    expect(r.book.lastSeq).toBe(10);
    expect(R.eventSeen(r.book, ev(11, "a.b", "x")).verdict).toBe("apply");
  });

  it("the bridge's reset (since older than its ring) means reset", () => {
    const { book } = following(10);
    const s = R.subscribed(R.planSubscribe(book).book, { seq: 90000, reset: true });
    expect(s.reset).toBe(true);
    expect(s.book.lastSeq).toBe(90000);
    const b = R.resetFrame(s.book, 90000);
    expect(R.eventSeen(b, ev(90001, "a.b", "x")).verdict).toBe("apply");
  });

  it("a drop for a slow client resumes from the seq the bridge names", () => {
    const { book } = following(10);
    const b = R.dropped(book, 8);
    const p = R.planSubscribe(b);
    expect(p.since).toBe(8);
    expect(p.book.verify).toBeNull();
    const s = R.subscribed(p.book, { seq: 8 });
    expect(R.eventSeen(s.book, ev(9, "a.b", "x")).verdict).toBe("apply");
    // a resume hint at or past what we saw changes nothing
    expect(R.dropped(book, 12)).toBe(book);
  });
});

describe("backoff", () => {
  it("doubles from half a second to ten seconds, with bounded jitter", () => {
    expect(R.backoff(0, 0)).toBe(500);
    expect(R.backoff(1, 0)).toBe(1000);
    expect(R.backoff(3, 0)).toBe(4000);
    expect(R.backoff(10, 0)).toBe(10000);
    expect(R.backoff(10, 0.999)).toBeLessThanOrEqual(12000);
  });
});
