"""``images.pull`` with progress: libpod's pull stream, line by line, as a stream.

libpod answers ``POST /images/pull`` with one JSON object a line: ``{"stream": "Copying
blob ...\\n"}`` while it works, ``{"error": ...}`` when it fails (possibly after a 200), and
``{"id": ..., "images": [...]}`` at the end.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.podman import PodmanClient, PodmanError
from bridge.podman_http_stream import HttpStream
from bridge.streams import End, Put, StreamSource

logger = logging.getLogger(__name__)


PHASES = (("Trying to pull", "resolve"), ("Getting image source", "copy"),
          ("Copying blob", "copy"), ("Copying config", "config"),
          ("Writing manifest", "write"), ("Storing signatures", "write"))


def phase_of(line: str) -> str:
    """Where in a pull Podman's progress line is: ``resolve``, ``copy``, ``config``,
    ``write`` (or ``other``). Podman gives no byte counts here; a progress bar can step
    through the phases and count the blobs."""
    for prefix, phase in PHASES:
        if line.startswith(prefix):
            return phase
    return "other"


class PullStream(StreamSource):
    def __init__(self, podman: PodmanClient, reference: str, tls_verify: bool | None) -> None:
        self.reference = reference
        self._http = HttpStream(podman, "POST", "/images/pull", f"pull {reference}",
                                {"reference": reference, "policy": "always",
                                 "quiet": False, "tlsVerify": tls_verify})

    async def open(self) -> None:
        await self._http.open()

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

    async def run(self) -> dict[str, Any]:
        """Without progress: pull, and answer the image (the stream's last item)."""
        last, _ = await self.read_last()
        assert last is not None   # produce() ends with the image, or raises
        return {"id": last["id"], "reference": self.reference}

    async def aclose(self) -> None:
        await self._http.aclose()
