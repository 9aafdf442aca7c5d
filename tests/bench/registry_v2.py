"""The bench's reference for registry access: the registry v2 client, registries.conf reader
and auth-file lookup the auto-update plugin carried before it called skopeo (docs/choices.md,
"Registry access"), kept to time the same digest lookup both ways in one run.

An async client of the registry v2 API, just what an update check needs: the manifest
digest of a tag (HEAD, a manifest list resolved for a platform) and an image's creation
time (its config blob). Auth: a 401 with ``WWW-Authenticate: Bearer`` sends it to the
realm for a token (with basic credentials from the auth file, if any); ``Basic`` gets the
credentials directly. Transport as registries.conf says (insecure: HTTPS unverified, then
HTTP). Not handled (what the bench's case table shows): mirrors, credential helpers,
certs.d, $XDG_RUNTIME_DIR's auth file for root.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from plugins.auto_update import authfile
from plugins.auto_update.reference import ImageRef
from plugins.auto_update.registry import (
    ACCEPT,
    LISTS,
    SINGLE,
    Platform,
    RegistryError,
    RemoteImage,
    parse_time,
    pick_platform,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
DEFAULT_CONF = Path("/etc/containers/registries.conf")
_AUTH_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class RegistriesConf:
    insecure: dict[str, bool] = field(default_factory=dict)  # location/prefix -> insecure

    def is_insecure(self, host: str, repository: str = "") -> bool:
        """The longest matching location (or prefix) wins, as in containers/image."""
        name = f"{host}/{repository}" if repository else host
        best, value = -1, False
        for location, insecure in self.insecure.items():
            if _matches(location, host, name) and len(location) > best:
                best, value = len(location), insecure
        return value


def _matches(location: str, host: str, name: str) -> bool:
    if location.startswith("*."):
        return host.endswith(location[1:])
    return name == location or name.startswith(location + "/") or host == location


def default_path() -> Path:
    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if env:
        return Path(env)
    if os.geteuid() != 0:
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        user = Path(config) / "containers" / "registries.conf"
        if user.exists():
            return user
    return DEFAULT_CONF


def load_conf(path: Path | str | None = None) -> RegistriesConf:
    """registries.conf at ``path`` (default: see above); a missing file means no entries."""
    p = Path(path) if path is not None else default_path()
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        return RegistriesConf()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.warning("cannot read %s: %s", p, exc)
        return RegistriesConf()
    return parse(data)


def parse(data: dict[str, Any]) -> RegistriesConf:
    insecure: dict[str, bool] = {}
    v1 = data.get("registries")
    if isinstance(v1, dict):
        for host in (v1.get("insecure") or {}).get("registries") or []:
            insecure[str(host)] = True
    for entry in data.get("registry") or []:
        if not isinstance(entry, dict):
            continue
        location = str(entry.get("prefix") or entry.get("location") or "")
        if location:
            insecure[location] = bool(entry.get("insecure", False))
    return RegistriesConf(insecure)


def parse_www_authenticate(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="https://a/token",service="reg",scope="repository:x:pull"`` ->
    ``("bearer", {"realm": ..., "service": ..., "scope": ...})``."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for m in _AUTH_PARAM.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def _reason(exc: BaseException, host: str, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timeout: registry {host} did not answer in {timeout:g} s"
    return f"cannot reach registry {host}: {exc}"


def _ping_error(exc: BaseException, host: str, scheme: str) -> str:
    """containers/image's words for a registry it cannot reach (it pings ``/v2/`` first,
    over https, then over http for an insecure registry, and reports the last try)."""
    os_error = getattr(exc, "os_error", None) or exc
    errno = getattr(os_error, "errno", None)
    if errno == 111:
        why = f"dial tcp {host}: connect: connection refused"
    elif isinstance(exc, TimeoutError):
        why = f"dial tcp {host}: i/o timeout"
    else:
        why = str(exc)
    return f'pinging container registry {host}: Get "{scheme}://{host}/v2/": {why}'


class RegistryClient:
    """One session for one run of checks; tokens are kept per (host, scope) for the run."""

    def __init__(self, conf: RegistriesConf | None = None, *, tls_verify: bool | None = None,
                 authfile_path: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.conf = conf or RegistriesConf()
        self.tls_verify = tls_verify
        self.authfile = authfile_path
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[tuple[str, str], str] = {}
        self._schemes: dict[str, str] = {}  # host -> the scheme that worked

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=self.timeout, connect=CONNECT_TIMEOUT))
        return self._session

    def insecure(self, ref: ImageRef) -> bool:
        if self.tls_verify is not None:
            return not self.tls_verify
        return self.conf.is_insecure(ref.registry, ref.repository)

    def credentials(self, ref: ImageRef, authfile_path: str | None = None
                    ) -> authfile.Credentials | None:
        return authfile.lookup(ref.registry, ref.repository, authfile_path or self.authfile)

    # -- requests
    async def _send(self, method: str, ref: ImageRef, path: str, headers: dict[str, str],
                    ) -> tuple[int, dict[str, str], bytes]:
        host = ref.api_host
        schemes = [self._schemes[host]] if host in self._schemes else (
            ["https", "http"] if self.insecure(ref) else ["https"])
        ssl_arg = not self.insecure(ref)  # only https uses it
        last: BaseException | None = None
        last_scheme = schemes[0]
        for scheme in schemes:
            url = f"{scheme}://{host}/v2/{ref.repository}/{path}"
            try:
                async with self.session.request(
                        method, url, headers=headers, ssl=ssl_arg) as resp:
                    body = await resp.read()
                    self._schemes[host] = scheme
                    return resp.status, {k.lower(): v for k, v in resp.headers.items()}, body
            except TimeoutError as exc:
                raise RegistryError(_reason(exc, host, self.timeout),
                                    _ping_error(exc, host, scheme)) from None
            except (aiohttp.ClientError, OSError) as exc:
                logger.debug("%s %s failed: %s", method, url, exc)
                last, last_scheme = exc, scheme
        assert last is not None
        raise RegistryError(_reason(last, host, self.timeout),
                            _ping_error(last, host, last_scheme))

    async def _request(self, method: str, ref: ImageRef, path: str, accept: str = "",
                       authfile_path: str | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Accept": accept} if accept else {}
        scope = f"repository:{ref.repository}:pull"
        token = self._tokens.get((ref.api_host, scope))
        if token:
            headers["Authorization"] = token
        status, rh, body = await self._send(method, ref, path, headers)
        if status != 401:
            return status, rh, body
        challenge = rh.get("www-authenticate", "")
        creds = self.credentials(ref, authfile_path)
        scheme, params = parse_www_authenticate(challenge)
        if scheme == "bearer" and params.get("realm"):
            auth = "Bearer " + await self._token(ref, params, scope, creds)
        elif scheme == "basic" and creds is not None:
            auth = creds.basic()
        else:
            raise RegistryError(f"unauthorized: registry {ref.registry} wants credentials "
                                f"for {ref.repository} ({challenge or 'no challenge'})")
        self._tokens[(ref.api_host, scope)] = auth
        headers["Authorization"] = auth
        status, rh, body = await self._send(method, ref, path, headers)
        if status == 401:
            raise RegistryError(f"unauthorized: registry {ref.registry} refused the "
                                f"credentials for {ref.repository}")
        return status, rh, body

    async def _token(self, ref: ImageRef, params: dict[str, str], scope: str,
                     creds: authfile.Credentials | None) -> str:
        query = {"scope": params.get("scope") or scope}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"Authorization": creds.basic()} if creds else {}
        realm = params["realm"]
        try:
            async with self.session.get(realm, params=query, headers=headers) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RegistryError(f"unauthorized: the token service {realm} answered "
                                        f"{resp.status} for {ref.repository}")
        except TimeoutError:
            raise RegistryError(f"timeout: token service {realm} did not answer in "
                                f"{self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise RegistryError(f"cannot reach token service {realm}: {exc}") from None
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"bad token answer from {realm}")
        return token

    def _check_status(self, status: int, ref: ImageRef, what: str) -> None:
        if status == 404:
            raise RegistryError(f"not found: {what} of {ref} (404)")
        if status == 429:
            raise RegistryError(f"registry {ref.registry} is rate-limiting us (429)")
        if status >= 400:
            raise RegistryError(f"registry {ref.registry} answered {status} for {what} "
                                f"of {ref}")

    # -- manifests
    async def _get_manifest(self, ref: ImageRef, reference: str,
                            authfile_path: str | None) -> tuple[str, str, dict[str, Any]]:
        status, headers, body = await self._request(
            "GET", ref, f"manifests/{reference}", ACCEPT, authfile_path)
        self._check_status(status, ref, "the manifest")
        media_type = headers.get("content-type", "").split(";")[0].strip()
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError(f"bad manifest for {ref}: not JSON") from None
        if not isinstance(doc, dict):
            raise RegistryError(f"bad manifest for {ref}: not an object")
        media_type = doc.get("mediaType") or media_type
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        return digest, media_type, doc

    async def remote_image(self, ref: ImageRef, want: Platform | None = None,
                           known: frozenset[str] = frozenset(),
                           authfile_path: str | None = None) -> RemoteImage:
        """The digest of the image ``ref`` names for ``want`` (default: this machine).

        A HEAD gives the tag's digest; only a list whose digest is not in ``known``
        (the local image's digests) costs a GET to pick the platform's entry."""
        want = want or Platform.this_machine()
        status, headers, _ = await self._request("HEAD", ref, f"manifests/{ref.tag}", ACCEPT,
                                                 authfile_path)
        self._check_status(status, ref, "the manifest")
        media_type = headers.get("content-type", "").split(";")[0].strip()
        digest = headers.get("docker-content-digest", "")
        if not digest or media_type not in LISTS + SINGLE:
            # No digest header (or an odd type): read the manifest itself.
            digest, media_type, doc = await self._get_manifest(ref, ref.tag, authfile_path)
            if media_type in LISTS:
                return RemoteImage(pick_platform(doc, want), digest, media_type)
            if media_type not in SINGLE:
                raise RegistryError(f"bad manifest for {ref}: unsupported type "
                                    f"{media_type or 'unknown'}")
            return RemoteImage(digest, None, media_type)
        if media_type in SINGLE or digest in known:
            return RemoteImage(digest, None, media_type)
        _, _, doc = await self._get_manifest(ref, digest, authfile_path)
        return RemoteImage(pick_platform(doc, want), digest, media_type)

    async def created(self, ref: ImageRef, digest: str, authfile_path: str | None = None
                      ) -> datetime | None:
        """The ``created`` time in the config of the image manifest ``digest``."""
        _, _, doc = await self._get_manifest(ref, digest, authfile_path)
        config = doc.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            raise RegistryError(f"bad manifest for {ref}: no config")
        status, _, body = await self._request("GET", ref, f"blobs/{config['digest']}",
                                              authfile_path=authfile_path)
        self._check_status(status, ref, "the image config")
        try:
            created = json.loads(body).get("created")
        except (ValueError, AttributeError):
            raise RegistryError(f"bad image config for {ref}") from None
        return parse_time(created) if isinstance(created, str) else None



