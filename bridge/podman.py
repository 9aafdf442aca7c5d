"""An async client of Podman's libpod REST API over its unix socket.

Every call has an explicit timeout; the event stream deliberately has none. Errors come back
as BridgeError with a code from the fixed vocabulary (404 -> not-found, 409 -> conflict).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote, urlsplit

import aiohttp

from bridge.errors import BridgeError, Conflict, NotFound, Timeout
from bridge.names import split_name
from bridge.podman_compat import PodmanCompat

logger = logging.getLogger(__name__)

API = "/v4.0.0/libpod"
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)
# A stream lives as long as the peer: no total timeout, a connect timeout only.
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5, sock_read=None)


class PodmanError(BridgeError):
    pass


def socket_path(url: str) -> str:
    """The socket path of a ``unix:///path`` (or ``unix:/path``) URL."""
    parts = urlsplit(url)
    if parts.scheme != "unix":
        raise ValueError(f"only unix:// Podman URLs are supported, not {url!r}")
    path = parts.path or parts.netloc
    if not path:
        raise ValueError(f"no socket path in {url!r}")
    return path


def object_path(kind: str, name: str, verb: str = "") -> str:
    """libpod's path of one object and verb: ``/containers/NAME/start`` (NAME quoted)."""
    return f"/{kind}/{quote(name, safe='')}" + (f"/{verb}" if verb else "")


def _raise_for(status: int, body: str, what: str) -> None:
    try:
        message = json.loads(body).get("message") or body
    except (ValueError, AttributeError):
        message = body
    message = f"{what}: {str(message).strip()}"
    if status == 404:
        raise NotFound(message)
    if status == 409:
        raise Conflict(message)
    raise PodmanError(message)


class PodmanClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.path = socket_path(url)
        self._session: aiohttp.ClientSession | None = None
        self._compat: PodmanCompat | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.UnixConnector(path=self.path, limit=32)
            self._session = aiohttp.ClientSession(
                connector=connector, base_url="http://d", timeout=DEFAULT_TIMEOUT)
        return self._session

    async def close(self) -> None:
        self._compat = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None,
        json_body: Any = None, timeout: float | None = None, what: str | None = None,
        raw: bool = False,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        if params:
            # A list value repeats the key (libpod's ``changes=...&changes=...``).
            kwargs["params"] = [(k, _qs(x)) for k, v in params.items() if v is not None
                                for x in (v if isinstance(v, list) else [v])]
        if json_body is not None:
            kwargs["json"] = json_body
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout, connect=5)
        what = what or f"{method} {path}"
        try:
            async with self.session.request(method, API + path, **kwargs) as resp:
                body = await resp.text()
                if resp.status >= 400:
                    _raise_for(resp.status, body, what)
                if raw:
                    return resp.status, body
                # Some endpoints answer 201 with a lone newline (image tag/untag).
                if resp.status in (204, 304) or not body.strip():
                    return None
                return json.loads(body)
        except TimeoutError:
            raise Timeout(f"{what}: Podman did not answer in time") from None
        except aiohttp.ClientConnectionError as exc:
            raise PodmanError(f"{what}: cannot reach Podman at {self.url}: {exc}") from None

    async def ping(self, timeout: float = 5) -> bool:
        try:
            async with self.session.get("/_ping", timeout=aiohttp.ClientTimeout(
                    total=timeout)) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def version(self) -> dict[str, Any]:
        return cast(dict[str, Any], await self.request("GET", "/version"))

    async def compat(self, refresh: bool = False) -> PodmanCompat:
        """What this Podman does differently (:mod:`bridge.podman_compat`), from its
        version: read once, and again with ``refresh`` (a new connection to a Podman that
        may have been upgraded meanwhile)."""
        if self._compat is None or refresh:
            self._compat = PodmanCompat.from_version_reply(await self.version())
            logger.debug("podman at %s is %s", self.url, self._compat.version)
        return self._compat

    # -- containers
    async def containers(self, all: bool = True, filters: dict[str, list[str]] | None = None
                         ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"all": all}
        if filters:
            params["filters"] = json.dumps(filters)
        return cast(list[dict[str, Any]], await self.request(
            "GET", "/containers/json", params=params) or [])

    async def inspect_container(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self.request(
            "GET", object_path("containers", name, "json"), what=f"container {name!r}"))

    async def start_container(self, name: str) -> None:
        await self.request("POST", object_path("containers", name, "start"),
                           what=f"start container {name!r}", timeout=120)

    async def stop_container(self, name: str, timeout: int = 10) -> None:
        await self.request("POST", object_path("containers", name, "stop"),
                           params={"timeout": timeout}, what=f"stop container {name!r}",
                           timeout=timeout + 60)

    async def restart_container(self, name: str, timeout: int = 10) -> None:
        await self.request("POST", object_path("containers", name, "restart"),
                           params={"t": timeout}, what=f"restart container {name!r}",
                           timeout=timeout + 120)

    async def create_container(self, spec: dict[str, Any]) -> tuple[str, list[str]]:
        """The new container's ID, and Podman's warnings (e.g. limits a rootless Podman
        on cgroup v1 ignores)."""
        result = await self.request("POST", "/containers/create", json_body=spec,
                                    what="create container", timeout=120)
        return str(result["Id"]), [str(w) for w in result.get("Warnings") or [] if w]

    # -- pods, images, volumes, networks
    async def pods(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self.request("GET", "/pods/json") or [])

    async def inspect_pod(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self.request(
            "GET", object_path("pods", name, "json"), what=f"pod {name!r}"))

    async def images(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], await self.request("GET", "/images/json") or [])

    async def inspect_image(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self.request(
            "GET", object_path("images", name, "json"), what=f"image {name!r}"))

    async def tag_image(self, image: str, name: str) -> None:
        """Point ``name`` (``repo:tag``, ``latest`` without a tag) at ``image``."""
        repo, tag = split_name(name)
        await self.request("POST", object_path("images", image, "tag"),
                           params={"repo": repo, "tag": tag}, what=f"tag image {image!r}")

    async def untag_image(self, name: str) -> None:
        """Take the name ``name`` off its image."""
        repo, tag = split_name(name)
        await self.request("POST", object_path("images", name, "untag"),
                           params={"repo": repo, "tag": tag}, what=f"untag image {name!r}")

    async def pull_image(self, reference: str, *, tls_verify: bool | None = None,
                         auth: str | None = None, timeout: float = 600,
                         progress: Callable[[str], None] | None = None) -> str:
        """Pull (policy always); returns the image ID. Errors may arrive after a 200.

        ``tls_verify`` None leaves TLS to the registries.conf of Podman's host; ``auth`` is
        the base64 JSON of ``X-Registry-Auth``; ``progress`` gets Podman's progress lines
        (``Trying to pull ...``, ``Copying blob ...``), each with its newline."""
        from bridge.image_pull import PullStream  # it builds on this module

        stream = PullStream(self, reference, tls_verify, auth=auth, quiet=progress is None)
        try:
            async with asyncio.timeout(timeout):
                return str((await stream.run(progress))["id"])
        except TimeoutError:
            raise Timeout(f"pull {reference}: no answer in {timeout:.0f} s") from None

    # -- events
    async def events_written(self, since: str | None,
                             filters: dict[str, list[str]] | None = None,
                             timeout: float = 30, what: str = "events"
                             ) -> list[dict[str, Any]]:
        """The events Podman has written since ``since`` (the log's first when None), read
        from its log at the time of the call (``stream=false``): what happened, as Podman
        recorded it, whatever a stream reader has or has not received yet.

        No ``until``: Podman takes it as a deadline for its reader, not as a filter (4.3.1
        stops reading at that moment, so an ``until`` already past gives 0, 1 or 2 of the
        same events from one call to the next); a caller cuts at a time itself."""
        from bridge.podman_http_stream import HttpStream  # it builds on this module

        http = HttpStream(self, "GET", "/events", what, {
            "stream": "false", "since": since,
            "filters": json.dumps(filters) if filters else None})
        try:
            async with asyncio.timeout(timeout):
                await http.open()
                return [e async for e in http.json_lines()]
        except TimeoutError:
            raise Timeout(f"{what}: Podman did not answer in time") from None
        finally:
            await http.aclose()


def _qs(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


async def wait_for_socket(client: PodmanClient, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await client.ping(timeout=2):
            return True
        await asyncio.sleep(0.1)
    return False
