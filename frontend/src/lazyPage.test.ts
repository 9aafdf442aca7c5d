import { describe, expect, it } from "vitest";
import { lazyPage } from "./lazyPage";

// React.lazy's payload: call its _init with _payload, as React does, until it resolves.
async function resolve(c: unknown): Promise<unknown> {
  const l = c as { _init: (p: unknown) => unknown; _payload: unknown };
  for (;;) {
    try {
      return l._init(l._payload);
    } catch (thrown) {
      if (thrown instanceof Promise) { await thrown.catch(() => undefined); continue; }
      throw thrown;
    }
  }
}

describe("lazyPage", () => {
  it("asks again when a chunk fails to load, then gives the named export", async () => {
    let calls = 0;
    const Page = () => null;
    const c = lazyPage(async () => {
      if (++calls < 3) throw new Error("Unable to preload CSS");
      return { Page };
    }, "Page", 3, 1);
    expect(await resolve(c)).toBe(Page);
    expect(calls).toBe(3);
  });

  it("gives up after its tries", async () => {
    let calls = 0;
    const c = lazyPage(async (): Promise<{ Page: () => null }> => { calls++; throw new Error("gone"); }, "Page", 2, 1);
    await expect(resolve(c)).rejects.toThrow("gone");
    expect(calls).toBe(2);
  });
});
