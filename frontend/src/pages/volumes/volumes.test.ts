import { describe, expect, it } from "vitest";
import { filterVolumes, shortName, toVolumeParams, validateVolume, volumeRows } from "./volumes";

const ANON = "c21c7405164ca84178803dab15ff4be29cbf8647d2d150d19bbf86cbbb1146b8";

describe("volumeRows", () => {
  it("reads volumes.list, named first, users sorted", () => {
    const rows = volumeRows([
      { name: ANON, driver: "local", mountpoint: "/v/a", created: "2026-11-29T13:12:30Z", labels: {}, in_use_by: [] },
      { name: "web", driver: "local", mountpoint: "/v/w", created: null, labels: { app: "x" }, in_use_by: ["z", "a"] },
      { name: "db" },
    ]);
    expect(rows.map((r) => [shortName(r.name), r.driver, r.usedBy])).toEqual([
      ["db", "local", []], ["web", "local", ["a", "z"]], [ANON.slice(0, 12), "local", []],
    ]);
    expect(volumeRows(null)).toEqual([]);
  });

  it("filters by name, driver, user and label", () => {
    const rows = volumeRows([
      { name: "web", in_use_by: ["frontend"], labels: { app: "shop" } },
      { name: "db", driver: "nfs", in_use_by: [] },
    ]);
    expect(filterVolumes(rows, "FRONT").map((r) => r.name)).toEqual(["web"]);
    expect(filterVolumes(rows, "app=shop").map((r) => r.name)).toEqual(["web"]);
    expect(filterVolumes(rows, "nfs").map((r) => r.name)).toEqual(["db"]);
    expect(filterVolumes(rows, " ").length).toBe(2);
  });
});

describe("the create form", () => {
  it("checks the name, driver and labels", () => {
    expect(validateVolume({ name: "", driver: "local", labels: [] })).toEqual({});
    expect(validateVolume({ name: "-x", driver: "local", labels: [] }).name).toMatch(/Letters/);
    expect(validateVolume({ name: "a", driver: " ", labels: [] }).driver).toBeTruthy();
    expect(validateVolume({ name: "a", driver: "local", labels: [{ key: "a=b", value: "" }] }).labels).toMatch(/not a label/);
    expect(validateVolume({ name: "a", driver: "local", labels: [{ key: "k", value: "1" }, { key: "k", value: "2" }] }).labels)
      .toMatch(/twice/);
    expect(validateVolume({ name: "a", driver: "local", labels: [{ key: "", value: "" }] })).toEqual({});
  });

  it("sends only what was given", () => {
    expect(toVolumeParams({ name: " ", driver: "", labels: [{ key: " app ", value: "db" }, { key: "", value: "" }] }))
      .toEqual({ driver: "local", labels: { app: "db" } });
    expect(toVolumeParams({ name: "data", driver: "local", labels: [] })).toEqual({ name: "data", driver: "local", labels: {} });
  });
});
