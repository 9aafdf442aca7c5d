import { describe, expect, it } from "vitest";
import { appendLines, emptyLog, highlight, itemLines, noteGap, searchLines } from "./logs";

describe("log buffer", () => {
  it("reads the bridge's items", () => {
    expect(itemLines({ lines: [{ fd: 2, time: "2026-11-29T10:00:00Z", text: "oops" }, { text: "plain" }] }))
      .toEqual([{ fd: 2, time: "2026-11-29T10:00:00Z", text: "oops" }, { fd: 1, time: null, text: "plain" }]);
    expect(itemLines({ fd: 1, time: null, text: "one" })).toEqual([{ fd: 1, time: null, text: "one" }]);
    expect(itemLines({ nothing: 1 })).toEqual([]);
  });

  it("is bounded, and counts what fell off", () => {
    let b = emptyLog();
    for (let i = 0; i < 12; i++) b = appendLines(b, [{ fd: 1, time: null, text: `l${i}` }], 10);
    expect(b.lines.length).toBe(10);
    expect(b.lines[0].text).toBe("l2");
    expect(b.lines[9].n).toBe(11);
    expect(b.dropped).toBe(2);
    expect(noteGap(b, 5).dropped).toBe(7);
  });

  it("searches plainly or by /regex/, and says when the regex is bad", () => {
    const b = appendLines(emptyLog(), ["GET /index", "error: disk", "Error again"].map((text) => ({ fd: 1, time: null, text })));
    expect(searchLines(b.lines, "error").shown.map((l) => l.text)).toEqual(["error: disk", "Error again"]);
    expect(searchLines(b.lines, "/^GET/").shown.map((l) => l.text)).toEqual(["GET /index"]);
    expect(searchLines(b.lines, "").shown.length).toBe(3);
    const bad = searchLines(b.lines, "/(/");
    expect(bad.shown).toEqual([]);
    expect(bad.error).toBeTruthy();
  });

  it("highlights every match of a plain query", () => {
    expect(highlight("ab AB ab", "ab")).toEqual([
      { text: "ab", hit: true }, { text: " ", hit: false }, { text: "AB", hit: true },
      { text: " ", hit: false }, { text: "ab", hit: true }]);
    expect(highlight("abc", "")).toEqual([{ text: "abc", hit: false }]);
  });
});
