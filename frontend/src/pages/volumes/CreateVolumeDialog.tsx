import { useState } from "react";
import { notify } from "../../components/notify";
import { FormGroup, HelperText, HelperTextItem, TextInput } from "../../pf";
import { getStore } from "../../store/store";
import { PairsEditor } from "../create/Editors";
import { toVolumeParams, validateVolume, type LabelRow } from "./volumes";
import { useSubmit } from "../../components/useSubmit";
import { FormDialog, Problem } from "../../components/FormDialog";

/** Create a volume: a name (or none: Podman picks one), a driver, labels. */
export function CreateVolumeDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [driver, setDriver] = useState("local");
  const [labels, setLabels] = useState<LabelRow[]>([]);
  const [tried, setTried] = useState(false);
  const { busy, failure, run } = useSubmit();
  const form = { name, driver, labels };
  const problems = validateVolume(form);
  const errors = tried ? problems : {};

  async function submit() {
    setTried(true);
    if (Object.keys(problems).length) return;
    await run(async () => {
      const made = await getStore().call<{ name?: string }>("volumes.create", toVolumeParams(form));
      notify(`Created volume ${made?.name ?? name}`, "success");
      onCreated();
      onClose();
    });
  }

  return (
    <FormDialog title="Create volume" testId="volume-create" busy={busy} failure={failure}
                failureTitle="The volume was not created" onClose={onClose} onSubmit={() => void submit()}>
      <FormGroup label="Name" fieldId="volume-name">
        <TextInput id="volume-name" value={name} onChange={(_e, v) => setName(v)} data-testid="volume-name"
                   placeholder="empty: Podman picks one" validated={errors.name ? "error" : "default"} />
        <Problem text={errors.name} />
      </FormGroup>
      <FormGroup label="Driver" isRequired fieldId="volume-driver">
        <TextInput id="volume-driver" value={driver} onChange={(_e, v) => setDriver(v)} isRequired
                   data-testid="volume-driver" validated={errors.driver ? "error" : "default"} />
        <Problem text={errors.driver} />
      </FormGroup>
      <PairsEditor field="key" label="Labels" prefix="label" addLabel="Add a label" noun="Label" placeholder="name"
                   rows={labels} onChange={setLabels} errors={{}} />
      {errors.labels && <HelperText><HelperTextItem variant="error">{errors.labels}</HelperTextItem></HelperText>}
    </FormDialog>
  );
}
