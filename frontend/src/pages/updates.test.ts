import { describe, expect, it } from "vitest";
import { describeRun, localTime, pendingRows, resultsOf, shortDigest } from "./updates";

describe("auto-update answers", () => {
  it("reads Podman's rows and the documented results alike", () => {
    const podman = { run: "r1", rows: [{ Unit: "web.service", ContainerName: "web", ContainerID: "abc",
      Image: "localhost/web:1", Policy: "registry", Updated: "pending", Reason: "" }], errors: [] };
    const documented = { results: [{ unit: "web.service", container_name: "web", image: "localhost/web:1",
      policy: "registry", updated: "pending", reason: null }] };
    for (const data of [podman, documented]) {
      expect(resultsOf(data)).toEqual([expect.objectContaining({ unit: "web.service", container_name: "web",
        image: "localhost/web:1", policy: "registry", updated: "pending" })]);
    }
    expect(resultsOf(null)).toEqual([]);
    expect(resultsOf({ rows: "nope" })).toEqual([]);
  });

  it("pending: the status's list plus the last dry run's pending rows, once each", () => {
    const lastRun = { dryRun: true, results: [
      { unit: "a.service", container_name: "a", updated: "pending" },
      { unit: "b.service", container_name: "b", updated: "false" }] };
    const rows = pendingRows({ pending: [{ unit: "a.service", container_name: "a" }, "c"] }, lastRun);
    expect(rows.map((r) => [r.unit, r.container_name ?? r.container, r.updated])).toEqual([
      ["a.service", "a", "pending"], [undefined, "c", "pending"]]);
    expect(pendingRows(null, { ...lastRun, dryRun: false })).toEqual([]);
  });

  it("describes the last run from the plugin's record", () => {
    expect(describeRun(null)).toBe("—");
    expect(describeRun({ started: null, finished: "2026-11-28T12:25:59.743954Z", dry_run: true, errors: [],
                         results: { failed: 1 }, pending: [] }))
      .toMatch(/\(dry run\) — failed: 1$/);
    expect(shortDigest("sha256:5f453cd0656e01a142422f")).toBe("5f453cd0656e");
    expect(shortDigest("")).toBe("—");
    expect([localTime(null), localTime("0001-01-01T00:00:00Z"), localTime("soon")]).toEqual(["—", "—", "soon"]);
  });
});
