import { describe, expect, it } from "vitest";
import { appendEvents, type FleetEvent } from "./fleetEvents";

const ev = (seq: number, host = "h1"): FleetEvent =>
  ({ seq, id: `${host}-${seq}`, time: "", source: "podman", type: "container.died", subject: "w", data: {}, host });

describe("appendEvents", () => {
  it("keeps order, drops repeats after a resume, and keeps the newest", () => {
    let events = appendEvents([], [ev(1), ev(2, "h2")]);
    events = appendEvents(events, [ev(2, "h2"), ev(3)]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(events[1].host).toBe("h2");
    expect(appendEvents(events, [ev(4), ev(5)], 2).map((e) => e.seq)).toEqual([4, 5]);
  });
});
