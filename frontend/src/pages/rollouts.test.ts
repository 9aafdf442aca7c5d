import { describe, expect, it } from "vitest";
import { rolloutsOf, tally, waveRows } from "./rollouts";
import { shortDigest } from "./updates";

const rollout = {
  id: "20261129-100817-428677", phase: "wave", digest: "sha256:8da4241f0a5d08581455774f72b63fe4",
  hosts: { h1: "passed", h2: "updating", h3: "pending", h4: "pending" },
  waves: [["h1"], ["h2", "h3"], ["h4"]], wave: 1,
  details: { h1: { state: "passed", wave: 0, reason: "" }, h2: { state: "updating", wave: 1, reason: "" },
    h3: { state: "pending", wave: 1 }, h4: { state: "pending", wave: 2 } },
};

describe("rollouts", () => {
  it("keeps only records with an id and a phase", () => {
    expect(rolloutsOf([rollout, { id: 3 }, null, "x"])).toEqual([rollout]);
    expect(rolloutsOf({ not: "a list" })).toEqual([]);
  });

  it("shows the canary, then each wave, with which one runs", () => {
    const rows = waveRows(rollout);
    expect(rows.map((w) => [w.title, w.status, w.hosts.map((h) => `${h.name}:${h.state}`)])).toEqual([
      ["Canary", "done", ["h1:passed"]],
      ["Wave 1", "current", ["h2:updating", "h3:pending"]],
      ["Wave 2", "waiting", ["h4:pending"]],
    ]);
  });

  it("shortens digests and counts states", () => {
    expect(shortDigest(rollout.digest)).toBe("8da4241f0a5d");
    expect(shortDigest("")).toBe("—");
    expect(tally(rollout.hosts)).toBe("passed 1, pending 2, updating 1");
  });
});
