"""Running one action of a rule for one event, and previewing it (dry-run, ``hooks.test``).

``run`` returns a small JSON-able result, or raises ActionFailed whose message says what
went wrong; the engine records either.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson

from bridge.errors import BridgeError
from bridge.methods import MethodRegistry
from bridge.roles import Caller
from bridge.tasks import within
from plugins.hooks.command import CommandFailed, run_command
from plugins.hooks.conditions import TemplateError, render, render_text
from plugins.hooks.rules import Action, CallAction, CommandAction, PublishAction, WebhookAction
from plugins.hooks.runas import RunAs, RunAsError, clean_env, resolve
from plugins.hooks.webhook import WebhookFailed, post_webhook

logger = logging.getLogger(__name__)

RESULT_LIMIT = 2048  # bytes of a call's result kept in the record

# Publishes an event of the plugin and returns its seq (the engine records its lineage).
PublishFn = Callable[[str, str, dict[str, Any]], int]


class ActionFailed(Exception):
    def __init__(self, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.detail = detail or {}


def encode(obj: Any) -> bytes:
    return orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS)


def command_env(action: CommandAction, event: Mapping[str, Any], rule: str, count: int,
                user: RunAs | None = None) -> dict[str, str]:
    if user is None:  # a preview: as the bridge's own user
        user = resolve(str(os.geteuid()), None)
    env = clean_env(os.environ if action.inherit_env else {"PATH": os.defpath}, user)
    env.update({"PODBRIDGE_RULE": rule, "PODBRIDGE_EVENT_TYPE": str(event.get("type", "")),
                "PODBRIDGE_EVENT_SUBJECT": str(event.get("subject", "")),
                "PODBRIDGE_EVENT_SEQ": str(event.get("seq", "")),
                "PODBRIDGE_EVENT_COUNT": str(count)})
    env.update({k: render_text(v, event) for k, v in action.env.items()})
    return env


def webhook_body(event: Mapping[str, Any], rule: str, count: int) -> bytes:
    """What a webhook receives: the rule, the event, and how many events it stands for."""
    return encode({"rule": rule, "count": count, "event": event})


def preview(action: Action, event: Mapping[str, Any]) -> dict[str, Any]:
    """What the action would do for this event, templates filled in; nothing is run."""
    try:
        if isinstance(action, CommandAction):
            return {"type": "command", "argv": render(action.argv, event, keep_types=False),
                    "env": {k: render_text(v, event) for k, v in action.env.items()},
                    "timeout": action.timeout}
        if isinstance(action, WebhookAction):
            return {"type": "webhook", "url": render_text(action.url, event),
                    "signed": action.secret is not None or action.secret_env is not None}
        if isinstance(action, CallAction):
            return {"type": "call", "method": action.method,
                    "params": render(action.params, event)}
        return {"type": "publish", "topic": action.topic,
                "subject": render_text(action.subject, event),
                "data": render(action.data, event)}
    except TemplateError as exc:
        return {"type": action.type, "error": str(exc)}


class ActionRunner:
    def __init__(self, *, methods: MethodRegistry, session: aiohttp.ClientSession,
                 run_as: str | None = None) -> None:
        self.methods = methods
        self.session = session
        self.run_as = run_as  # the plugin's default user for commands

    async def run(self, action: Action, event: Mapping[str, Any], rule: str, count: int,
                  publish: PublishFn) -> dict[str, Any]:
        try:
            if isinstance(action, CommandAction):
                return await self._command(action, event, rule, count)
            if isinstance(action, WebhookAction):
                return await self._webhook(action, event, rule, count)
            if isinstance(action, CallAction):
                return await self._call(action, event, rule)
            return self._publish(action, event, publish)
        except TemplateError as exc:
            raise ActionFailed(f"{action.describe()}: {exc}") from None

    async def _command(self, action: CommandAction, event: Mapping[str, Any], rule: str,
                       count: int) -> dict[str, Any]:
        try:
            user = resolve(action.run_as, self.run_as)
        except RunAsError as exc:
            raise ActionFailed(str(exc)) from None
        argv = [render_text(a, event) for a in action.argv]
        env = command_env(action, event, rule, count, user)
        try:
            res = await run_command(argv, encode(event), env=env, cwd=action.cwd,
                                    timeout=action.timeout, kill_grace=action.kill_grace,
                                    user=(user.uid, user.gid) if user.switches else None)
        except CommandFailed as exc:
            raise ActionFailed(str(exc)) from None
        result = {"type": "command", "argv": argv, "pid": res.pid, "exit_code": res.exit_code,
                  "timed_out": res.timed_out, "duration": round(res.duration, 3),
                  "output": res.output}
        if res.timed_out:
            raise ActionFailed(f"{argv[0]} ran past its {action.timeout:g}s timeout and was "
                               "killed", result)
        if res.exit_code != 0:
            raise ActionFailed(f"{argv[0]} exited with {res.exit_code}", result)
        return result

    async def _webhook(self, action: WebhookAction, event: Mapping[str, Any], rule: str,
                       count: int) -> dict[str, Any]:
        secret = action.secret
        if action.secret_env is not None:
            secret = os.environ.get(action.secret_env)
            if secret is None:
                raise ActionFailed(f"webhook secret: ${action.secret_env} is not set in the "
                                   "bridge's environment")
        url = render_text(action.url, event)
        try:
            res = await post_webhook(
                self.session, url, webhook_body(event, rule, count), secret=secret,
                headers=action.headers, event_type=str(event.get("type", "")),
                timeout=action.timeout, connect_timeout=action.connect_timeout,
                retries=action.retries, backoff=action.backoff, backoff_max=action.backoff_max)
        except WebhookFailed as exc:
            raise ActionFailed(str(exc), {"type": "webhook", "url": url,
                                          "attempts": exc.attempts, "status": exc.status}
                               ) from None
        return {"type": "webhook", "url": url, "status": res.status, "attempts": res.attempts,
                "delivery": res.delivery}

    async def _call(self, action: CallAction, event: Mapping[str, Any], rule: str
                    ) -> dict[str, Any]:
        params = render(action.params, event)
        # Rules are an admin's to add; the call is audited as the rule's doing.
        caller = Caller(f"hook/{rule}", "admin", "hook")
        try:
            value = await within(self.methods.call(action.method, params, caller),
                                 action.timeout)
        except TimeoutError:
            raise ActionFailed(f"{action.method}: no result within {action.timeout:g}s",
                               {"type": "call", "method": action.method}) from None
        except BridgeError as exc:
            raise ActionFailed(f"{action.method}: {exc.code}: {exc.message}",
                               {"type": "call", "method": action.method, "code": exc.code}
                               ) from None
        result: dict[str, Any] = {"type": "call", "method": action.method, "params": params}
        raw = encode(value)
        if len(raw) <= RESULT_LIMIT:
            result["result"] = json.loads(raw)
        else:
            result["result_truncated"] = True
        return result

    def _publish(self, action: PublishAction, event: Mapping[str, Any], publish: PublishFn
                 ) -> dict[str, Any]:
        subject = render_text(action.subject, event)
        data = render(action.data, event)
        seq = publish(action.topic, subject, data)
        return {"type": "publish", "topic": action.topic, "subject": subject, "seq": seq}
