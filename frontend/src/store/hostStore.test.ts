import { describe, expect, it } from "vitest";
import { pickedHost, pickedStore, pickHost } from "./hostStore";
import { FakeTransport as Fake } from "./fixtures";

describe("picking a host", () => {
  it("opens a store for another host, closes it when another is picked, and none for our own", () => {
    const made: Fake[] = [];
    const factory = () => { const t = new Fake(); made.push(t); return t; };
    pickHost("h2", "me", factory);
    expect(pickedHost()).toBe("h2");
    const first = pickedStore();
    expect(first).not.toBeNull();
    expect(made).toHaveLength(1);
    pickHost("h2", "me", factory);         // the same host again: nothing new
    expect(pickedStore()).toBe(first);
    pickHost("h3", "me", factory);
    expect(made[0].closed).toBe(true);
    expect(pickedHost()).toBe("h3");
    pickHost("me", "me", factory);         // our own host: this bridge's own pages
    expect(pickedHost()).toBeNull();
    expect(pickedStore()).toBeNull();
    expect(made[1].closed).toBe(true);
  });
});
