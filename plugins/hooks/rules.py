"""Rules: ``on`` (a topic glob, a subject glob, conditions) -> actions, with debounce, rate
limit and dry-run. Pydantic models, so a rule from the TOML file or from ``hooks.add`` is
checked once, at the edge, and a bad one is refused with the path of what is wrong.

TOML::

    [[plugins.hooks.rules]]
    name = "crash-alert"
    on = { topic = "container.died", where = ["data.exit_code != 0"] }
    debounce = 10
    actions = [{ type = "webhook", url = "https://example.net/hook", secret_env = "HOOK_KEY" }]
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from typing_extensions import TypedDict

from bridge.contracts import Topic, record
from bridge.events import topic_matches
from bridge.methods import Params
from bridge.store import JournalEntry
from plugins.hooks.conditions import Condition, check_templates

logger = logging.getLogger(__name__)

# Topics the hooks plugin publishes itself; a publish action may not forge them.
class HookData(TypedDict, total=False):
    """A rule's outcome: the event that matched (summarised), and each action's result."""

    rule: str
    event: dict[str, Any]
    count: int
    dry_run: bool
    duration: float
    actions: list[dict[str, Any]]
    error: str
    dropped: bool


@record("hooks.history", owner="hooks")
class HookHistoryEntry(JournalEntry, HookData, total=False):
    """A row of ``hooks.history``: a rule's outcome, as the journal keeps it."""


HOOK_FIRED = Topic("hook.fired", HookData, owner="hooks")
HOOK_FAILED = Topic("hook.failed", HookData, owner="hooks")
RESERVED_TOPICS = frozenset({HOOK_FIRED, HOOK_FAILED})

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_TOPIC_GLOB = re.compile(r"^[A-Za-z0-9_*?-]+(\.[A-Za-z0-9_*?-]+)*$")
_TOPIC = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CommandAction(Params):
    """Run argv (never through a shell) with the event as JSON on stdin."""

    type: Literal["command"]
    argv: list[str] = Field(min_length=1, description="program and arguments; {{path}} "
                            "templates are filled from the event")
    env: dict[str, str] = Field(default_factory=dict)
    inherit_env: bool = Field(True, description="start from the bridge's environment "
                              "(never its secret-looking variables)")
    run_as: str | None = Field(None, max_length=64, description="user (name or uid) to run "
                               "as; default: [plugins.hooks] run_as, else the bridge's own "
                               "user (a root bridge needs one named)")
    cwd: str | None = None
    timeout: float = Field(30.0, gt=0, le=86_400)
    kill_grace: float = Field(2.0, ge=0, le=60, description="seconds between SIGTERM and "
                              "SIGKILL to the process group at the timeout")

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"bad environment variable name {name!r}")
        return env

    @model_validator(mode="after")
    def _templates(self) -> CommandAction:
        check_templates(self.argv)
        check_templates(self.env)
        return self

    def describe(self) -> str:
        return f"run {self.argv!r} (timeout {self.timeout:g}s)"


class WebhookAction(Params):
    """POST the event as JSON, signed with HMAC-SHA256 when a secret is set."""

    type: Literal["webhook"]
    url: str
    secret: str | None = Field(None, description="shared secret of the signature")
    secret_env: str | None = Field(None, description="read the secret from this variable "
                                   "of the bridge's environment when sending")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0, le=600, description="seconds per attempt, in all")
    connect_timeout: float = Field(5.0, gt=0, le=600)
    retries: int = Field(3, ge=0, le=10, description="attempts after the first")
    backoff: float = Field(1.0, ge=0, le=600, description="first delay; doubles each retry")
    backoff_max: float = Field(30.0, ge=0, le=3600)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookAction:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("give secret or secret_env, not both")
        if self.secret_env is not None and not _ENV_NAME.fullmatch(self.secret_env):
            raise ValueError(f"bad environment variable name {self.secret_env!r}")
        check_templates(self.url)
        return self

    def describe(self) -> str:
        return f"POST {self.url}"


class CallAction(Params):
    """Call a bridge method (e.g. ``containers.restart``) with templated params."""

    type: Literal["call"]
    method: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(60.0, gt=0, le=3600)

    @field_validator("method")
    @classmethod
    def _not_hooks(cls, method: str) -> str:
        if method.startswith("hooks."):
            raise ValueError(f"a hook may not call {method!r}: rules do not edit rules")
        return method

    @model_validator(mode="after")
    def _templates(self) -> CallAction:
        check_templates(self.params)
        return self

    def describe(self) -> str:
        return f"call {self.method}"


class PublishAction(Params):
    """Publish an event of the hooks plugin (source ``plugin/hooks``)."""

    type: Literal["publish"]
    topic: str = Field(description="under hook., e.g. hook.alert.crashloop")
    subject: str = "{{subject}}"
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("topic")
    @classmethod
    def _own_topic(cls, topic: str) -> str:
        if not _TOPIC.fullmatch(topic) or not topic.startswith("hook."):
            raise ValueError(f"topic {topic!r}: the hooks plugin publishes under 'hook.' "
                             "(lower-case dotted words, e.g. 'hook.alert.crashloop')")
        if topic in RESERVED_TOPICS:
            raise ValueError(f"topic {topic!r} is the plugin's own; pick another")
        return topic

    @model_validator(mode="after")
    def _templates(self) -> PublishAction:
        check_templates(self.subject)
        check_templates(self.data)
        return self

    def describe(self) -> str:
        return f"publish {self.topic}"


Action = Annotated[CommandAction | WebhookAction | CallAction | PublishAction,
                   Field(discriminator="type")]


class On(Params):
    """Which events: a topic glob (or several), an optional subject glob, conditions."""

    topic: str | list[str] = Field(description="topic glob(s), e.g. container.died")
    subject: str | None = Field(None, description="glob on the subject, e.g. web-*")
    where: list[Condition] = Field(default_factory=list, description="all must hold")

    @field_validator("topic")
    @classmethod
    def _globs(cls, topic: str | list[str]) -> str | list[str]:
        globs = [topic] if isinstance(topic, str) else topic
        if not globs:
            raise ValueError("give at least one topic glob")
        for g in globs:
            if g not in ("*", "**") and not _TOPIC_GLOB.fullmatch(g):
                raise ValueError(f"bad topic glob {g!r}: dotted words with * or ** "
                                 "(e.g. container.*, autoupdate.**)")
        return topic

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.topic,) if isinstance(self.topic, str) else tuple(self.topic)


class RateLimit(Params):
    """At most ``max`` firings in any ``per`` seconds; the rest are suppressed."""

    max: int = Field(ge=1, le=100_000)
    per: float = Field(gt=0, le=86_400)


class Rule(Params):
    name: str = Field(pattern=_NAME)
    description: str = ""
    enabled: bool = True
    on: On
    actions: list[Action] = Field(min_length=1, max_length=16)
    debounce: float = Field(0.0, ge=0, le=86_400, description="fire once, with the last "
                            "event, when a subject has been quiet this many seconds")
    rate_limit: RateLimit | None = None
    dry_run: bool = False

    def topic_matches(self, topic: str) -> bool:
        return topic_matches(self.on.topics, topic)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Does the event (in its JSON shape) satisfy ``on``?"""
        if not self.topic_matches(str(event.get("type", ""))):
            return False
        if self.on.subject is not None and not fnmatchcase(str(event.get("subject", "")),
                                                           self.on.subject):
            return False
        return all(c.check(event) for c in self.on.where)

    def explain(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """How each part of ``on`` fared against the event (for ``hooks.test``)."""
        topic = self.topic_matches(str(event.get("type", "")))
        subject = (None if self.on.subject is None
                   else fnmatchcase(str(event.get("subject", "")), self.on.subject))
        conditions = []
        for c in self.on.where:
            ok, found, actual = c.evaluate(event)
            conditions.append({"condition": c.text(), "found": found, "actual": actual,
                               "result": ok})
        matched = topic and subject is not False and all(c["result"] for c in conditions)
        return {"matched": matched, "topic": topic, "subject": subject,
                "conditions": conditions}

    def public(self) -> dict[str, Any]:
        """The rule as JSON with secrets hidden."""
        doc = self.model_dump(mode="json")
        for action in doc["actions"]:
            if action.get("secret") is not None:
                action["secret"] = "********"
        return doc
