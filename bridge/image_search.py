"""Registry search: ``images.search`` (Podman's libpod ``/images/search``: a term, a limit,
or the tags of one repository) and ``images.registries`` (the registries the host searches
for a short name, and those registries.conf configures) (docs/protocol.md, section 10).

What a registry answers depends on the registry: Docker Hub and Quay have a search API
(descriptions, stars, official); the CNCF distribution registry has none, and Podman then
lists the registry's ``/v2/_catalog`` and keeps the repositories whose name contains the
term (case-sensitive, no description, no stars). See docs/choices.md, "Registry search".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bridge.errors import BridgeError, NotFound
from bridge.methods import MethodRegistry
from bridge.owners import Owned, podman_of
from bridge.podman import PodmanClient, PodmanError

if TYPE_CHECKING:
    from bridge.app import Bridge

# host[:port], as registries.conf and image references write a registry.
REGISTRY = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$"
# Podman joins several registries' failures as "N error(s) occurred:\n\t* ...".
_MULTI = re.compile(r"\d+ errors? occurred:\s*")
_BULLET = re.compile(r"^\s*\*\s+")
# A registry's "no such repository", as Podman 4 (the HTTP status) and 5 (the registry's
# NAME_UNKNOWN error) word it.
_UNKNOWN = ("404 (Not Found)", "404 Not Found", "not known to registry", "NAME_UNKNOWN")


class SearchParams(Owned):
    term: str = Field(min_length=1, max_length=512, pattern=r"^[^\s]+$",
                      description="a name to look for; REGISTRY/name searches that registry "
                      "only, REGISTRY/ lists what it has; with list_tags, one repository "
                      "(REGISTRY/name)")
    registry: str | None = Field(default=None, max_length=256, pattern=REGISTRY,
                                 description="search only this registry (the term is then "
                                 "REGISTRY/term); default: the term's registry or the "
                                 "host's unqualified-search-registries")
    limit: int = Field(default=25, ge=1, le=100,
                       description="results per registry searched (tags with list_tags)")
    list_tags: bool = False
    tls_verify: bool | None = Field(default=None, description="null: registries.conf decides")


def _clean(message: str) -> str:
    """Podman's multi-error text on one line: '1 error occurred: * couldn't ...' ->
    "couldn't ..."."""
    text = _MULTI.sub("\n", message)
    lines = (_BULLET.sub("", line).strip() for line in text.splitlines())
    return "; ".join(line for line in lines if line).replace(":; ", ": ")


def searched_registries(term: str, search: list[str]) -> list[str]:
    """Which registries Podman searches for ``term``: everything before the first slash
    is the registry (as Podman's libimage reads it), else the host's search list."""
    head, sep, _ = term.partition("/")
    return [head] if sep else list(search)


def result_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"index": r.get("Index") or "", "name": r.get("Name") or "",
            "description": r.get("Description") or "", "stars": int(r.get("Stars") or 0),
            "official": bool(r.get("Official")), "automated": bool(r.get("Automated")),
            "tag": r.get("Tag") or None}


async def host_registries(podman: PodmanClient) -> dict[str, Any]:
    info = await podman.request("GET", "/info", what="podman info") or {}
    regs = dict(info.get("registries") or {})
    search = [str(r) for r in regs.pop("search", None) or []]
    configured = [{"prefix": v.get("Prefix") or k, "location": v.get("Location") or k,
                   "insecure": bool(v.get("Insecure")), "blocked": bool(v.get("Blocked")),
                   "mirrors": [m.get("Location") for m in v.get("Mirrors") or []
                               if isinstance(m, dict)]}
                  for k, v in sorted(regs.items()) if isinstance(v, dict)]
    return {"search": search, "configured": configured}


def register_image_search_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    async def registries(p: Owned) -> dict[str, Any]:
        return await host_registries(podman_of(bridge, p.owner))

    async def search(p: SearchParams) -> dict[str, Any]:
        podman = podman_of(bridge, p.owner)
        term = f"{p.registry}/{p.term.lstrip('/')}" if p.registry else p.term
        if p.list_tags and "/" not in term:
            raise BridgeError("list_tags needs one repository with its registry "
                              "(REGISTRY/name)", "invalid-params")
        regs = searched_registries(term, [] if "/" in term else
                                   (await host_registries(podman))["search"])
        params = {"term": term, "limit": p.limit, "listTags": p.list_tags,
                  "tlsVerify": p.tls_verify}
        what = f"search {term!r}"
        try:
            rows = await podman.request("GET", "/images/search", params=params, what=what,
                                        timeout=90) or []
        except PodmanError as exc:
            # Podman answers 500 for all of these; the registry's 404 is not-found.
            message = _clean(exc.message)
            if any(text in message for text in _UNKNOWN):
                raise NotFound(message) from None
            raise PodmanError(message) from None
        return {"term": term, "registries": regs, "results": [result_row(r) for r in rows]}

    # A search changes nothing (not audited), but makes the host reach the registry the
    # caller names, any host:port, as a pull does: operator, like images.pull.
    methods.register("images.search", search, SearchParams, role="operator", readonly=True,
                     description="search registries for images (or list one repository's "
                     "tags)")
    methods.register("images.registries", registries, Owned, role="viewer", readonly=True,
                     description="the registries the host searches for short names, and "
                     "those it configures")
