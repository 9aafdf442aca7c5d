import { Suspense, useState } from "react";
import EllipsisVIcon from "@patternfly/react-icons/dist/esm/icons/ellipsis-v-icon.js";
import { lazyPage } from "../lazyPage";
import { Dropdown, DropdownItem, DropdownList, MenuToggle } from "../pf";
import { useAppState } from "../store/hooks";
import type { Container } from "../store/types";
import { run } from "./notify";

// The rename dialog (a Modal) loads when first asked for.
const RenameDialog = lazyPage(() => import("./RenameDialog"), "RenameDialog");

/**
 * The less common actions of a container, in a kebab as Cockpit's Podman page has them:
 * Force stop and Force restart (no grace period: Podman sends SIGKILL at once, as
 * `podman stop -t 0`), and Rename.
 */
export function ContainerMenu({ c }: { c: Container }) {
  const [open, setOpen] = useState(false);
  const [renaming, setRenaming] = useState(false);
  const online = useAppState().conn.phase === "online";
  const up = c.state === "running" || c.state === "paused";
  const params: Record<string, unknown> = c.user ? { name: c.name, owner: c.user } : { name: c.name };
  const whose = c.user ? ` (${c.user})` : "";

  const force = (verb: "stop" | "restart", label: string) => {
    setOpen(false);
    void run(`${label} ${c.name}${whose}`, `containers.${verb}`, { ...params, timeout: 0 });
  };

  return (
    <>
      <Dropdown isOpen={open} onOpenChange={setOpen} popperProps={{ position: "right" }}
                toggle={(ref) => (
                  <MenuToggle ref={ref} variant="plain" isDisabled={!online} isExpanded={open}
                              onClick={() => setOpen(!open)} aria-label={`More actions for ${c.name}`}
                              data-testid={`container-menu-${c.name}`} icon={<EllipsisVIcon />} />
                )}>
        <DropdownList>
          <DropdownItem isDisabled={!up} onClick={() => force("stop", "Force stop")}
                        description="At once, without waiting for it to exit" data-testid={`container-kill-${c.name}`}>
            Force stop
          </DropdownItem>
          <DropdownItem isDisabled={c.state !== "running"} onClick={() => force("restart", "Force restart")}
                        data-testid={`container-force-restart-${c.name}`}>
            Force restart
          </DropdownItem>
          <DropdownItem onClick={() => { setOpen(false); setRenaming(true); }} data-testid={`container-rename-${c.name}`}>
            Rename…
          </DropdownItem>
        </DropdownList>
      </Dropdown>
      {renaming && (
        <Suspense fallback={null}><RenameDialog c={c} onClose={() => setRenaming(false)} /></Suspense>
      )}
    </>
  );
}
