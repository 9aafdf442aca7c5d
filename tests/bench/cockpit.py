"""Cockpit's bridge (Debian's cockpit-bridge, Cockpit 287) serving what cockpit-podman asks
of it: the reference for the bridge's memory.

cockpit-podman's page, once open, keeps two requests to Podman's socket going through the
bridge: the list of all containers and the events stream (``http-stream2`` channels).
The bridge is run on stdio, as cockpit-ws runs it, and spoken to in Cockpit's framing:
each message is ``LENGTH\\nCHANNEL\\nPAYLOAD`` (length in decimal ASCII, of the channel
line and the payload); the control channel is the empty name.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any


def available() -> bool:
    return shutil.which("cockpit-bridge") is not None


class CockpitBridge:
    def __init__(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root",
               "LANG": "C.UTF-8", "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"}
        self.proc = subprocess.Popen(["cockpit-bridge"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env)
        self.messages: queue.Queue[tuple[str, bytes] | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()
        init = self.control(lambda m: m.get("command") == "init")
        assert init.get("version") == 1, init
        self.send_control({"command": "init", "version": 1, "host": "localhost"})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self, out: IO[bytes]) -> None:
        while True:
            line = out.readline()
            if not line:
                self.messages.put(None)
                return
            data = out.read(int(line))
            channel, _, payload = data.partition(b"\n")
            self.messages.put((channel.decode(), payload))

    def send(self, channel: str, payload: bytes) -> None:
        assert self.proc.stdin is not None
        msg = channel.encode() + b"\n" + payload
        self.proc.stdin.write(b"%d\n" % len(msg) + msg)
        self.proc.stdin.flush()

    def send_control(self, obj: dict[str, Any]) -> None:
        self.send("", json.dumps(obj).encode())

    def next(self, timeout: float = 60) -> tuple[str, bytes]:
        item = self.messages.get(timeout=timeout)
        if item is None:
            raise RuntimeError("cockpit-bridge exited")
        return item

    def control(self, want: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            channel, payload = self.next(max(0.1, deadline - time.monotonic()))
            if channel == "":
                msg: dict[str, Any] = json.loads(payload)
                if want(msg):
                    return msg

    def http_get(self, channel: str, sock: Path, path: str) -> bytes:
        """A whole response of Podman's socket through an http-stream2 channel."""
        self._open(channel, sock, path)
        body = []
        while True:
            ch, payload = self.next()
            if ch == channel:
                body.append(payload)
            elif ch == "":
                msg = json.loads(payload)
                if msg.get("channel") == channel and msg.get("command") == "close":
                    if msg.get("problem"):
                        raise RuntimeError(f"cockpit-bridge: {msg}")
                    return b"".join(body)

    def http_stream(self, channel: str, sock: Path, path: str) -> None:
        """A request left open (the events stream), answered with a 200."""
        self._open(channel, sock, path)
        msg = self.control(lambda m: m.get("channel") == channel
                           and m.get("command") in ("response", "close"))
        if msg.get("command") != "response" or msg.get("status") != 200:
            raise RuntimeError(f"cockpit-bridge: {msg}")

    def _open(self, channel: str, sock: Path, path: str) -> None:
        self.send_control({"command": "open", "channel": channel, "payload": "http-stream2",
                           "unix": str(sock), "method": "GET", "path": path,
                           "headers": {}, "flow-control": True})
        self.send_control({"command": "done", "channel": channel})

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
