import { describe, expect, it } from "vitest";
import { container, ev, snapshot, unit } from "./fixtures";
import * as M from "./model";
import { containerUnits, ofOwner, ownerOf, owners } from "./selectors";

// A root bridge serving users: rows and events of a user carry `uid` and `user`.
function served() {
  const sys = container("c0", "myapp", { unit: "container-myapp.service" });
  const alice = { ...container("c1", "myapp", { unit: "container-myapp.service" }), uid: 1601, user: "alice" };
  const bob = { ...container("c2", "myapp"), uid: 1602, user: "bob" };
  const units = [unit("container-myapp.service"),
                 { ...unit("container-myapp.service"), uid: 1601, user: "alice" }];
  return M.snapshotArrived(M.snapshotRequested(M.initialModel()), snapshot(10, [sys, alice, bob], units));
}

describe("owners", () => {
  it("keeps two owners' units of one name apart, by snapshot and by event", () => {
    let m = served();
    expect(Object.keys(m.units).sort()).toEqual(["alice/container-myapp.service", "container-myapp.service"]);
    m = M.applyEvents(m, [ev(11, "unit.state", "container-myapp.service",
                             { active_state: "failed", uid: 1601, user: "alice" })]).model;
    expect(m.units["alice/container-myapp.service"].active_state).toBe("failed");
    expect(m.units["container-myapp.service"].active_state).not.toBe("failed");
    m = M.applyEvents(m, [ev(12, "unit.new", "podman.socket", { uid: 1602, user: "bob" })]).model;
    expect(m.units["bob/podman.socket"].user).toBe("bob");
    expect(m.units["bob/podman.socket"].uid).toBe(1602);
  });

  it("gives a new container its owner from the event", () => {
    let m = served();
    m = M.applyEvents(m, [ev(11, "container.create", "web", { id: "c9", state: "created", uid: 1602, user: "bob" })]).model;
    expect(m.containers.c9.user).toBe("bob");
    expect(m.containers.c9.uid).toBe(1602);
  });

  it("lists the owners and filters rows by owner", () => {
    const m = served();
    expect(owners(m)).toEqual(["alice", "bob"]);
    const all = Object.values(m.containers);
    expect(ofOwner(all, "").map((c) => c.id).sort()).toEqual(["c0", "c1", "c2"]);
    expect(ofOwner(all, "system").map((c) => c.id)).toEqual(["c0"]);
    expect(ofOwner(all, "bob").map((c) => c.id)).toEqual(["c2"]);
    expect(all.map(ownerOf).sort()).toEqual(["alice", "bob", "system"]);
  });

  it("matches a container to its unit within one owner only", () => {
    const rows = containerUnits(served());
    expect(rows.map((r) => [ownerOf(r), r.name, r.container])).toEqual([
      ["alice", "container-myapp.service", "myapp"],
      ["system", "container-myapp.service", "myapp"],
    ]);
  });

  it("reloads the snapshot when a user's manager comes or goes", () => {
    const r = M.applyEvents(served(), [ev(11, "bridge.owner_removed", "bob", { uid: 1602, user: "bob" })]);
    expect(r.needs.snapshot).toBe(true);
  });

  it("has no owners on a single-owner bridge", () => {
    const m = M.snapshotArrived(M.snapshotRequested(M.initialModel()), snapshot(1, [container("c1", "web")]));
    expect(owners(m)).toEqual([]);
  });
});
