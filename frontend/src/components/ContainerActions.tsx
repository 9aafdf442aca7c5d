import { useState } from "react";
import PlayIcon from "@patternfly/react-icons/dist/esm/icons/play-icon.js";
import RedoIcon from "@patternfly/react-icons/dist/esm/icons/redo-icon.js";
import StopIcon from "@patternfly/react-icons/dist/esm/icons/stop-icon.js";
import { Button, Flex, FlexItem } from "../pf";
import { useAppState } from "../store/hooks";
import type { Container } from "../store/types";
import { run } from "./notify";

type Action = "start" | "stop" | "restart";

const ICONS = { start: <PlayIcon />, stop: <StopIcon />, restart: <RedoIcon /> };

/**
 * Start / stop / restart; the new state arrives as events, not from the call's answer.
 * `compact`: icon buttons (in table rows), each with its label as aria-label and tooltip.
 */
export function ContainerActions({ c, compact = false }: { c: Container; compact?: boolean }) {
  const [busy, setBusy] = useState<Action | null>(null);
  const online = useAppState().conn.phase === "online";
  const up = c.state === "running" || c.state === "paused";

  async function act(action: Action) {
    setBusy(action);
    // A rootless container of a user (a root bridge serving users) goes to its owner's Podman.
    const params = c.user ? { name: c.name, owner: c.user } : { name: c.name };
    const whose = c.user ? ` (${c.user})` : "";
    await run(`${action[0].toUpperCase()}${action.slice(1)} ${c.name}${whose}`, `containers.${action}`, params);
    setBusy(null);
  }

  const button = (action: Action, label: string, enabled: boolean, variant: "secondary" | "danger" = "secondary") => (
    <FlexItem key={action}>
      <Button variant={compact ? "plain" : variant} size="sm" isDisabled={!enabled || !online || busy !== null}
              isLoading={busy === action} icon={compact && busy !== action ? ICONS[action] : undefined}
              aria-label={`${label} ${c.name}`} title={`${label} ${c.name}`}
              data-testid={`container-${action}-${c.name}`} onClick={() => void act(action)}>
        {compact ? null : label}
      </Button>
    </FlexItem>
  );
  return (
    <Flex spaceItems={{ default: "spaceItemsXs" }} flexWrap={{ default: compact ? "nowrap" : "wrap" }}>
      {button("start", "Start", !up)}
      {button("stop", "Stop", up, "danger")}
      {button("restart", "Restart", up)}
    </Flex>
  );
}
