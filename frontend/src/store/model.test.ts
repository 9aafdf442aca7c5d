import { describe, expect, it } from "vitest";
import { container, ev, snapshot, unit } from "./fixtures";
import * as M from "./model";

function loaded(seq = 10) {
  const c = container("c1", "web", { unit: "web.service", labels: { PODMAN_SYSTEMD_UNIT: "web.service" } });
  return M.snapshotArrived(M.snapshotRequested(M.initialModel()), snapshot(seq, [c], [unit("web.service")]));
}

describe("snapshots and held events", () => {
  it("holds events until the first snapshot, then applies only the newer ones", () => {
    let m = M.snapshotRequested(M.initialModel());
    // seq 9 is already in the snapshot (seq 10); seq 11 is not.
    m = M.applyEvents(m, [ev(9, "container.create", "old", { id: "c9", state: "created" })]).model;
    m = M.applyEvents(m, [ev(11, "container.create", "new", { id: "c11", state: "created" })]).model;
    expect(m.containers).toEqual({});
    expect(m.buffer).toHaveLength(2);
    m = M.snapshotArrived(m, snapshot(10, [container("c1", "web")]));
    expect(Object.keys(m.containers).sort()).toEqual(["c1", "c11"]);
    expect(m.buffer).toEqual([]);
    expect(m.loaded).toBe(true);
    expect(m.snapshotSeq).toBe(10);
    expect(m.events.map((e) => e.seq)).toEqual([9, 11]);
  });

  it("ignores events the applied snapshot already includes", () => {
    let m = loaded(10);
    m = M.applyEvents(m, [ev(10, "container.died", "web", { id: "c1", state: "exited", exit_code: 3 })]).model;
    expect(m.containers.c1.state).toBe("running");
    m = M.applyEvents(m, [ev(12, "container.died", "web", { id: "c1", state: "exited", exit_code: 3 })]).model;
    expect(m.containers.c1.state).toBe("exited");
    expect(m.containers.c1.exit_code).toBe(3);
  });

  it("keeps what was held while two snapshots are in flight", () => {
    let m = M.snapshotRequested(M.snapshotRequested(loaded(10)));
    m = M.applyEvents(m, [ev(11, "container.stop", "web", { id: "c1", state: "exited" })]).model;
    m = M.snapshotArrived(m, snapshot(10, [container("c1", "web")]));
    expect(m.containers.c1.state).toBe("exited");
    m = M.applyEvents(m, [ev(12, "container.start", "web", { id: "c1", state: "running" })]).model;
    expect(m.containers.c1.state).toBe("exited"); // still held: one more snapshot coming
    m = M.snapshotArrived(m, snapshot(10, [container("c1", "web")]));
    expect(m.containers.c1.state).toBe("running");
    expect(m.snapshotsPending).toBe(0);
    expect(m.buffer).toEqual([]);
  });

  it("applies what was held when the snapshot fails", () => {
    let m = M.snapshotRequested(loaded(10));
    m = M.applyEvents(m, [ev(11, "container.stop", "web", { id: "c1", state: "exited" })]).model;
    m = M.snapshotFailed(m);
    expect(m.containers.c1.state).toBe("exited");
    expect(m.snapshotsPending).toBe(0);
  });

  it("starts a new epoch: held events of the old numbering are dropped", () => {
    let m = M.snapshotRequested(loaded(500));
    m = M.applyEvents(m, [ev(501, "container.stop", "web", { id: "c1", state: "exited" })]).model;
    m = M.newEpoch(m);
    expect(m.buffer).toEqual([]);
    expect(m.snapshotSeq).toBe(0);
  });
});

describe("container events", () => {
  it("create adds, remove deletes, and an unknown id asks for a snapshot", () => {
    let m = loaded();
    const r = M.applyEvents(m, [ev(11, "container.create", "db",
      { id: "c2", image: "localhost/db:1", state: "created", labels: { PODMAN_SYSTEMD_UNIT: "db.service" } })]);
    m = r.model;
    expect(r.needs.snapshot).toBe(true);
    expect(m.containers.c2).toMatchObject({ name: "db", image: "localhost/db:1", state: "created", unit: "db.service" });
    const r2 = M.applyEvents(m, [ev(12, "container.remove", "db", { id: "c2", state: "removed" })]);
    expect(r2.model.containers.c2).toBeUndefined();
    expect(r2.needs.snapshot).toBe(false);
  });

  it("start sets the start time, restart counts, health and exit codes stick", () => {
    let m = loaded();
    m = M.applyEvents(m, [
      ev(11, "container.died", "web", { id: "c1", state: "exited", exit_code: 137 }),
      ev(12, "container.restart", "web", { id: "c1", state: "running", time: "2026-11-28T12:01:00Z" }),
      ev(13, "container.health_status", "web", { id: "c1", health: "unhealthy" }),
    ]).model;
    expect(m.containers.c1).toMatchObject({ state: "running", exit_code: 137, restart_count: 1,
                                            health: "unhealthy", started_at: "2026-11-28T12:01:00Z" });
  });

  it("does not touch the model it was given", () => {
    const m = loaded();
    const before = JSON.stringify(m);
    M.applyEvents(m, [ev(11, "container.stop", "web", { id: "c1", state: "exited" })]);
    expect(JSON.stringify(m)).toBe(before);
  });

  it("a rename follows the subject", () => {
    const m = M.applyEvents(loaded(), [ev(11, "container.rename", "web2", { id: "c1" })]).model;
    expect(m.containers.c1.name).toBe("web2");
  });
});

describe("unit events", () => {
  it("unit.state merges only the fields it carries", () => {
    const m = M.applyEvents(loaded(), [ev(11, "unit.state", "web.service",
      { unit: "web.service", active_state: "failed", sub_state: "failed", result: "exit-code",
        n_restarts: 4, previous: { active_state: "active" } })]).model;
    expect(m.units["web.service"]).toMatchObject({ active_state: "failed", sub_state: "failed",
      result: "exit-code", n_restarts: 4, description: "web.service" });
    expect((m.units["web.service"] as unknown as Record<string, unknown>).previous).toBeUndefined();
  });

  it("unit.new adds (and asks for details), unit.removed deletes, job.done changes nothing", () => {
    let r = M.applyEvents(loaded(), [ev(11, "unit.new", "db.service", { unit: "db.service" })]);
    expect(r.model.units["db.service"]).toBeDefined();
    expect(r.needs.snapshot).toBe(true);
    r = M.applyEvents(r.model, [ev(12, "job.done", "db.service", { unit: "db.service", result: "done" })]);
    expect(r.needs.snapshot).toBe(false);
    r = M.applyEvents(r.model, [ev(13, "unit.removed", "db.service", { unit: "db.service" })]);
    expect(r.model.units["db.service"]).toBeUndefined();
  });
});

describe("plugins and the event log", () => {
  it("plugin events change the listed plugin; an unknown one asks for the list", () => {
    let m = M.pluginsArrived(loaded(), [{ name: "auto_update", enabled: true, state: "running",
      last_error: null, failures: 0, started_at: null }]);
    let r = M.applyEvents(m, [ev(11, "bridge.plugin_failed", "auto_update", { error: "boom" })]);
    m = r.model;
    expect(m.plugins?.[0]).toMatchObject({ state: "failed", last_error: "boom", failures: 1 });
    r = M.applyEvents(m, [ev(12, "bridge.plugin_started", "other", {})]);
    expect(r.needs.plugins).toBe(true);
  });

  it("keeps at most EVENT_LOG_SIZE events, the newest", () => {
    const many = Array.from({ length: M.EVENT_LOG_SIZE + 5 }, (_, i) => ev(11 + i, "image.tag", "x", {}));
    const m = M.applyEvents(loaded(), many).model;
    expect(m.events).toHaveLength(M.EVENT_LOG_SIZE);
    expect(m.events[0].seq).toBe(16);
  });
});
