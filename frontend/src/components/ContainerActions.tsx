import { useState } from "react";
import { Button, Flex, FlexItem } from "../pf";
import type { Container } from "../store/types";
import { run } from "./notify";

type Action = "start" | "stop" | "restart";

/** Start / stop / restart; the new state arrives as events, not from the call's answer. */
export function ContainerActions({ c }: { c: Container }) {
  const [busy, setBusy] = useState<Action | null>(null);
  const up = c.state === "running" || c.state === "paused";

  async function act(action: Action) {
    setBusy(action);
    await run(`${action[0].toUpperCase()}${action.slice(1)} ${c.name}`, `containers.${action}`, { name: c.name });
    setBusy(null);
  }

  const button = (action: Action, label: string, enabled: boolean, variant: "secondary" | "danger" = "secondary") => (
    <FlexItem key={action}>
      <Button variant={variant} size="sm" isDisabled={!enabled || busy !== null} isLoading={busy === action}
              aria-label={`${label} ${c.name}`} data-testid={`container-${action}-${c.name}`}
              onClick={() => void act(action)}>
        {label}
      </Button>
    </FlexItem>
  );
  return (
    <Flex spaceItems={{ default: "spaceItemsXs" }} flexWrap={{ default: "nowrap" }}>
      {button("start", "Start", !up)}
      {button("stop", "Stop", up, "danger")}
      {button("restart", "Restart", up)}
    </Flex>
  );
}
