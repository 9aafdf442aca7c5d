import { describe, expect, it } from "vitest";
import { Store } from "./store";
import type { StreamEnd } from "./streams";
import { FakeTransport } from "./fixtures";

async function online(): Promise<{ store: Store; t: FakeTransport }> {
  const t = new FakeTransport();
  const store = new Store(() => t);
  store.start();
  t.onopen?.();
  t.frame({ type: "auth_ok", version: "test" });
  return { store, t };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("Store.stream", () => {
  it("opens a stream, routes its frames, sends input/resize/close", async () => {
    const { store, t } = await online();
    const items: unknown[] = [];
    const ends: StreamEnd[] = [];
    const opening = store.stream("containers.exec", { name: "web" },
      { onData: (i) => items.push(i), onEnd: (e) => ends.push(e) });
    const call = t.last("call", "containers.exec");
    expect(call.params).toEqual({ name: "web" });
    t.frame({ id: call.id, type: "result", ok: true, data: { stream: call.id, exec_id: "abc" } });
    const s = await opening;
    expect(s.head.exec_id).toBe("abc");
    t.frame({ type: "data", stream: call.id, data: { output: "$ " } });
    expect(items).toEqual([{ output: "$ " }]);
    s.input("ls\r");
    expect(t.last("stream_input")).toMatchObject({ stream: call.id, data: "ls\r" });
    s.resize(30, 100);
    expect(t.last("stream_resize")).toMatchObject({ stream: call.id, rows: 30, cols: 100 });
    s.close();
    expect(t.last("stream_close")).toMatchObject({ stream: call.id });
    t.frame({ type: "data", stream: call.id, data: { output: "late" } });
    expect(items.length).toBe(1);
    expect(ends).toEqual([]);
  });

  it("treats an answer without a stream as one item and an end", async () => {
    const { store, t } = await online();
    const items: unknown[] = [];
    const ends: StreamEnd[] = [];
    const opening = store.stream("containers.logs", { name: "web", follow: false },
      { onData: (i) => items.push(i), onEnd: (e) => ends.push(e) });
    const call = t.last("call", "containers.logs");
    t.frame({ id: call.id, type: "result", ok: true, data: { lines: [{ fd: 1, time: null, text: "x" }] } });
    await opening;
    expect(items).toEqual([{ lines: [{ fd: 1, time: null, text: "x" }] }]);
    expect(ends).toEqual([{ reason: "eof" }]);
  });

  it("rejects with the bridge's error, and ends open streams when the connection drops", async () => {
    const { store, t } = await online();
    const failing = store.stream("containers.exec", { name: "nope" }, { onData: () => undefined });
    const bad = t.last("call", "containers.exec");
    t.frame({ id: bad.id, type: "result", ok: false, error: { code: "not-found", message: "no such container" } });
    await expect(failing).rejects.toMatchObject({ code: "not-found" });

    const ends: StreamEnd[] = [];
    const opening = store.stream("containers.stats", { name: "web", follow: true },
      { onData: () => undefined, onEnd: (e) => ends.push(e) });
    const call = t.last("call", "containers.stats");
    t.frame({ id: call.id, type: "result", ok: true, data: { stream: call.id } });
    await opening;
    t.close();
    await tick();
    expect(ends).toEqual([{ reason: "disconnected" }]);
  });
});
