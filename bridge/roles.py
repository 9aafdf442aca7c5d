"""Roles: what a credential may do. Each method names the least role it needs when it is
registered; a higher role may do everything a lower one may."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
RANK: dict[str, int] = {name: i for i, name in enumerate(ROLES)}


def allows(have: str, need: str) -> bool:
    """Whether a credential of role ``have`` may call a method that needs ``need``."""
    return RANK.get(have, -1) >= RANK.get(need, len(ROLES))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a call: the credential's name and role, how they proved it (``token`` or
    ``session``) and from where (the peer's address). ``session`` is the session's id
    when the call came with a cookie."""

    name: str
    role: str
    via: str = "token"
    remote: str = ""
    session: str | None = None
