"""``images.pull`` with progress: libpod's pull stream, line by line, as a stream.

libpod answers ``POST /images/pull`` with one JSON object a line: ``{"stream": "Copying
blob ...\\n"}`` while it works, ``{"error": ...}`` when it fails (possibly after a 200), and
``{"id": ..., "images": [...]}`` at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bridge.podman import PodmanClient, PodmanError
from bridge.podman_http_stream import HttpSource, HttpStream
from bridge.streams import End, Put

logger = logging.getLogger(__name__)


PHASES = (("Trying to pull", "resolve"), ("Getting image source", "copy"),
          ("Copying blob", "copy"), ("Copying config", "config"),
          ("Writing manifest", "write"), ("Storing signatures", "write"))


def phase_of(line: str) -> str:
    """Where in a pull Podman's progress line is: ``resolve``, ``copy``, ``config``,
    ``write`` (or ``other``). Podman gives no byte counts here; a progress bar can step
    through the phases and count the blobs."""
    return next((phase for prefix, phase in PHASES if line.startswith(prefix)), "other")


class PullStream(HttpSource):
    """``auth``: the base64 JSON of ``X-Registry-Auth``; ``quiet``: Podman sends no
    progress lines."""

    def __init__(self, podman: PodmanClient, reference: str, tls_verify: bool | None, *,
                 auth: str | None = None, quiet: bool = False) -> None:
        self.reference = reference
        self._http = HttpStream(podman, "POST", "/images/pull", f"pull {reference}",
                                {"reference": reference, "policy": "always",
                                 "quiet": quiet, "tlsVerify": tls_verify},
                                headers={"X-Registry-Auth": auth} if auth else None)

    async def produce(self, put: Put) -> End:
        image_id = ""
        blobs = 0
        async for msg in self._http.json_lines():
            if not isinstance(msg, dict):
                continue
            if msg.get("error"):
                raise PodmanError(f"pull {self.reference}: {str(msg['error']).strip()}")
            if isinstance(msg.get("stream"), str):
                line = msg["stream"]
                blob = line.startswith("Copying blob")
                blobs += blob
                await put({"progress": line, "phase": phase_of(line), "blobs": blobs})
            if msg.get("id"):
                image_id = str(msg["id"])
        if not image_id:
            raise PodmanError(f"pull {self.reference}: Podman reported no image")
        await put({"id": image_id, "reference": self.reference})
        return End("eof")

    async def run(self, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Without a stream: pull, and answer the image (the stream's last item);
        ``progress`` gets each of Podman's progress lines."""
        last: dict[str, Any] = {}

        async def put(item: dict[str, Any]) -> None:
            nonlocal last
            last = item
            if progress is not None and "progress" in item:
                progress(item["progress"])

        await self.drain(put)   # produce() ends with the image, or raises
        return {"id": last["id"], "reference": self.reference}
