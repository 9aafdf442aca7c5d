import { useState } from "react";
import { notify } from "../../components/notify";
import { HelperText, HelperTextItem } from "../../pf";
import { getStore } from "../../store/store";
import { PairsEditor } from "../create/Editors";
import { toVolumeParams, validateVolume, type LabelRow } from "./volumes";
import { useSubmit } from "../../components/useSubmit";
import { FormDialog, TextField } from "../../components/FormDialog";

/** Create a volume: a name (or none: Podman picks one), a driver, labels. */
export function CreateVolumeDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [driver, setDriver] = useState("local");
  const [labels, setLabels] = useState<LabelRow[]>([]);
  const { busy, tried, failure, run } = useSubmit();
  const form = { name, driver, labels };
  const problems = validateVolume(form);
  const errors = tried ? problems : {};

  async function submit() {
    await run(!Object.keys(problems).length, async () => {
      const made = await getStore().call<{ name?: string }>("volumes.create", toVolumeParams(form));
      notify(`Created volume ${made?.name ?? name}`, "success");
      onCreated();
      onClose();
    });
  }

  return (
    <FormDialog title="Create volume" testId="volume-create" busy={busy} failure={failure}
                failureTitle="The volume was not created" onClose={onClose} onSubmit={() => void submit()}>
      <TextField id="volume-name" label="Name" value={name} onChange={setName} placeholder="empty: Podman picks one"
                 problem={errors.name} />
      <TextField id="volume-driver" label="Driver" value={driver} onChange={setDriver} isRequired problem={errors.driver} />
      <PairsEditor field="key" label="Labels" prefix="label" addLabel="Add a label" noun="Label" placeholder="name"
                   rows={labels} onChange={setLabels} errors={{}} />
      {errors.labels && <HelperText><HelperTextItem variant="error">{errors.labels}</HelperTextItem></HelperText>}
    </FormDialog>
  );
}
