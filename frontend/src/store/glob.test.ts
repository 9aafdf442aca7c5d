import { describe, expect, it } from "vitest";
import { parsePatterns, topicMatches } from "./glob";

describe("topic globs (as bridge/events.py reads them)", () => {
  it.each([
    ["*", "container.died", true],
    ["**", "autoupdate.run.done", true],
    ["container.*", "container.died", true],
    ["container.*", "container", false],
    ["container.*", "containers.died", false],
    ["container.*", "image.pull", false],
    ["*.state", "unit.state", true],
    ["*.state", "unit.new", false],
    ["autoupdate.**", "autoupdate.run.done", true],
    ["autoupdate.*", "autoupdate.run.done", false],
    ["unit.?ew", "unit.new", true],
    ["unit.state", "unit.state", true],
    ["unit.state", "unit.states", false],
    ["unit.state", "xunit.state", false],
    ["job.done", "jobxdone", false],
  ])("%s vs %s -> %s", (pattern, topic, hit) => {
    expect(topicMatches([pattern], topic)).toBe(hit);
  });

  it("matches any of several patterns", () => {
    expect(topicMatches(["image.*", "unit.*"], "unit.state")).toBe(true);
    expect(topicMatches(["image.*", "unit.*"], "job.done")).toBe(false);
    expect(topicMatches([], "job.done")).toBe(false);
  });

  it("reads what a user types", () => {
    expect(parsePatterns(" container.*, unit.state  job.done,")).toEqual(
      ["container.*", "unit.state", "job.done"]);
    expect(parsePatterns("   ")).toEqual([]);
  });
});
