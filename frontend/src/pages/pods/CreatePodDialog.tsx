import { useState } from "react";
import { notify } from "../../components/notify";
import { getStore } from "../../store/store";
import { toCreateParams, validate, emptyForm, type PortRow, type VolumeRow } from "../create/createOptions";
import { PortsEditor, VolumesEditor } from "../create/Editors";
import { useSubmit } from "../../components/useSubmit";
import { FormDialog, TextField } from "../../components/FormDialog";
import { OwnerChoice } from "../../components/OwnerChoice";
import { NAME_RE } from "../../components/rename";

/**
 * Create a pod, as Cockpit's: a name, its owner (a root bridge serving users), the ports
 * it publishes and the volumes it mounts (its containers share both).
 */
export function CreatePodDialog({ onClose, onCreated, users = [] }: { onClose: () => void; onCreated: () => void; users?: string[] }) {
  const [name, setName] = useState("");
  const [owner, setOwner] = useState("");
  const [ports, setPorts] = useState<PortRow[]>([]);
  const [volumes, setVolumes] = useState<VolumeRow[]>([]);
  const { busy, tried, failure, run } = useSubmit();
  // The container form's rules and params for the rows both forms share.
  const shared = { ...emptyForm("x"), ports, volumes };
  const rowErrors = validate(shared);
  const nameError = !name ? "A pod needs a name" : NAME_RE.test(name) ? null : "Letters, digits, _ . - (not first)";
  const errors = tried ? { ...rowErrors, ...(nameError ? { name: nameError } : {}) } : {};

  async function submit() {
    await run(!nameError && !Object.keys(rowErrors).length, async () => {
      const p = toCreateParams(shared);
      await getStore().call("pods.create", { name, ...(owner ? { owner } : {}), ...(p.ports ? { ports: p.ports } : {}), ...(p.volumes ? { volumes: p.volumes } : {}) });
      notify(`Created pod ${name}`, "success");
      onCreated();
      onClose();
    });
  }

  return (
    <FormDialog title="Create pod" testId="pod-create" variant="medium" busy={busy} failure={failure}
                failureTitle="The pod was not created" onClose={onClose} onSubmit={() => void submit()}>
      <TextField id="pod-name" label="Name" value={name} onChange={setName} isRequired problem={errors.name} />
      <OwnerChoice prefix="pod" value={owner} onChange={setOwner} users={users} locked={false} />
      <PortsEditor rows={ports} onChange={setPorts} errors={errors} />
      <VolumesEditor rows={volumes} onChange={setVolumes} errors={errors} />
    </FormDialog>
  );
}
