import { useState } from "react";
import { Alert } from "../pf";
import { target } from "../pages/container/target";
import { href } from "../router";
import { getStore } from "../store/store";
import type { Container } from "../store/types";
import { FormDialog, TextField } from "./FormDialog";
import { notify } from "./notify";
import { renameProblem } from "./rename";
import { useSubmit } from "./useSubmit";

/**
 * "Rename container", as Cockpit's: one field; Podman's refusal (the name is taken) is shown
 * here and keeps what was typed. On the container's own page the address follows the name.
 */
export function RenameDialog({ c, onClose }: { c: Container; onClose: () => void }) {
  const [name, setName] = useState(c.name);
  const { busy, tried, failure, run } = useSubmit();
  const problem = tried ? renameProblem(name.trim(), c.name) : null;

  async function submit() {
    const next = name.trim();
    await run(!renameProblem(next, c.name), async () => {
      await getStore().call("containers.rename", { ...target(c), new_name: next });
      notify(`Renamed ${c.name} to ${next}`, "success");
      onClose();
      // On its own page (any tab): the address follows the name.
      const page = href("containers", c.name);
      if (location.hash === page || location.hash.startsWith(page + "/")) {
        location.hash = href("containers", next) + location.hash.slice(page.length);
      }
    });
  }

  return (
    <FormDialog title={`Rename container ${c.name}`} testId="rename" busy={busy} failure={failure}
                failureTitle="The container was not renamed" submitLabel="Rename" onClose={onClose} onSubmit={() => void submit()}>
      <TextField id="rename-name" label="New container name" value={name} onChange={setName} isRequired autoFocus
                 problem={problem} />
      {c.unit && (
        <Alert variant="warning" isInline isPlain title={`Its unit ${c.unit} names it by its current name`}>
          The unit will not find it under the new name: generate the unit again.
        </Alert>
      )}
    </FormDialog>
  );
}
