"""Registry checks through skopeo, which is containers/image, the library Podman's own
auto-update uses: registries.conf (mirrors, short-name aliases, insecure and blocked
registries), certs.d, credential helpers and the auth-file lookup order Podman uses
(``$REGISTRY_AUTH_FILE``, ``$XDG_RUNTIME_DIR/containers/auth.json`` for a rootless user,
...) hold as they hold for Podman, because the same code reads them.

An update check needs a tag's manifest (``skopeo inspect --raw``: one manifest GET; a list
is resolved for the local image's platform here) and, for a cooldown, the image's creation
time (``skopeo inspect --config --raw``). Each call has a timeout, and every failure is a
RegistryError carrying containers/image's own words for Podman-style output. Why skopeo
rather than a client of our own: docs/choices.md, "Registry access".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.tasks import within
from plugins.auto_update.reference import ImageRef
from plugins.auto_update.registry import (
    LISTS,
    SINGLE,
    Platform,
    RegistryError,
    RemoteImage,
    parse_time,
    pick_platform,
)

DEFAULT_TIMEOUT = 30.0
# containers/image wraps a failed source in skopeo's "Error parsing image name" even when
# the name parsed fine; Podman reports the inner words.
_WRAP = re.compile(r'^(?:Error parsing image name|Error reading manifest[^:]*?)\s*"[^"]*":\s*')
_FATAL = re.compile(r'level=fatal msg="((?:[^"\\]|\\.)*)"')


class SkopeoClient:
    """The checks of one auto-update run. ``registries_conf``: a registries.conf to use
    instead of the default lookup (a test world has its own); ``authfile``: the run's
    ``--authfile`` (a container's label overrides it per call)."""

    def __init__(self, registries_conf: str | None = None, *, tls_verify: bool | None = None,
                 authfile_path: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 executable: str | None = None) -> None:
        self.registries_conf = registries_conf
        self.tls_verify = tls_verify
        self.authfile = authfile_path
        self.timeout = timeout
        self.executable = executable or shutil.which("skopeo") or "skopeo"
        self._home: tuple[str, str] | None = None

    async def __aenter__(self) -> SkopeoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._home is not None:
            shutil.rmtree(self._home[0], ignore_errors=True)
            self._home = None

    def __del__(self) -> None:  # a client used without ``async with`` cleans up too
        with contextlib.suppress(Exception):
            self.close()

    def command(self, *args: str, authfile_path: str | None = None) -> list[str]:
        cmd = [self.executable, "--command-timeout", f"{max(1, int(self.timeout))}s", args[0]]
        authfile = authfile_path or self.authfile
        if authfile:
            cmd += ["--authfile", authfile]
        if self.tls_verify is not None:
            cmd.append(f"--tls-verify={'true' if self.tls_verify else 'false'}")
        return [*cmd, "--retry-times", "0", *args[1:]]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        conf = self.registries_conf or env.get("CONTAINERS_REGISTRIES_CONF")
        if conf:
            env.update(self._home_for(conf))
        return env

    def _home_for(self, conf: str) -> dict[str, str]:
        """skopeo 1.9 has no flag for registries.conf's path and ignores
        $CONTAINERS_REGISTRIES_CONF (Podman reads that variable itself); containers/image
        reads $HOME/.config/containers/registries.conf before /etc's. So a chosen file
        is put there, in a home of this client's own, and what else containers/image
        finds under $HOME (the auth files, a rootless user's certs.d) is linked back to
        the real home: only registries.conf changes."""
        if self._home is None:
            real = Path(os.environ.get("HOME") or Path.home())
            config = os.environ.get("XDG_CONFIG_HOME") or str(real / ".config")
            home = Path(tempfile.mkdtemp(prefix="podbridge-skopeo-"))
            (home / ".config" / "containers").mkdir(parents=True)
            (home / ".config" / "containers" / "registries.conf").symlink_to(
                Path(conf).absolute())
            (home / ".config" / "containers" / "certs.d").symlink_to(
                real / ".config" / "containers" / "certs.d")
            (home / ".docker").symlink_to(real / ".docker")
            self._home = (str(home), config)
        home_dir, config = self._home
        return {"HOME": home_dir, "XDG_CONFIG_HOME": config}

    async def run(self, ref: ImageRef, *args: str, authfile_path: str | None = None,
                  what: str = "the manifest") -> bytes:
        cmd = self.command(*args, authfile_path=authfile_path)
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=self.environment())
        except OSError as exc:
            raise RegistryError(f"cannot run skopeo ({self.executable}): {exc}") from None
        try:
            out, err = await within(proc.communicate(), self.timeout + 5)
        except BaseException as exc:  # a timeout, or the run cancelled: skopeo goes too
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            if not isinstance(exc, TimeoutError):
                raise
            raise RegistryError(f"timeout: registry {ref.registry} did not answer in "
                                f"{self.timeout:g} s") from None
        if proc.returncode != 0:
            raise error_from(err.decode(errors="replace"), ref, what)
        return out

    async def remote_image(self, ref: ImageRef, want: Platform | None = None,
                           known: frozenset[str] = frozenset(),
                           authfile_path: str | None = None) -> RemoteImage:
        """The digest of the image ``ref`` names for ``want`` (default: this machine); a
        list's digest in ``known`` (the local image's) is enough, else its entry for
        ``want``, read from the list itself."""
        want = want or Platform.this_machine()
        raw = await self.run(ref, "inspect", "--raw", f"docker://{ref}",
                             authfile_path=authfile_path)
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        doc = _manifest(raw, ref)
        media_type = str(doc.get("mediaType") or "")
        if media_type in LISTS or (not media_type and "manifests" in doc):
            if digest in known:
                return RemoteImage(digest, None, media_type)
            return RemoteImage(pick_platform(doc, want), digest, media_type)
        if media_type and media_type not in SINGLE:
            raise RegistryError(f"bad manifest for {ref}: unsupported type {media_type}")
        return RemoteImage(digest, None, media_type)

    async def created(self, ref: ImageRef, digest: str, authfile_path: str | None = None
                      ) -> datetime | None:
        """The ``created`` time in the config of the image manifest ``digest``."""
        raw = await self.run(ref, "inspect", "--config", "--raw",
                             f"docker://{ref.repo_name}@{digest}",
                             authfile_path=authfile_path, what="the image config")
        try:
            created = json.loads(raw).get("created")
        except (ValueError, AttributeError):
            raise RegistryError(f"bad image config for {ref}") from None
        return parse_time(created) if isinstance(created, str) else None


def _manifest(raw: bytes, ref: ImageRef) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise RegistryError(f"bad manifest for {ref}: not JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"bad manifest for {ref}: not an object")
    return doc


def error_from(stderr: str, ref: ImageRef, what: str) -> RegistryError:
    """A RegistryError from skopeo's stderr: our short reason for the user, and
    containers/image's words (what Podman prints) for Podman-style output."""
    found = _FATAL.findall(stderr)
    m = found[-1] if found else None
    text = re.sub(r"\\(.)", r"\1", m) if m else (stderr.strip().splitlines() or
                                                          ["skopeo failed"])[-1]
    words = _WRAP.sub("", text)
    low = words.lower()
    if "manifest unknown" in low or "name unknown" in low or "not found" in low:
        return RegistryError(f"not found: {what} of {ref} (404)", words)
    # Not a bare "429": a registry's port (127.0.0.1:40429) has those digits too.
    if "toomanyrequests" in low or "too many requests" in low:
        return RegistryError(f"registry {ref.registry} is rate-limiting us (429)", words)
    if "deadline exceeded" in low or "timeout" in low:
        return RegistryError(f"timeout: registry {ref.registry} did not answer: {words}",
                             words)
    if "unauthorized" in low or "authentication required" in low:
        return RegistryError(f"unauthorized: registry {ref.registry} refused access to "
                             f"{ref.repository}: {words}", words)
    if "pinging container registry" in low:
        return RegistryError(f"cannot reach registry {ref.registry}: {words}", words)
    return RegistryError(words, words)
