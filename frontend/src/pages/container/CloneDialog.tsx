import { useEffect, useState } from "react";
import { Alert, Bullseye, Button, Modal, ModalBody, ModalFooter, ModalHeader, Spinner } from "../../pf";
import { CallError, getStore } from "../../store/store";
import type { Container } from "../../store/types";
import { CreateContainerDialog } from "../create/CreateContainerDialog";
import type { CreateForm } from "../create/createOptions";
import { formFromInspect } from "../create/cloneForm";
import { target } from "./target";

/**
 * "Clone": the Create dialog, filled with this container's image, command, ports,
 * variables, volumes, restart policy, health check, terminal, limits, pod and owner (read from
 * Podman's inspect).
 */
export function CloneDialog({ c, onClose }: { c: Container; onClose: () => void }) {
  const [initial, setInitial] = useState<Partial<CreateForm> | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const store = getStore();
    (async () => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const info = await store.call<Record<string, any>>("containers.inspect", target(c));
      const image = await store.call<Record<string, unknown>>("images.inspect",
        { name: String(info.Image ?? c.image_id), ...(c.user ? { owner: c.user } : {}) }).catch(() => null);
      if (live) setInitial(formFromInspect(info, image, c.pod, c.user ?? ""));
    })().catch((err: CallError) => { if (live) setFailure(`${err.code ?? "failed"}: ${err.message}`); });
    return () => { live = false; };
  }, [c]);

  if (initial) return <CreateContainerDialog initial={initial} title={`Clone container ${c.name}`} onClose={onClose} />;
  return (
    <Modal isOpen variant="small" onClose={onClose} aria-labelledby="clone-title" data-testid="clone-loading">
      <ModalHeader title={`Clone container ${c.name}`} labelId="clone-title" />
      <ModalBody>
        {failure
          ? <Alert variant="danger" isInline title="Its configuration could not be read" data-testid="clone-error">{failure}</Alert>
          : <Bullseye><Spinner aria-label="Reading its configuration" /></Bullseye>}
      </ModalBody>
      <ModalFooter><Button variant="link" onClick={onClose}>Cancel</Button></ModalFooter>
    </Modal>
  );
}
