import { Suspense, useEffect, useState } from "react";
import EllipsisVIcon from "@patternfly/react-icons/dist/esm/icons/ellipsis-v-icon.js";
import { lazyPage } from "../lazyPage";
import { Divider, Dropdown, DropdownItem, DropdownList, MenuToggle } from "../pf";
import { useAppState } from "../store/hooks";
import { getStore } from "../store/store";
import type { Container } from "../store/types";
import { run } from "./notify";

// The rename dialog (a Modal) loads when first asked for.
const RenameDialog = lazyPage(() => import("./RenameDialog"), "RenameDialog");
const CommitDialog = lazyPage(() => import("../pages/container/CommitDialog"), "CommitDialog");
const CheckpointDialog = lazyPage(() => import("../pages/container/CheckpointDialog"), "CheckpointDialog");
const CloneDialog = lazyPage(() => import("../pages/container/CloneDialog"), "CloneDialog");

type Dialog = "rename" | "commit" | "clone" | "checkpoint" | "restore";
interface Criu { supported: boolean | null; reason: string | null; checkpointed: boolean }

/** Whether this Podman can checkpoint (asked when the menu opens) and whether a checkpoint
 * of the container waits to be restored. */
function useCriu(c: Container, open: boolean): Criu | null {
  const [criu, setCriu] = useState<Criu | null>(null);
  useEffect(() => {
    if (!open) return;
    let live = true;
    const params: Record<string, unknown> = c.user ? { name: c.id, owner: c.user } : { name: c.name };
    const store = getStore();
    Promise.all([
      store.call<{ supported: boolean | null; reason: string | null }>("containers.checkpoint_support", params),
      store.call<{ checkpointed: boolean }>("containers.details", params),
    ]).then(([s, d]) => { if (live) setCriu({ ...s, checkpointed: d.checkpointed }); })
      .catch(() => { if (live) setCriu(null); });
    return () => { live = false; };
  }, [open, c.id, c.name, c.user, c.state]);
  return criu;
}

/**
 * The less common actions of a container, in a kebab as Cockpit's Podman page has them:
 * Force stop and Force restart (no grace period: Podman sends SIGKILL at once, as
 * `podman stop -t 0`), Rename, Commit, Clone, and Checkpoint / Restore (rootful Podman
 * with CRIU: disabled with the reason where it cannot).
 */
export function ContainerMenu({ c }: { c: Container }) {
  const [open, setOpen] = useState(false);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const criu = useCriu(c, open);
  const online = useAppState().conn.phase === "online";
  const up = c.state === "running" || c.state === "paused";
  const params: Record<string, unknown> = c.user ? { name: c.name, owner: c.user } : { name: c.name };
  const whose = c.user ? ` (${c.user})` : "";

  const show = (d: Dialog) => { setOpen(false); setDialog(d); };
  const close = () => setDialog(null);
  const noCriu = criu?.supported === false;
  const restorable = !!criu?.checkpointed && !up;

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
          {([["rename", "Rename…"], ["commit", "Commit…", "Make an image of it"], ["clone", "Clone…"]] as const).map(([d, label, about]) => (
            <DropdownItem key={d} onClick={() => show(d)} data-testid={`container-${d}-${c.name}`} description={about}>
              {label}
            </DropdownItem>
          ))}
          <Divider component="li" />
          <DropdownItem onClick={() => show("checkpoint")} data-testid={`container-checkpoint-${c.name}`}
                        isDisabled={c.state !== "running" || noCriu} description={noCriu ? criu?.reason : undefined}>
            Checkpoint…
          </DropdownItem>
          {restorable && (
            <DropdownItem onClick={() => show("restore")} data-testid={`container-restore-${c.name}`}
                          isDisabled={noCriu} description={noCriu ? criu?.reason : "From its last checkpoint"}>
              Restore…
            </DropdownItem>
          )}
        </DropdownList>
      </Dropdown>
      {dialog && (
        <Suspense fallback={null}>
          {dialog === "rename" && <RenameDialog c={c} onClose={close} />}
          {dialog === "commit" && <CommitDialog c={c} onClose={close} />}
          {dialog === "clone" && <CloneDialog c={c} onClose={close} />}
          {(dialog === "checkpoint" || dialog === "restore") && <CheckpointDialog c={c} mode={dialog} onClose={close} />}
        </Suspense>
      )}
    </>
  );
}
