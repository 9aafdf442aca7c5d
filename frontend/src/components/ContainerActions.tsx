import { Suspense, useState } from "react";
import { lazyPage } from "../lazyPage";
import PauseIcon from "@patternfly/react-icons/dist/esm/icons/pause-icon.js";
import PlayIcon from "@patternfly/react-icons/dist/esm/icons/play-icon.js";
import RedoIcon from "@patternfly/react-icons/dist/esm/icons/redo-icon.js";
import StopIcon from "@patternfly/react-icons/dist/esm/icons/stop-icon.js";
import TrashIcon from "@patternfly/react-icons/dist/esm/icons/trash-icon.js";
import { Button, Flex, FlexItem } from "../pf";
import { href } from "../router";
import { useAppState } from "../store/hooks";
import type { Container } from "../store/types";
import { ContainerMenu } from "./ContainerMenu";
import { run } from "./notify";

// The dialog (PatternFly's Modal) is not needed for the first page to show.
const ConfirmDialog = lazyPage(() => import("./ConfirmDialog"), "ConfirmDialog");

/** Each action's label (a pod's too) and its icon in a table row. */
export const ACTIONS = {
  start: ["Start", <PlayIcon />], stop: ["Stop", <StopIcon />], restart: ["Restart", <RedoIcon />],
  pause: ["Pause", <PauseIcon />], unpause: ["Resume", <PlayIcon />], remove: ["Remove", <TrashIcon />],
} satisfies Record<string, [string, React.ReactNode]>;
export type Action = keyof typeof ACTIONS;

/**
 * Start / stop / restart (and, on the container's own page, pause / resume / remove); the
 * new state arrives as events, not from the call's answer. Remove asks first (a stop loses nothing).
 * `compact`: icon buttons (in table rows), each with its label as aria-label and tooltip.
 * Force stop, force restart and rename are in the kebab after them (ContainerMenu).
 */
export function ContainerActions({ c, compact = false }: { c: Container; compact?: boolean }) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [confirm, setConfirm] = useState<Action | null>(null);
  const online = useAppState().conn.phase === "online";
  const up = c.state === "running" || c.state === "paused";

  async function act(action: Action) {
    setBusy(action);
    // A rootless container of a user (a root bridge serving users) goes to its owner's Podman.
    const params: Record<string, unknown> = c.user ? { name: c.name, owner: c.user } : { name: c.name };
    if (action === "remove") params.force = up;
    const whose = c.user ? ` (${c.user})` : "";
    const ok = await run(`${ACTIONS[action][0]} ${c.name}${whose}`, `containers.${action}`, params);
    setBusy(null);
    if (action === "remove" && ok !== undefined && location.hash.startsWith(href("containers", c.name))) {
      location.hash = href("containers");
    }
  }

  const button = (action: Action, enabled: boolean, variant: "secondary" | "danger" = "secondary", ask = false) => (
    <FlexItem key={action}>
      <Button variant={compact ? "plain" : variant} size="sm" isDisabled={!enabled || !online || busy !== null}
              isLoading={busy === action} icon={compact && busy !== action ? ACTIONS[action][1] : undefined}
              aria-label={`${ACTIONS[action][0]} ${c.name}`} title={`${ACTIONS[action][0]} ${c.name}`}
              data-testid={`container-${action}-${c.name}`}
              onClick={() => (ask ? setConfirm(action) : void act(action))}>
        {compact ? null : ACTIONS[action][0]}
      </Button>
    </FlexItem>
  );
  return (
    <>
      <Flex spaceItems={{ default: "spaceItemsXs" }} flexWrap={{ default: compact ? "nowrap" : "wrap" }}>
        {button("start", !up)}
        {button("stop", up, "danger")}
        {button("restart", up)}
        {!compact && (c.state === "paused" ? button("unpause", true) : button("pause", c.state === "running"))}
        {!compact && button("remove", true, "danger", true)}
        <FlexItem><ContainerMenu c={c} /></FlexItem>
      </Flex>
      {confirm && (
        <Suspense fallback={null}><ConfirmDialog title={`Remove ${c.name}?`} action={up ? "Stop and remove" : "Remove"}
                       onConfirm={() => act(confirm)} onClose={() => setConfirm(null)}>
          The container {up ? "is running; it will be stopped, and " : ""}its writable layer and
          its logs are deleted. Its image and named volumes stay.
          {c.unit && <p>Its unit <code>{c.unit}</code> may start it again, or fail: remove the unit too.</p>}
        </ConfirmDialog></Suspense>
      )}
    </>
  );
}
