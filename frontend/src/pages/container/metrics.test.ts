import { describe, expect, it } from "vitest";
import { addSample, bytes, chartPath, niceCeil, readSample } from "./metrics";

describe("stats samples", () => {
  it("reads the bridge's fields and Podman's", () => {
    expect(readSample({ cpu_percent: 12.5, mem_usage: 1024, mem_limit: 4096, pids: 3 }, 1000))
      .toMatchObject({ t: 1000, cpu: 12.5, mem: 1024, memLimit: 4096, pids: 3 });
    expect(readSample({ Stats: [{ CPU: 99.1, MemUsage: 2048, MemLimit: 8192, PIDs: 2 }] }, 5))
      .toMatchObject({ cpu: 99.1, mem: 2048, memLimit: 8192, pids: 2 });
    expect(readSample({ stats: { cpu: "3.5%", mem_usage: 10 }, }, 5)).toMatchObject({ cpu: 3.5, mem: 10 });
    expect(readSample({ time: "2026-11-29T10:00:00Z", cpu_percent: 1 }, 5)?.t).toBe(Date.parse("2026-11-29T10:00:00Z"));
    expect(readSample({ nothing: true }, 5)).toBeNull();
  });

  it("keeps a bounded series", () => {
    let s: ReturnType<typeof readSample>[] = [];
    for (let i = 0; i < 10; i++) s = addSample(s as never, readSample({ cpu_percent: i }, i)!, 4);
    expect(s.map((x) => x!.cpu)).toEqual([6, 7, 8, 9]);
  });
});

describe("charts", () => {
  it("scales to a pleasant maximum and puts the newest at the right", () => {
    const p = chartPath([0, 50, 100], 100, 50, 10, 3);
    expect(p.max).toBe(100);
    expect(p.d).toBe("M0.0 50.0 L50.0 25.0 L100.0 0.0");
    expect(p.last).toBe(100);
    const few = chartPath([5], 100, 50, 10, 3);
    expect(few.max).toBe(10);
    expect(few.d).toBe("M100.0 25.0");
  });

  it("breaks the line where a value is missing", () => {
    expect(chartPath([1, null, 1], 100, 10, 1, 3).d).toBe("M0.0 0.0 M100.0 0.0");
  });

  it("rounds maxima up", () => {
    expect([0, 0.3, 7, 13, 180, 250, 900].map(niceCeil)).toEqual([1, 0.5, 10, 20, 200, 250, 1000]);
  });

  it("writes sizes in binary units", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(bytes(300 * 1024 * 1024)).toBe("300 MiB");
    expect(bytes(null)).toBe("—");
  });
});
