"""``podbridge fleet rollout …`` and ``podbridge fleet status ID`` (and ``halt``,
``resume``, ``rollback-rollout``, ``rollouts``): straight through NATS, as
``podbridge fleet hosts``. ``rollout`` writes the rollout and returns; the fleet's
controller (a bridge holding the lease) carries it out."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bridge.errors import BridgeError
from bridge.timespan import parse_timespan
from plugins.rollout.engine import Rollout, Spec
from plugins.rollout.service import RolloutService, status_json


def _duration(text: str) -> float:
    try:
        return parse_timespan(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(args: argparse.Namespace,
         work: Callable[[RolloutService], Awaitable[Any]]) -> Any:
    from bridge.fleet.api import connect_client

    async def run() -> Any:
        client = await connect_client(args)
        try:
            return await work(RolloutService(client))
        finally:
            await client.close()

    return asyncio.run(run())


def _table(r: Rollout) -> str:
    lines = [f"rollout {r.id}: {r.phase}" + (f" ({r.reason})" if r.reason else ""),
             f"image {r.spec.image} pinned at {r.digest}",
             f"{'WAVE':<6} {'HOST':<20} {'STATE':<14} REASON"]
    for i, wave in enumerate(r.waves):
        for name in wave:
            h = r.hosts[name]
            lines.append(f"{'canary' if i == 0 else i:<6} {name:<20} {h.state:<14} "
                         f"{h.reason or '-'}")
    return "\n".join(lines)


def _out(args: argparse.Namespace, r: Rollout, short: bool = False) -> None:
    if args.format == "json":
        print(json.dumps({"id": r.id} if short else status_json(r)))
    else:
        print(r.id if short else _table(r))


def _guard(fn: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            fn(args)
        except BridgeError as exc:
            print(f"podbridge fleet: {exc.message}", file=sys.stderr)
            return 1
        return 0
    return wrapped


@_guard
def cmd_rollout(args: argparse.Namespace) -> None:
    spec = Spec(image=args.image, selector=args.selector, canary=args.canary,
                max_unavailable=args.max_unavailable, probation=args.probation,
                failure_budget=args.failure_budget,
                progress_deadline=args.progress_deadline)
    _out(args, _run(args, lambda svc: svc.start(spec)), short=True)


def _acting(act: Callable[[RolloutService, argparse.Namespace], Awaitable[Rollout]]
            ) -> Callable[[argparse.Namespace], int]:
    """A command that does ``act`` to one rollout and prints the rollout."""
    return _guard(lambda args: _out(args, _run(args, lambda svc: act(svc, args))))


@_guard
def cmd_rollouts(args: argparse.Namespace) -> None:
    rows = _run(args, lambda svc: svc.history(args.limit))
    if args.format == "json":
        print(json.dumps(rows))
    else:
        for s in rows:
            print(f"{s['id']:<24} {s['phase']:<12} {s['image']} {s['selector']}")


def add_fleet_cli(commands: argparse._SubParsersAction[Any]) -> None:
    from bridge.fleet.api import add_fleet_flags

    def common(p: argparse.ArgumentParser) -> None:
        add_fleet_flags(p)
        p.add_argument("--format", choices=("table", "json"), default="table")

    p = commands.add_parser("rollout", help="roll an image out to hosts, canary first",
                            description="Pin IMAGE's digest and update the hosts whose "
                            "containers match the selector: the canary first, then waves "
                            "of at most --max-unavailable; a failure rolls back every host "
                            "that took the digest. Prints the rollout's id and returns.")
    p.add_argument("--image", required=True, help="registry/repo:tag")
    p.add_argument("--selector", required=True, metavar="LABEL=VALUE")
    p.add_argument("--canary", type=int, default=1)
    p.add_argument("--max-unavailable", type=int, default=1)
    p.add_argument("--probation", type=_duration, default=30.0, metavar="DURATION")
    p.add_argument("--failure-budget", type=int, default=0)
    p.add_argument("--progress-deadline", type=_duration, default=120.0, metavar="DURATION")
    common(p)
    p.set_defaults(func=cmd_rollout)
    for name, act, text in (
        ("status", lambda svc, a: svc.get(a.id), "a rollout: phase, digest, each host"),
        ("halt", lambda svc, a: svc.halt(a.id, a.reason or "halted by hand"),
         "stop a rollout where it is"),
        ("resume", lambda svc, a: svc.resume(a.id), "carry on with a halted rollout"),
        ("rollback", lambda svc, a: svc.rollback(a.id, a.reason or "rolled back by hand"),
         "roll back every host that took a rollout's digest")):
        p = commands.add_parser(name, help=text)
        p.add_argument("id")
        if name in ("halt", "rollback"):
            p.add_argument("--reason", default="")
        common(p)
        p.set_defaults(func=_acting(act))
    p = commands.add_parser("rollouts", help="rollouts, newest first")
    p.add_argument("--limit", type=int, default=50)
    common(p)
    p.set_defaults(func=cmd_rollouts)
