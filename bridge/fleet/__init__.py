"""The fleet: bridges joined through NATS JetStream (docs/fleet.md).

``settings`` (the ``[fleet]`` section) and ``api`` (what plugins use through ``ctx.fleet``)
import nothing of NATS; ``link`` and ``kv`` hold the NATS side and are imported only by a
bridge that is in a fleet.
"""
