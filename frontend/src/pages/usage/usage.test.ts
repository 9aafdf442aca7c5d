import { describe, expect, it } from "vitest";
import { cpuText, memLimitText, memText, readUsage } from "./usage";

describe("the containers list's CPU and memory", () => {
  it("reads a stats_all item by container ID", () => {
    const m = readUsage({ samples: [
      { id: "a", name: "web", cpu_percent: 12.34, mem_usage: 1.5 * 2 ** 20, mem_limit: 8 * 2 ** 30 },
      { id: "b", name: "new", cpu_percent: null, mem_usage: 2048, mem_limit: 2 ** 62 },
      { name: "no id" }, null,
    ] });
    expect([...m.keys()]).toEqual(["a", "b"]);
    expect(cpuText(m.get("a"))).toBe("12 %");
    expect(cpuText({ cpu: 3.21, mem: 0, memLimit: null })).toBe("3.2 %");
    // A first sample has no CPU figure yet: the cell says "measuring", not 0 %.
    expect(cpuText(m.get("b"))).toBeNull();
    expect(memText(m.get("b"))).toBe("2.0 KiB");
    expect(memText(m.get("a"))).toBe("1.5 MiB");
    expect(memLimitText(m.get("a"))).toBe("of 8.0 GiB");
    expect(memLimitText(m.get("b"))).toBeNull();
    expect(cpuText(undefined)).toBeNull();
    expect(readUsage({}).size).toBe(0);
  });
});
