import type { Container } from "../../store/types";

/** The params that name a container to the bridge (a user's rootless one goes to its owner's Podman). */
export function target(c: Container): Record<string, unknown> {
  return c.user ? { name: c.id, owner: c.user } : { name: c.name };
}
