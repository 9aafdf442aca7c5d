"""Real registries for the registry-access tests and bench: `docker-registry` (the CNCF
distribution registry, the world's registry binary) open or behind htpasswd, images pushed
with skopeo from an OCI layout written here (one platform, and a two-platform index)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from bridge.sandbox.procs import ProcRef
from bridge.sandbox.registry import CONFIG as SANDBOX_CONFIG
from bridge.sandbox.registry import REGISTRY_BIN, free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt hashes for htpasswd (Python 3.11's glibc crypt)

# The sandbox registry's configuration, with an optional auth section after it.
CONFIG = SANDBOX_CONFIG + "{auth}"

AUTH = """\
auth:
  htpasswd:
    realm: podbridge-test
    path: {path}
"""


@dataclass
class Registry:
    host: str
    proc: subprocess.Popen[bytes]
    user: str | None = None
    password: str | None = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            ProcRef.of(self.proc.pid).kill()
        self.proc.wait()


def start(folder: Path, user: str | None = None, password: str | None = None) -> Registry:
    """A registry with its data in ``folder``; with ``user``, only that user may read it."""
    folder.mkdir(parents=True, exist_ok=True)
    auth = ""
    if user is not None:
        htpasswd = folder / "htpasswd"
        hashed = crypt.crypt(password or "", crypt.mksalt(crypt.METHOD_BLOWFISH))
        htpasswd.write_text(f"{user}:{hashed}\n")
        auth = AUTH.format(path=htpasswd)
    for _ in range(5):
        port = free_port()
        (folder / "config.yml").write_text(CONFIG.format(data=folder / "data", port=port,
                                                          auth=auth))
        with (folder / "registry.log").open("ab") as log:
            proc = subprocess.Popen([REGISTRY_BIN, "serve", str(folder / "config.yml")],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    cwd=folder, start_new_session=True)
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                return Registry(f"127.0.0.1:{port}", proc, user, password)
            time.sleep(0.05)
        if proc.poll() is None:
            ProcRef.of(proc.pid).kill()
            proc.wait()
            raise TimeoutError(f"registry did not answer on 127.0.0.1:{port}")
    raise RuntimeError(f"the registry would not start: see {folder / 'registry.log'}")


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # 401: up, and wanting credentials
    except OSError:
        return False


def oci_layout(folder: Path) -> dict[str, str]:
    """An OCI layout with ``single`` (linux/amd64) and ``multi`` (amd64 + arm64 index);
    returns the digests of the two amd64 manifests and the index as written (a push may
    re-encode them: read digests from the registry)."""
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return "sha256:" + digest, len(data)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    layer = blob(buf.getvalue())

    def image(arch: str) -> tuple[str, int]:
        config = blob(json.dumps({"architecture": arch, "os": "linux",
                                  "created": "2026-01-02T03:04:05.123456789Z",
                                  "rootfs": {"type": "layers", "diff_ids": [layer[0]]},
                                  "config": {}}).encode())
        return blob(json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config[0], "size": config[1]},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer[0], "size": layer[1]}]}).encode())

    amd, arm = image("amd64"), image("arm64")
    manifest = "application/vnd.oci.image.manifest.v1+json"
    index = blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": manifest, "digest": amd[0], "size": amd[1],
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": manifest, "digest": arm[0], "size": arm[1],
             "platform": {"os": "linux", "architecture": "arm64"}}]}).encode())
    (folder / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    ref = "org.opencontainers.image.ref.name"
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": manifest, "digest": amd[0], "size": amd[1],
         "annotations": {ref: "single"}},
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": index[0],
         "size": index[1], "annotations": {ref: "multi"}}]}))
    return {"amd64": amd[0], "arm64": arm[0], "index": index[0]}


def push(layout: Path, tag: str, dest: str, registry: Registry) -> None:
    """``layout:tag`` to ``docker://dest``, every platform of an index kept, unchanged."""
    cmd = ["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
           "--dest-tls-verify=false"]
    if registry.user is not None:
        cmd += ["--dest-creds", f"{registry.user}:{registry.password}"]
    subprocess.run([*cmd, f"oci:{layout}:{tag}", f"docker://{dest}"], check=True,
                   capture_output=True)


def registry_digest(registry: Registry, repository: str, tag: str) -> str:
    """The registry's own Docker-Content-Digest of ``repository:tag`` (a HEAD)."""
    req = urllib.request.Request(
        f"http://{registry.host}/v2/{repository}/manifests/{tag}", method="HEAD",
        headers={"Accept": "application/vnd.oci.image.index.v1+json, "
                           "application/vnd.oci.image.manifest.v1+json"})
    if registry.user is not None:
        import base64
        token = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return str(resp.headers["Docker-Content-Digest"])
