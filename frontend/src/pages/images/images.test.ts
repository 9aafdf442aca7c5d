import { describe, expect, it } from "vitest";
import { displayName, imageFacts, imageRows, pullStart, pullStep } from "./images";

describe("imageRows", () => {
  it("says which containers use each image, by id or name", () => {
    const rows = imageRows([
      { id: "sha256:aaaaaaaaaaaa1111", names: ["localhost/podbridge/httpd:v1"], size: 2048 },
      { Id: "bbbbbbbbbbbb2222", Names: ["localhost/podbridge/sleep:latest"], Size: 10 },
      { id: "cccccccccccc3333", names: [] },
    ], [
      { name: "web", image: "localhost/podbridge/httpd:v1", image_id: "aaaaaaaaaaaa1111" },
      { name: "web2", image: "podbridge/httpd:v1" },
      { name: "z", image: "localhost/podbridge/sleep:latest" },
      { name: "old", image: "cccccccccccc" },
    ]);
    expect(rows.map((r) => [displayName(r), r.usedBy, r.dangling])).toEqual([
      ["localhost/podbridge/httpd:v1", ["web", "web2"], false],
      ["localhost/podbridge/sleep:latest", ["z"], false],
      ["<none> cccccccccccc", ["old"], true],
    ]);
    expect(rows[1].size).toBe(10);
  });

  it("takes the bridge's in_use_by and dangling when it sends them", () => {
    const [r] = imageRows([{ id: "x", names: ["a"], in_use_by: ["b", "a"], dangling: false }], [{ name: "zzz", image: "a" }]);
    expect(r.usedBy).toEqual(["a", "b"]);
  });

  it("reads an object with an images list, and nothing from nonsense", () => {
    expect(imageRows({ images: [{ id: "x", names: ["a"] }] }, []).length).toBe(1);
    expect(imageRows(null, [])).toEqual([]);
  });
});

describe("pull progress", () => {
  it("moves by steps when there are no byte counts, and ends at 100", () => {
    let s = pullStart();
    const seen: (number | null)[] = [];
    for (const line of ["Trying to pull r/x:1...", "Getting image source signatures", "Copying blob sha256:1",
                        "Copying blob sha256:2", "Copying config sha256:3", "Writing manifest to image destination"]) {
      s = pullStep(s, { stream: line + "\n" });
      seen.push(s.percent);
    }
    expect(seen).toEqual([5, 10, 30, 40, 80, 90]);
    expect(s.shown).toEqual([0, 5, 10, 30, 40, 80, 90]);
    s = pullStep(s, { images: ["sha256:abc"], id: "sha256:abc" });
    expect(s).toMatchObject({ percent: 100, done: true, imageId: "sha256:abc", error: null });
    expect(s.lines.length).toBe(6);
  });

  it("uses byte counts across blobs when it has them", () => {
    let s = pullStep(pullStart(), { id: "b1", progress: { current: 50, total: 100 } });
    s = pullStep(s, { id: "b2", progressDetail: { current: 0, total: 100 } });
    expect(s.percent).toBe(25);
    s = pullStep(s, { id: "b2", progress: { current: 100, total: 100 } });
    expect(s.percent).toBe(75);
  });

  it("reads the bridge's progress frames and its final {id, reference}", () => {
    let s = pullStep(pullStart(), { progress: "Trying to pull localhost:5000/x:1...\n" });
    s = pullStep(s, { progress: "Copying blob sha256:1\nCopying config sha256:2\n" });
    expect(s.percent).toBe(80);
    expect(s.lines).toEqual(["Trying to pull localhost:5000/x:1...", "Copying blob sha256:1", "Copying config sha256:2"]);
    s = pullStep(s, { id: "abc", reference: "localhost:5000/x:1" });
    expect(s).toMatchObject({ done: true, percent: 100, imageId: "abc" });
  });

  it("keeps the error", () => {
    const s = pullStep(pullStart(), { error: "manifest unknown" });
    expect(s.error).toBe("manifest unknown");
    expect(s.done).toBe(false);
    expect(pullStep(pullStart(), { error: { code: "failed", message: "nope" } }).error).toBe("nope");
  });
});

describe("imageFacts", () => {
  it("reads command, entrypoint and ports from Podman's inspect", () => {
    expect(imageFacts({ Config: { Cmd: ["httpd", "-f", "-h", "/www root"], Entrypoint: ["/bin/sh"],
                                  ExposedPorts: { "8080/tcp": {}, "53/udp": {} } } }))
      .toEqual({ command: 'httpd -f -h "/www root"', entrypoint: "/bin/sh", ports: ["53/udp", "8080/tcp"] });
    expect(imageFacts(null)).toEqual({ command: "", entrypoint: "", ports: [] });
  });
});
