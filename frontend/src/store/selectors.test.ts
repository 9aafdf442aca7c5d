import { describe, expect, it } from "vitest";
import { container, ev, snapshot, unit } from "./fixtures";
import * as M from "./model";
import * as S from "./selectors";

describe("selectors", () => {
  const web = container("c1", "web", { unit: "web.service" });
  const db = container("c2", "db", { unit: "db.service" });
  const m = M.snapshotArrived(M.initialModel(), snapshot(1, [web, db, container("c3", "tmp")],
    [unit("web.service"), unit("sshd.service")]));

  it("units that run containers, including ones the bridge does not track", () => {
    const rows = S.containerUnits(m);
    expect(rows.map((u) => [u.name, u.container, !!u.missing])).toEqual([
      ["db.service", "db", true], ["web.service", "web", false]]);
    expect(S.containerUnits(m, true).map((u) => u.name)).toContain("sshd.service");
  });

  it("a container's events: its own by id, its unit's, and plugins' about it", () => {
    const events = [
      ev(2, "container.died", "web", { id: "c1" }),
      ev(3, "container.died", "db", { id: "c2" }),
      ev(4, "unit.state", "web.service", { unit: "web.service" }),
      ev(5, "autoupdate.updated", "web.service", { unit: "web.service", container: "web" }),
      ev(6, "restart.scheduled", "web", { container: "web" }),
      ev(7, "job.done", "db.service", { unit: "db.service" }),
    ];
    expect(S.eventsOfContainer(events, web).map((e) => e.seq)).toEqual([2, 4, 5, 6]);
  });

  it("filters events by topic globs and subject", () => {
    const events = [ev(1, "container.died", "web"), ev(2, "unit.state", "web.service"),
                    ev(3, "container.start", "db")];
    expect(S.filterEvents(events, { patterns: ["container.*"], subject: "" }).map((e) => e.seq)).toEqual([1, 3]);
    expect(S.filterEvents(events, { patterns: [], subject: "web" }).map((e) => e.seq)).toEqual([1, 2]);
    expect(S.filterEvents(events, { patterns: [], subject: "web" + "*" }).map((e) => e.seq)).toEqual([1, 2]);
    expect(S.filterEvents(events, { patterns: [], subject: "*.service" }).map((e) => e.seq)).toEqual([2]);
    expect(S.filterEvents(events, { patterns: ["unit.*"], subject: "db" })).toEqual([]);
  });

  it("times from Podman (epoch seconds, nanosecond ISO) and uptimes", () => {
    expect(S.toMillis(1700000000)).toBe(1700000000000);
    expect(S.toMillis("2026-11-28T12:00:00.123456789Z")).toBe(Date.parse("2026-11-28T12:00:00.123Z"));
    expect(S.toMillis(null)).toBeNull();
    expect(S.toMillis("0001-01-01T00:00:00Z")).not.toBeNull();
    expect(S.formatDuration(59_000)).toBe("59s");
    expect(S.formatDuration(3_725_000)).toBe("1h 2m");
    expect(S.formatDuration(3 * 86_400_000 + 3_600_000)).toBe("3d 1h");
    const started = Date.parse("2026-11-28T11:00:00Z");
    expect(S.uptime(web, started + 90_000)).toBe("1m 30s");
    expect(S.uptime({ ...web, state: "exited" }, started + 90_000)).toBe("");
  });
});
