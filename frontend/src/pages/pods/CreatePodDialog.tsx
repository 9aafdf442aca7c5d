import { useState } from "react";
import { notify } from "../../components/notify";
import {
  Alert, Button, Form, FormGroup, FormHelperText, HelperText, HelperTextItem, Modal, ModalBody, ModalFooter,
  ModalHeader, TextInput,
} from "../../pf";
import { getStore } from "../../store/store";
import { toCreateParams, validate, emptyForm, type PortRow } from "../create/createOptions";
import { PortsEditor } from "../create/Editors";
import { useSubmit } from "../../components/useSubmit";

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Create a pod: a name and the ports it publishes (its containers share them). */
export function CreatePodDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [ports, setPorts] = useState<PortRow[]>([]);
  const [tried, setTried] = useState(false);
  const { busy, failure, run } = useSubmit();
  const portErrors = validate({ ...emptyForm("x"), ports });
  const nameError = !name ? "A pod needs a name" : NAME_RE.test(name) ? null : "Letters, digits, _ . - (not first)";
  const errors = tried ? { ...portErrors, ...(nameError ? { name: nameError } : {}) } : {};

  async function submit() {
    setTried(true);
    if (nameError || Object.keys(portErrors).length) return;
    await run(async () => {
      const p = toCreateParams({ ...emptyForm("x"), ports }).ports;
      await getStore().call("pods.create", p ? { name, ports: p } : { name });
      notify(`Created pod ${name}`, "success");
      onCreated();
      onClose();
    });
  }

  return (
    <Modal isOpen variant="small" onClose={busy ? undefined : onClose} aria-labelledby="pod-create-title" data-testid="pod-create-dialog">
      <ModalHeader title="Create pod" labelId="pod-create-title" />
      <ModalBody>
        <Form id="pod-create-form" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
          <FormGroup label="Name" isRequired fieldId="pod-name">
            <TextInput id="pod-name" value={name} onChange={(_e, v) => setName(v)} isRequired data-testid="pod-name"
                       validated={errors.name ? "error" : "default"} />
            {errors.name && <FormHelperText><HelperText><HelperTextItem variant="error">{errors.name}</HelperTextItem></HelperText></FormHelperText>}
          </FormGroup>
          <PortsEditor rows={ports} onChange={setPorts} errors={errors} />
        </Form>
        {failure && <Alert variant="danger" isInline title="The pod was not created" data-testid="pod-create-error">{failure}</Alert>}
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="pod-create-form" isLoading={busy} isDisabled={busy} data-testid="pod-create-submit">Create</Button>
        <Button variant="link" onClick={onClose} isDisabled={busy}>Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
