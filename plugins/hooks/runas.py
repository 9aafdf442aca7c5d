"""Who a hook's command runs as, and with what environment: the least rights that work.

A user's bridge runs commands as its own user. A root bridge refuses a ``command`` action
unless a user is named, by the action's ``run_as`` or the plugin's ``run_as`` setting
(naming ``root`` is allowed: it is then a decision, not an accident). Commands never
inherit variables that look like secrets."""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Mapping
from dataclasses import dataclass

SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSW|KEY|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)


class RunAsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RunAs:
    uid: int
    gid: int
    name: str
    home: str

    @property
    def switches(self) -> bool:
        """Whether starting the command changes user (only root can)."""
        return self.uid != os.geteuid()


def resolve(run_as: str | None, default: str | None) -> RunAs:
    """The user a command runs as; RunAsError (a clear message) when it may not run."""
    wanted = run_as or default
    if wanted is None:
        if os.geteuid() == 0:
            raise RunAsError("a root bridge runs no command without a user: set run_as on "
                             "the action (or [plugins.hooks] run_as); \"root\" if you mean it")
        entry = pwd.getpwuid(os.geteuid())
    else:
        try:
            entry = pwd.getpwuid(int(wanted)) if wanted.isdigit() else pwd.getpwnam(wanted)
        except (KeyError, OverflowError):
            raise RunAsError(f"run_as: no user {wanted!r} on this host") from None
    if entry.pw_uid != os.geteuid() and os.geteuid() != 0:
        raise RunAsError(f"run_as: this bridge runs as uid {os.geteuid()} and cannot run "
                         f"commands as {entry.pw_name!r}")
    return RunAs(entry.pw_uid, entry.pw_gid, entry.pw_name, entry.pw_dir)


def clean_env(inherited: Mapping[str, str], user: RunAs) -> dict[str, str]:
    """The bridge's environment without its secrets (or the bridge's own identity when
    the command runs as someone else)."""
    env = {k: v for k, v in inherited.items()
           if not SECRET_NAME.search(k) and not k.startswith("PODBRIDGE_")}
    if user.switches:
        for k in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME",
                  "DBUS_SESSION_BUS_ADDRESS", "MAIL"):
            env.pop(k, None)
        env.update({"HOME": user.home, "USER": user.name, "LOGNAME": user.name})
    return env
