"""Files a root bridge writes into a user's own folders (``~/.config/systemd/user``).

Root acting in a folder the user controls must not be led elsewhere: every folder below
the user's home is opened without following links (a user who makes
``~/.config/systemd/user`` a link to ``/etc/systemd/system`` gets an error, not a unit in
the system's folder), what is made there belongs to the user (uid, and the gid of the
home), and a file is replaced atomically, as :func:`os.replace` does for the bridge's own
folders.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeFolder(OSError):
    pass


@dataclass(frozen=True)
class UserFolder:
    """``home / rel``, where ``home`` is the user's home folder as this process sees it."""

    home: Path
    rel: PurePosixPath
    uid: int
    gid: int

    @property
    def path(self) -> Path:
        return self.home / self.rel

    @contextlib.contextmanager
    def _open(self, create: bool) -> Iterator[int | None]:
        """A descriptor of the folder (None if it is missing and ``create`` is false)."""
        fd = os.open(self.home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in self.rel.parts:
                try:
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        yield None
                        return
                    os.mkdir(part, 0o755, dir_fd=fd)
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    os.fchown(nxt, self.uid, self.gid)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise UnsafeFolder(exc.errno, f"{part} is a link or not a folder "
                                           "(root does not follow a user's links)",
                                           str(self.path)) from None
                    raise
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    def read_head(self, name: str, size: int = 4096) -> str | None:
        """The start of file ``name``, None if there is none."""
        with self._open(create=False) as fd:
            if fd is None:
                return None
            try:
                f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                return None
            try:
                return os.read(f, size).decode(errors="replace")
            finally:
                os.close(f)

    def write(self, name: str, text: str, mode: int = 0o644) -> None:
        """Replace file ``name`` with ``text`` in one step, the user's file."""
        with self._open(create=True) as fd:
            assert fd is not None
            tmp = f".{name}.{secrets.token_hex(4)}"
            f = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                        | os.O_CLOEXEC, mode, dir_fd=fd)
            try:
                try:
                    os.write(f, text.encode())
                    os.fsync(f)
                    os.fchown(f, self.uid, self.gid)
                    os.fchmod(f, mode)
                finally:
                    os.close(f)
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=fd)
                raise

    def unlink(self, name: str) -> bool:
        """Remove file ``name``; False if there was none."""
        with self._open(create=False) as fd:
            if fd is None:
                return False
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                return False
            return True


def user_folder(environment: list[str], sub: str, uid: int,
                fs_root: Path = Path("/")) -> UserFolder:
    """The folder ``sub`` of a user's ``$XDG_CONFIG_HOME`` (else ``$HOME/.config``), from
    their user manager's environment (``KEY=VALUE`` strings), as seen from ``fs_root``
    (``/`` on a host; a test world's root folder from outside it). What is made there
    gets ``uid`` and the home folder's group."""
    env = dict(e.split("=", 1) for e in environment if "=" in e)
    home = env.get("HOME")
    if not home or not home.startswith("/"):
        raise ValueError("the user manager's environment has no absolute HOME")
    config = PurePosixPath(env.get("XDG_CONFIG_HOME") or f"{home}/.config")
    base = PurePosixPath(home)
    if not config.is_relative_to(base):
        base = config.parent
    host_base = fs_root / str(base).lstrip("/")
    gid = os.stat(host_base).st_gid
    return UserFolder(host_base, config.relative_to(base) / sub, uid, gid)
