import { describe, expect, it } from "vitest";
import { commitProblems } from "./commit";

describe("commitProblems", () => {
  it("asks for a name Podman takes", () => {
    expect(commitProblems("", "", "")).toEqual({ repo: "The new image needs a name" });
    expect(commitProblems("My App", "", "").repo).toMatch(/Lower-case/);
    expect(commitProblems("registry.example:5000/team/app", "v1.2_3", "sh -c 'echo hi'")).toEqual({});
  });
  it("checks the tag and the command line", () => {
    expect(commitProblems("app", ".bad", "").tag).toMatch(/not first/);
    expect(commitProblems("app", "", "echo 'oops").command).toMatch(/unclosed/);
  });
});
