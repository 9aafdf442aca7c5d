import { describe, expect, it } from "vitest";
import { channelProblem, explainProblem } from "./transport";

const PATHS = ["/run/podbridge/podbridge.sock"];

describe("channelProblem", () => {
  it("keeps the C bridge's codes (Cockpit 287)", () => {
    expect(channelProblem({ problem: "not-found" })).toBe("not-found");
    expect(channelProblem({ problem: "access-denied" })).toBe("access-denied");
    expect(channelProblem({})).toBeNull();
    expect(channelProblem(undefined)).toBeNull();
  });

  it("reads the Python bridge's 'terminated' by its OS error (Cockpit 337)", () => {
    expect(channelProblem({ problem: "terminated",
      message: "[Errno 2] No such file or directory" })).toBe("not-found");
    expect(channelProblem({ problem: "terminated",
      message: "[Errno 13] Permission denied" })).toBe("access-denied");
  });

  it("leaves any other termination as it is", () => {
    expect(channelProblem({ problem: "terminated", message: "[Errno 104] Connection reset" }))
      .toBe("terminated");
    expect(channelProblem({ problem: "terminated" })).toBe("terminated");
    expect(explainProblem("terminated", PATHS))
      .toBe("The connection to podbridge failed: terminated");
  });

  it("says how to start a bridge where none listens, whichever bridge said so", () => {
    const text = explainProblem(channelProblem({ problem: "terminated",
      message: "[Errno 2] No such file or directory" }), PATHS);
    expect(text).toContain("podbridge serve --listen unix:/run/podbridge/podbridge.sock");
  });
});
