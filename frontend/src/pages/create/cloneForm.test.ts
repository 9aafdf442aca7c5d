import { describe, expect, it } from "vitest";
import { formFromInspect, joinCommand } from "./cloneForm";
import { emptyForm, splitCommand, toCreateParams, validate } from "./createOptions";

// Shaped as Podman 4.3's inspect of a container made with env, ports, volumes, a policy and a check.
const INFO = {
  Name: "web", ImageName: "localhost/podbridge/httpd:v1",
  Config: {
    Image: "localhost/podbridge/httpd:v1", Cmd: ["sh", "-c", "echo 'hi there'; exec httpd -f"],
    Env: ["PATH=/bin", "TERM=xterm", "container=podman", "PODBRIDGE_VERSION=v1", "GREETING=hello world",
          "EMPTY=", "HOME=/root", "HOSTNAME=abc"],
    Healthcheck: { Test: ["CMD-SHELL", "wget -q -O- localhost:80 | grep ok"], Interval: 5e9, Retries: 2 },
  },
  HostConfig: {
    RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 },
    PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }], "53/udp": [{ HostIp: "", HostPort: "" }] },
  },
  Mounts: [
    { Type: "bind", Source: "/srv/data", Destination: "/data", RW: false },
    { Type: "volume", Name: "cache", Source: "/var/lib/containers/storage/volumes/cache/_data", Destination: "/cache", RW: true },
    { Type: "tmpfs", Source: "", Destination: "/run", RW: true },
  ],
};
const IMAGE = { Config: { Cmd: ["httpd", "-f"], Env: ["PATH=/bin", "PODBRIDGE_VERSION=v1"] } };

describe("formFromInspect", () => {
  it("fills the Create form with what the container was made with", () => {
    const f = formFromInspect(INFO, IMAGE, "mypod");
    expect(f.image).toBe("localhost/podbridge/httpd:v1");
    expect(f.name).toBe("web-clone");
    expect(splitCommand(f.command!)).toEqual(INFO.Config.Cmd);
    expect(f.env).toEqual([{ name: "GREETING", value: "hello world" }, { name: "EMPTY", value: "" }]);
    expect(f.ports).toEqual([{ host: "8080", container: "80", protocol: "tcp" }, { host: "", container: "53", protocol: "udp" }]);
    expect(f.volumes).toEqual([{ source: "/srv/data", destination: "/data", readOnly: true },
                               { source: "cache", destination: "/cache", readOnly: false }]);
    expect([f.restartPolicy, f.restartRetries, f.pod]).toEqual(["on-failure", "3", "mypod"]);
    expect([f.healthInterval, f.healthRetries, f.healthAction]).toEqual(["5", "2", "none"]);
  });

  it("keeps the health check's action on failure (Podman's inspect names it)", () => {
    const withAction = (a: unknown) => formFromInspect({ ...INFO, Config: { ...INFO.Config, HealthcheckOnFailureAction: a } }, IMAGE);
    expect(withAction("restart").healthAction).toBe("restart");
    expect(withAction("kill").healthAction).toBe("kill");
    expect(withAction("invalid").healthAction).toBe("none");
    const p = toCreateParams({ ...emptyForm(), ...withAction("stop") });
    expect(p.health).toEqual({ command: ["/bin/sh", "-c", "wget -q -O- localhost:80 | grep ok"], interval: 5, retries: 2,
                               on_failure: "stop" });
  });

  it("keeps the terminal, the limits and the owner", () => {
    const host = { ...INFO.HostConfig, Memory: 64 * 1024 ** 2, CpuShares: 512, NanoCpus: 500_000_000 };
    const f = formFromInspect({ ...INFO, Config: { ...INFO.Config, Tty: true }, HostConfig: host }, IMAGE, "", "alice");
    expect([f.tty, f.owner]).toEqual([true, "alice"]);
    expect([f.memoryOn, f.memory, f.memoryUnit]).toEqual([true, "64", "MiB"]);
    expect([f.cpuSharesOn, f.cpuShares, f.cpus]).toEqual([true, "512", "0.5"]);
    const odd = formFromInspect({ ...INFO, HostConfig: { ...INFO.HostConfig, Memory: 1536 * 1024, CpuShares: 1024 } }, IMAGE);
    expect([odd.memory, odd.memoryUnit, odd.cpuSharesOn, odd.tty, odd.owner]).toEqual(["1536", "KiB", undefined, false, ""]);
  });

  it("gives back params that create the same container", () => {
    const form = { ...emptyForm(), ...formFromInspect(INFO, IMAGE) };
    expect(validate(form)).toEqual({});
    const p = toCreateParams(form);
    expect(p.command).toEqual(INFO.Config.Cmd);
    expect(p.env).toEqual({ GREETING: "hello world", EMPTY: "" });
    // A shell check stays a shell check.
    expect(p.health).toEqual({ command: ["/bin/sh", "-c", "wget -q -O- localhost:80 | grep ok"], interval: 5, retries: 2 });
    expect(p.restart_policy).toBe("on-failure");
  });

  it("leaves the image's own command out, and copes with a bare container", () => {
    const f = formFromInspect({ ...INFO, Config: { ...INFO.Config, Cmd: ["httpd", "-f"], Healthcheck: undefined } }, IMAGE);
    expect(f.command).toBe("");
    expect(f.healthCmd).toBe("");
    const bare = formFromInspect({ Name: "x", Config: { Image: "img" } }, null);
    expect([bare.image, bare.restartPolicy, bare.ports, bare.env, bare.volumes]).toEqual(["img", "no", [], [], []]);
  });

  it("quotes words so they split back", () => {
    const argv = ["a b", "it's", "", "plain", "$HOME", 'q"d'];
    expect(splitCommand(joinCommand(argv))).toEqual(argv);
  });
});
