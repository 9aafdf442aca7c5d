import { describe, expect, it } from "vitest";
import { DARK_CLASS, followSystemTheme } from "./theme";

describe("followSystemTheme", () => {
  it("sets the dark class while the system prefers dark, and follows changes", () => {
    const classes = new Set<string>();
    const root = { classList: { toggle: (c: string, on: boolean) => { if (on) classes.add(c); else classes.delete(c); return on; } } };
    let listener: ((e: { matches: boolean }) => void) | null = null;
    const media = { matches: true, addEventListener: (_t: string, fn: (e: { matches: boolean }) => void) => { listener = fn; } };
    followSystemTheme(root as never, media as never);
    expect(classes.has(DARK_CLASS)).toBe(true);
    listener!({ matches: false });
    expect(classes.has(DARK_CLASS)).toBe(false);
    listener!({ matches: true });
    expect(classes.has(DARK_CLASS)).toBe(true);
  });
});
