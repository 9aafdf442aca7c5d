import { describe, expect, it } from "vitest";
import { emptyForm, isLocalImage, splitCommand, toCreateParams, validate, type CreateForm } from "./createOptions";

function form(patch: Partial<CreateForm>): CreateForm {
  return { ...emptyForm("localhost/podbridge/httpd:v1"), ...patch };
}

describe("splitCommand", () => {
  it("splits words as a shell does, without expanding", () => {
    expect(splitCommand(`sh -c 'echo "hi there"; sleep 1'`)).toEqual(["sh", "-c", `echo "hi there"; sleep 1`]);
    expect(splitCommand(`a\\ b "c\\"d" ''`)).toEqual(["a b", 'c"d', ""]);
    expect(splitCommand("   ")).toEqual([]);
    expect(() => splitCommand("echo 'oops")).toThrow(/unclosed/);
  });
});

describe("validate", () => {
  it("accepts a plain form", () => {
    expect(validate(form({}))).toEqual({});
  });

  it("names each bad field", () => {
    const e = validate(form({
      image: "", name: "-x", command: "sh -c 'x",
      ports: [{ host: "99999", container: "80", protocol: "tcp" }, { host: "", container: "x", protocol: "udp" }],
      env: [{ name: "1BAD", value: "" }],
      volumes: [{ source: "/srv", destination: "relative", readOnly: false }],
      healthCmd: "true", healthInterval: "soon", healthRetries: "0",
    }));
    expect(Object.keys(e).sort()).toEqual(["command", "env-0", "healthInterval", "healthRetries", "image", "name",
                                           "port-0", "port-1", "volume-0"]);
  });

  it("refuses a host port given twice", () => {
    const row = { host: "8080", container: "80", protocol: "tcp" as const };
    expect(validate(form({ ports: [row, { ...row, container: "81" }] })).ports).toMatch(/twice/);
    expect(validate(form({ ports: [row, { ...row, protocol: "udp" }] })).ports).toBeUndefined();
    expect(validate(form({ ports: [{ ...row, host: "" }] }))).toEqual({});
    expect(validate(form({ ports: [{ ...row, host: "0" }] }))["port-0"]).toMatch(/host port/);
  });

  it("wants a unit for auto-update, a name for a unit, and a registry for registry updates", () => {
    expect(validate(form({ autoUpdate: "local" })).autoUpdate).toMatch(/systemd unit/);
    expect(validate(form({ autoUpdate: "local", installUnit: true })).name).toMatch(/name/);
    expect(validate(form({ autoUpdate: "local", installUnit: true, name: "web" }))).toEqual({});
    expect(validate(form({ image: "busybox", autoUpdate: "registry", installUnit: true, name: "web" })).autoUpdate)
      .toMatch(/fully qualified/);
  });
});

describe("toCreateParams", () => {
  it("sends only what was set", () => {
    // With a terminal by default, as Cockpit's dialog.
    expect(toCreateParams(form({}))).toEqual({ image: "localhost/podbridge/httpd:v1", tty: true, start: true });
    expect(toCreateParams(form({ tty: false }))).toEqual({ image: "localhost/podbridge/httpd:v1", start: true });
  });

  it("maps every field", () => {
    expect(toCreateParams(form({
      name: "web", command: "/bin/serve --port 8080",
      ports: [{ host: "8080", container: "80", protocol: "tcp" }, { host: "", container: "53", protocol: "udp" }],
      env: [{ name: "PORT", value: "80" }],
      volumes: [{ source: "data", destination: "/var/www", readOnly: true }],
      restartPolicy: "on-failure", restartRetries: "3", autoUpdate: "local",
      healthCmd: "/bin/healthcheck", healthInterval: "10", healthRetries: "2", pod: "pod1", start: false,
      owner: "alice", memoryOn: true, memory: "1.5", memoryUnit: "GiB", cpuSharesOn: true, cpuShares: "512", cpus: "0.5",
    }))).toEqual({
      image: "localhost/podbridge/httpd:v1", name: "web", command: ["/bin/serve", "--port", "8080"],
      ports: [{ host_port: 8080, container_port: 80, protocol: "tcp" }, { container_port: 53, protocol: "udp" }],
      env: { PORT: "80" },
      volumes: [{ source: "data", destination: "/var/www", read_only: true }],
      restart_policy: "on-failure", restart_retries: 3,
      auto_update: "local",
      health: { command: ["/bin/healthcheck"], interval: 10, retries: 2 },
      pod: "pod1", start: false, tty: true, owner: "alice",
      limits: { memory: 1.5 * 1024 ** 3, cpu_shares: 512, cpus: 0.5 },
    });
  });

  it("sends a limit only when its box is ticked", () => {
    const p = toCreateParams(form({ memoryOn: false, memory: "64", cpuSharesOn: false, cpuShares: "10" }));
    expect(p.limits).toBeUndefined();
    expect(toCreateParams(form({ memoryOn: true, memory: "64", memoryUnit: "MiB" })).limits).toEqual({ memory: 64 * 1024 ** 2 });
  });
});

describe("limits", () => {
  it("checks the memory, CPU shares and CPUs as Podman would", () => {
    expect(validate(form({ memoryOn: true, memory: "512" }))).toEqual({});
    expect(validate(form({ memoryOn: true, memory: "lots" })).memory).toMatch(/number/);
    expect(validate(form({ memoryOn: true, memory: "5", memoryUnit: "MiB" })).memory).toMatch(/6 MiB/);
    expect(validate(form({ memoryOn: false, memory: "lots" }))).toEqual({});
    expect(validate(form({ cpuSharesOn: true, cpuShares: "1" })).cpuShares).toMatch(/2 to 262144/);
    expect(validate(form({ cpuSharesOn: true, cpuShares: "2048" }))).toEqual({});
    expect(validate(form({ cpus: "0" })).cpus).toMatch(/0.01/);
    expect(validate(form({ cpus: "1.5" }))).toEqual({});
    expect(validate(form({ cpus: "two" })).cpus).toMatch(/CPUs/);
  });
});

describe("isLocalImage", () => {
  const names = ["localhost/podbridge/sleep:latest", "127.0.0.1:5000/a/b:v1"];
  it("finds a local name, latest implied", () => {
    expect(isLocalImage("localhost/podbridge/sleep", names)).toBe(true);
    expect(isLocalImage("localhost/podbridge/sleep:latest", names)).toBe(true);
    expect(isLocalImage("127.0.0.1:5000/a/b:v1", names)).toBe(true);
  });
  it("does not find another tag or a registry's port taken for a tag", () => {
    expect(isLocalImage("127.0.0.1:5000/a/b:v2", names)).toBe(false);
    expect(isLocalImage("127.0.0.1:5000/a/b", names)).toBe(false);
    expect(isLocalImage("localhost/other", [])).toBe(false);
  });
});
