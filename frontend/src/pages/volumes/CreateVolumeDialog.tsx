import { useState } from "react";
import { notify } from "../../components/notify";
import {
  Alert, Button, FlexItem, Form, FormGroup, FormHelperText, HelperText, HelperTextItem, Modal, ModalBody, ModalFooter,
  ModalHeader, TextInput,
} from "../../pf";
import { getStore } from "../../store/store";
import { RowsEditor } from "../create/RowsEditor";
import { toVolumeParams, validateVolume, type LabelRow } from "./volumes";
import { useSubmit } from "../../components/useSubmit";

function Problem({ text }: { text?: string }) {
  return text ? <FormHelperText><HelperText><HelperTextItem variant="error">{text}</HelperTextItem></HelperText></FormHelperText> : null;
}

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
    <Modal isOpen variant="small" onClose={busy ? undefined : onClose} aria-labelledby="volume-create-title"
           data-testid="volume-create-dialog">
      <ModalHeader title="Create volume" labelId="volume-create-title" />
      <ModalBody>
        <Form id="volume-create-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
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
          <RowsEditor label="Labels" prefix="label" addLabel="Add a label" rows={labels} onChange={setLabels} errors={{}}
                      blank={{ key: "", value: "" }}
                      render={(r, set, i) => (<>
                        <FlexItem><TextInput aria-label={`Label name ${i + 1}`} placeholder="name" value={r.key}
                                             data-testid="label-key" onChange={(_e, v) => set({ ...r, key: v })} /></FlexItem>
                        <FlexItem><TextInput aria-label={`Label value ${i + 1}`} placeholder="value" value={r.value}
                                             data-testid="label-value" onChange={(_e, v) => set({ ...r, value: v })} /></FlexItem>
                      </>)} />
          {errors.labels && <HelperText><HelperTextItem variant="error">{errors.labels}</HelperTextItem></HelperText>}
        </Form>
        {failure && <Alert variant="danger" isInline title="The volume was not created" data-testid="volume-create-error">{failure}</Alert>}
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="volume-create-form" isLoading={busy} isDisabled={busy} data-testid="volume-create-submit">Create</Button>
        <Button variant="link" onClick={onClose} isDisabled={busy}>Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
