import { useState, type ReactNode } from "react";
import { Button, Modal, ModalBody, ModalFooter, ModalHeader } from "../pf";

/**
 * A confirmation for a destructive action: says what will be lost; the dangerous button
 * is not the default one, and Escape or Cancel changes nothing.
 */
export function ConfirmDialog({ title, children, action, onConfirm, onClose, testId = "confirm-dialog" }: {
  title: string; children: ReactNode; action: string; testId?: string;
  onConfirm: () => Promise<unknown> | void; onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <Modal isOpen variant="small" onClose={busy ? undefined : onClose} aria-labelledby={`${testId}-title`}
           data-testid={testId}>
      <ModalHeader title={title} titleIconVariant="warning" labelId={`${testId}-title`} />
      <ModalBody>{children}</ModalBody>
      <ModalFooter>
        <Button variant="danger" isLoading={busy} isDisabled={busy} data-testid="confirm-yes"
                onClick={async () => { setBusy(true); try { await onConfirm(); } finally { setBusy(false); } onClose(); }}>
          {action}
        </Button>
        <Button variant="link" onClick={onClose} isDisabled={busy} data-testid="confirm-cancel">Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
