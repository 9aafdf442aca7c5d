"""A long-lived libpod response (logs, stats, pull progress), read as it comes.

The response is opened with no total timeout (it lives as long as it follows) and is let
go of by :meth:`HttpStream.aclose`; Podman's errors before the body become
:class:`~bridge.errors.BridgeError` as in :mod:`bridge.podman`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from bridge.errors import Timeout
from bridge.podman import API, STREAM_TIMEOUT, PodmanClient, PodmanError, _qs, _raise_for
from bridge.streams import StreamSource

logger = logging.getLogger(__name__)


class HttpStream:
    def __init__(self, podman: PodmanClient, method: str, path: str, what: str,
                 params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.podman = podman
        self.method = method
        self.path = path
        self.what = what
        self.params = {k: _qs(v) for k, v in (params or {}).items() if v is not None}
        self.headers = headers
        self.resp: aiohttp.ClientResponse | None = None

    async def open(self) -> aiohttp.ClientResponse:
        try:
            resp = await self.podman.session.request(
                self.method, API + self.path, params=self.params, headers=self.headers,
                timeout=STREAM_TIMEOUT)
        except TimeoutError:
            raise Timeout(f"{self.what}: Podman did not answer in time") from None
        except aiohttp.ClientConnectionError as exc:
            raise PodmanError(f"{self.what}: cannot reach Podman at {self.podman.url}: "
                              f"{exc}") from None
        if resp.status >= 400:
            body = await resp.text()
            resp.release()
            _raise_for(resp.status, body, self.what)
        self.resp = resp
        return resp

    async def read_any(self) -> bytes:
        """What has arrived (at least one byte); b"" at the end."""
        assert self.resp is not None
        try:
            return await self.resp.content.readany()
        except aiohttp.ClientPayloadError as exc:
            raise PodmanError(f"{self.what}: the stream broke: {exc}") from None

    async def json_lines(self) -> Any:
        """Each JSON line of the body; ends with the body."""
        assert self.resp is not None
        while True:
            try:
                line = await self.resp.content.readline()
            except aiohttp.ClientPayloadError as exc:
                raise PodmanError(f"{self.what}: the stream broke: {exc}") from None
            if not line:
                return
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                logger.warning("%s: a line that is not JSON: %.200r", self.what, line)

    async def aclose(self) -> None:
        if self.resp is not None:
            self.resp.close()
            self.resp = None


class HttpSource(StreamSource):
    """A stream source that reads one libpod response, ``_http``: opened and let go of
    with it."""

    _http: HttpStream

    async def open(self) -> None:
        await self._http.open()

    async def aclose(self) -> None:
        await self._http.aclose()
