import { describe, expect, it } from "vitest";
import { EARLY_LIMIT, StreamTable, type StreamEnd } from "./streams";

function recorder() {
  const items: unknown[] = [];
  const gaps: number[] = [];
  const ends: StreamEnd[] = [];
  return { items, gaps, ends,
           h: { onData: (i: unknown) => items.push(i), onGap: (n: number) => gaps.push(n),
                onEnd: (e: StreamEnd) => ends.push(e) } };
}

describe("StreamTable", () => {
  it("routes data, gaps and the end to the stream's handlers", () => {
    const t = new StreamTable();
    const a = recorder(), b = recorder();
    t.attach(1, a.h);
    t.attach(2, b.h);
    t.dispatch({ type: "data", stream: 1, data: { lines: [1] } });
    t.dispatch({ type: "gap", stream: 1, dropped: 3 });
    t.dispatch({ type: "data", stream: 2, data: { x: 1 } });
    t.dispatch({ type: "end", stream: 1, reason: "gone" });
    expect(a.items).toEqual([{ lines: [1] }]);
    expect(a.gaps).toEqual([3]);
    expect(a.ends).toEqual([{ reason: "gone" }]);
    expect(b.items).toEqual([{ x: 1 }]);
    expect(t.has(1)).toBe(false);
    expect(t.has(2)).toBe(true);
  });

  it("keeps frames that arrive before the opening result, and delivers them in order", () => {
    const t = new StreamTable();
    t.dispatch({ type: "data", stream: 7, data: { n: 1 } });
    t.dispatch({ type: "data", stream: 7, data: { n: 2 } });
    const r = recorder();
    t.attach(7, r.h);
    t.dispatch({ type: "data", stream: 7, data: { n: 3 } });
    expect(r.items).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("bounds what it keeps for a stream nobody attached", () => {
    const t = new StreamTable();
    for (let i = 0; i < EARLY_LIMIT + 50; i++) t.dispatch({ type: "data", stream: 9, data: { i } });
    const r = recorder();
    t.attach(9, r.h);
    expect(r.items.length).toBe(EARLY_LIMIT);
  });

  it("drops frames of a stream we closed, and of one that ended", () => {
    const t = new StreamTable();
    const r = recorder();
    t.attach(3, r.h);
    expect(t.forget(3)).toBe(r.h);
    t.dispatch({ type: "data", stream: 3, data: { late: true } });
    t.dispatch({ type: "end", stream: 3, reason: "closed" });
    expect(r.items).toEqual([]);
    expect(r.ends).toEqual([]);
    expect(t.forget(3)).toBeUndefined();
  });

  it("carries an end's error and extra fields", () => {
    const t = new StreamTable();
    const r = recorder();
    t.attach(4, r.h);
    t.dispatch({ type: "end", stream: 4, reason: "error", error: { code: "failed", message: "boom" }, exit_code: 2 });
    expect(r.ends).toEqual([{ reason: "error", error: { code: "failed", message: "boom" }, exit_code: 2 }]);
  });

  it("ends every stream when the connection goes", () => {
    const t = new StreamTable();
    const a = recorder(), b = recorder();
    t.attach(1, a.h);
    t.attach(2, b.h);
    t.failAll();
    expect(a.ends).toEqual([{ reason: "disconnected" }]);
    expect(b.ends).toEqual([{ reason: "disconnected" }]);
    expect(t.size).toBe(0);
  });
});
