import { describe, expect, it } from "vitest";
import { renameProblem } from "./rename";

describe("a container's new name", () => {
  it("follows Podman's rule and differs from the old one", () => {
    expect(renameProblem("web-2", "web")).toBeNull();
    expect(renameProblem("", "web")).toMatch(/needed/);
    expect(renameProblem("web", "web")).toMatch(/already/);
    expect(renameProblem("-web", "web")).toMatch(/not first/);
    expect(renameProblem("a b", "web")).toMatch(/Letters/);
  });
});
