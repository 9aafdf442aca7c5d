import { describe, expect, it } from "vitest";
import { defaultTag, pullRef, registriesOf, registryChoices, searchAnswer, searchParams } from "./search";

describe("searchAnswer", () => {
  it("reads images.search, official and starred first", () => {
    const a = searchAnswer({ term: "nginx", registries: ["docker.io"], results: [
      { index: "docker.io", name: "docker.io/bitnami/nginx", description: "Bitnami", stars: 180, official: false },
      { index: "docker.io", name: "docker.io/library/nginx", description: "Official", stars: 19397, official: true },
      { index: "docker.io", name: "docker.io/a/nginx", stars: 180 },
    ] });
    expect(a.registries).toEqual(["docker.io"]);
    expect(a.results.map((r) => r.name)).toEqual(["docker.io/library/nginx", "docker.io/a/nginx", "docker.io/bitnami/nginx"]);
    expect(a.results[1]).toMatchObject({ description: "", official: false, tag: null });
    expect(searchAnswer(null)).toEqual({ term: "", registries: [], results: [] });
  });
});

describe("registries", () => {
  it("offers the search list, then the configured registries, once each", () => {
    const r = registriesOf({ search: ["docker.io", "quay.io"], configured: [
      { location: "quay.io" }, { location: "127.0.0.1:5000", insecure: true }, { location: "bad.example", blocked: true }] });
    expect(registryChoices(r)).toEqual([
      { value: "", label: "All search registries (docker.io, quay.io)" },
      { value: "docker.io", label: "docker.io" }, { value: "quay.io", label: "quay.io" },
      { value: "127.0.0.1:5000", label: "127.0.0.1:5000" },
    ]);
    expect(registryChoices(registriesOf({}))[0].label).toBe("The host's search registries (none)");
  });
});

describe("params and references", () => {
  it("builds a search and a pull", () => {
    expect(searchParams(" alpha ", "")).toEqual({ term: "alpha", limit: 25 });
    expect(searchParams("alpha", "127.0.0.1:5000", 10)).toEqual({ term: "alpha", limit: 10, registry: "127.0.0.1:5000" });
    expect(searchParams("  ", "")).toBeNull();
    expect(searchParams("a b", "")).toBeNull();
    expect(pullRef("r/x", null)).toBe("r/x:latest");
    expect(pullRef("r/x", "v2")).toBe("r/x:v2");
    expect(defaultTag(["v1", "latest", "v2"])).toBe("latest");
    expect(defaultTag(["v1", "v2"])).toBe("v2");
    expect(defaultTag([])).toBeNull();
  });
});
