import { useState } from "react";
import { notify } from "../../components/notify";
import { FormDialog } from "../../components/FormDialog";
import { useSubmit } from "../../components/useSubmit";
import { Checkbox } from "../../pf";
import { getStore } from "../../store/store";
import type { Container } from "../../store/types";
import { target } from "./target";

type Mode = "checkpoint" | "restore";

const OPTIONS: Record<Mode, [string, string][]> = {
  checkpoint: [
    ["keep", "Keep all temporary checkpoint files"],
    ["leave_running", "Leave running after writing checkpoint to disk"],
    ["tcp_established", "Support preserving established TCP connections"],
  ],
  restore: [
    ["keep", "Keep all temporary checkpoint files"],
    ["tcp_established", "Restore with established TCP connections"],
    ["ignore_static_ip", "Ignore IP address if set statically"],
    ["ignore_static_mac", "Ignore MAC address if set statically"],
  ],
};

/**
 * "Checkpoint" and "Restore", as Cockpit's: CRIU writes the running container (memory and
 * all) to disk and stops it; a restore brings it back where it was. Rootful Podman only.
 */
export function CheckpointDialog({ c, mode, onClose }: { c: Container; mode: Mode; onClose: () => void }) {
  const [opts, setOpts] = useState<Record<string, boolean>>({});
  const { busy, failure, run } = useSubmit();
  const verb = mode === "checkpoint" ? "Checkpoint" : "Restore";

  async function submit() {
    await run(true, async () => {
      await getStore().call(`containers.${mode}`, { ...target(c), ...opts });
      notify(mode === "checkpoint" ? `Checkpointed ${c.name}` : `Restored ${c.name}`, "success");
      onClose();
    });
  }

  return (
    <FormDialog title={`${verb} container ${c.name}`} testId={mode} variant="medium" busy={busy} failure={failure}
                failureTitle={`${verb} failed`} submitLabel={verb} onClose={onClose} onSubmit={() => void submit()}
                description={mode === "checkpoint"
                  ? "CRIU writes the running container, its memory included, to disk; it then stops unless left running."
                  : "The container starts again from its last checkpoint, where it was."}>
      {OPTIONS[mode].map(([key, label]) => (
        <Checkbox key={key} id={`${mode}-${key}`} label={label} isChecked={!!opts[key]}
                  onChange={(_e, v) => setOpts({ ...opts, [key]: v })} data-testid={`${mode}-${key}`} />
      ))}
    </FormDialog>
  );
}
