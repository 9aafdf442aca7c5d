import { describe, expect, it } from "vitest";
import { FleetTransport, rewrite, snapshotStreamSeq } from "./fleetTransport";
import { FakeTransport } from "./fixtures";

/** A FleetTransport showing h2 over a fake socket (`inner`), and what it passes on (`got`). */
function fleet(owed?: { snapshot: boolean }) {
  const inner = new FakeTransport();
  const t = new FleetTransport(inner, "h2", owed);
  const got: Record<string, unknown>[] = [];
  t.onmessage = (text) => got.push(JSON.parse(text) as Record<string, unknown>);
  return { inner, t, got };
}

describe("rewrite", () => {
  it("sends a call to the host through fleet.call, or fleet.get for a viewer", () => {
    const msg = { id: 4, type: "call", method: "containers.start", params: { name: "web" } };
    expect(rewrite(msg, "h2", "operator").send).toEqual({
      id: 4, type: "call", method: "fleet.call",
      params: { host: "h2", method: "containers.start", params: { name: "web" } },
    });
    expect(rewrite({ id: 5, type: "call", method: "state.get" }, "h2", "viewer").send).toEqual({
      id: 5, type: "call", method: "fleet.get", params: { host: "h2", method: "state.get", params: {} },
    });
  });

  it("subscribes to the fleet's events of that host only, keeping since", () => {
    expect(rewrite({ id: 1, type: "subscribe", topics: ["*"], since: 77 }, "h2", null).send).toEqual({
      id: 1, type: "subscribe", topics: ["*"], since: 77, fleet: true, hosts: ["h2"],
    });
  });

  it("answers bridge.status itself (no history: the host's events from now on)", () => {
    expect(rewrite({ id: 2, type: "call", method: "bridge.status" }, "h2", null)).toEqual({
      reply: { id: 2, type: "result", ok: true, data: {} },
    });
  });

  it("passes auth and unsubscribe unchanged", () => {
    expect(rewrite({ type: "auth" }, "h2", null).send).toEqual({ type: "auth" });
    expect(rewrite({ id: 9, type: "unsubscribe", sub: 1 }, "h2", null).send).toEqual(
      { id: 9, type: "unsubscribe", sub: 1 });
  });
});

describe("FleetTransport", () => {
  it("learns the role from auth_ok and drops another host's events", async () => {
    const { inner, t, got } = fleet();
    inner.frame({ type: "auth_ok", role: "viewer" });
    t.send(JSON.stringify({ id: 3, type: "call", method: "containers.list" }));
    expect(inner.sent[0].method).toBe("fleet.get");
    inner.frame({ type: "event", sub: 1, event: { seq: 5, host: "h3" } });
    inner.frame({ type: "event", sub: 1, event: { seq: 6, host: "h2" } });
    t.send(JSON.stringify({ id: 4, type: "call", method: "bridge.status" }));
    await Promise.resolve();
    expect(got.map((f) => f.type)).toEqual(["auth_ok", "event", "result"]);
    expect((got[1].event as { seq: number }).seq).toBe(6);
    expect(got[2]).toEqual({ id: 4, type: "result", ok: true, data: {} });
  });
});

describe("the snapshot's seq, in the stream's numbering", () => {
  it("stands at the last event it includes", () => {
    const seen: [number, number][] = [[10, 1000], [12, 1001], [15, 1005]];
    expect(snapshotStreamSeq(seen, 7, 1001)).toBe(12);
    expect(snapshotStreamSeq(seen, 7, 999)).toBe(7);
    expect(snapshotStreamSeq(seen, 7, 2000)).toBe(15);
  });

  it("is rewritten in state.get's answer, and events it includes are not passed on", async () => {
    const { inner, t, got } = fleet();
    t.send(JSON.stringify({ id: 1, type: "subscribe", topics: ["*"] }));
    inner.frame({ id: 1, type: "result", ok: true, data: { seq: 40 } });
    t.send(JSON.stringify({ id: 2, type: "call", method: "state.get" }));
    const event = (seq: number, hostSeq: number) => JSON.stringify(
      { type: "event", sub: 1, event: { seq, host_seq: hostSeq, host: "h2", type: "container.start" } });
    inner.onmessage?.(event(41, 900));
    inner.onmessage?.(event(43, 901));
    inner.frame({ id: 2, type: "result", ok: true, data: { seq: 901, containers: [] } });
    inner.onmessage?.(event(44, 901));   // late, already in the snapshot
    inner.onmessage?.(event(46, 902));
    const snap = got.find((f) => f.id === 2);
    expect((snap?.data as { seq: number }).seq).toBe(43);
    const seqs = got.filter((f) => f.type === "event").map((f) => (f.event as { seq: number }).seq);
    expect(seqs).toEqual([41, 43, 46]);
  });
});

describe("a host that cannot be read", () => {
  it("closes the transport with the reason, so that the store tries again", () => {
    const { inner, t } = fleet();
    let closed: string | null | undefined;
    t.onclose = (problem) => { closed = problem; };
    t.send(JSON.stringify({ id: 2, type: "call", method: "state.get" }));
    inner.frame({ id: 2, type: "result", ok: false,
                  error: { code: "unreachable", message: "host h2 does not answer" } });
    expect(closed).toBe("host h2 does not answer");
  });
});

describe("a host whose bridge restarted", () => {
  it("is reloaded: its bridge.started is followed by a reset of the subscription", () => {
    const { inner, got } = fleet();
    inner.frame({ type: "event", sub: 1,
                  event: { seq: 50, host_seq: 7000, host: "h2", type: "bridge.started" } });
    expect(got.map((f) => f.type)).toEqual(["event", "reset"]);
    expect(got[1]).toEqual({ type: "reset", sub: 1, seq: 50 });
  });
});

describe("a snapshot that failed", () => {
  it("is owed: the next connection's subscription says reset", () => {
    const owed = { snapshot: false };
    const { inner: first, t: t1 } = fleet(owed);
    t1.send(JSON.stringify({ id: 2, type: "call", method: "state.get" }));
    first.frame({ id: 2, type: "result", ok: false, error: { code: "unreachable", message: "x" } });
    expect(owed.snapshot).toBe(true);
    const { inner: second, t: t2, got } = fleet(owed);
    t2.send(JSON.stringify({ id: 5, type: "subscribe", topics: ["*"], since: 9 }));
    second.frame({ id: 5, type: "result", ok: true, data: { seq: 9, reset: false } });
    expect(got[0]).toEqual({ id: 5, type: "result", ok: true, data: { seq: 9, reset: true } });
    t2.send(JSON.stringify({ id: 6, type: "call", method: "state.get" }));
    second.frame({ id: 6, type: "result", ok: true, data: { seq: 1, containers: [] } });
    expect(owed.snapshot).toBe(false);
  });
});
