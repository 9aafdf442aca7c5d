import type { ComponentProps, ReactNode } from "react";
import {
  Alert, Button, Form, FormGroup, FormHelperText, HelperText, HelperTextItem, Modal, ModalBody, ModalFooter, ModalHeader,
  TextInput,
} from "../pf";

/** A field's problem, under it. */
export function Problem({ text }: { text?: string | null }) {
  return text ? <FormHelperText><HelperText><HelperTextItem variant="error">{text}</HelperTextItem></HelperText></FormHelperText> : null;
}

/**
 * A labelled text field with its problem under it; `id` is also its test id unless a
 * `data-testid` is given. `isRequired` marks the label and makes the browser insist; "mark"
 * only marks it (the form checks it).
 */
export function TextField({ id, label, value, onChange, problem, isRequired, ...input }: {
  id: string; label: string; value: string; onChange: (v: string) => void; problem?: string | null;
  isRequired?: boolean | "mark";
} & Omit<ComponentProps<typeof TextInput>, "id" | "value" | "onChange" | "isRequired">) {
  return (
    <FormGroup label={label} fieldId={id} isRequired={!!isRequired}>
      <TextInput id={id} value={value} onChange={(_e, v) => onChange(v)} isRequired={isRequired === true} data-testid={id}
                 validated={problem ? "error" : "default"} {...input} />
      <Problem text={problem} />
    </FormGroup>
  );
}

/**
 * A dialog that is one form (Create pod, Create volume, Create container, Rename, Commit,
 * Checkpoint): its fields, the bridge's refusal under them, and Create / Cancel; it cannot
 * be closed while the call runs. Test ids are `${testId}-dialog`, `-submit`, `-cancel`, `-error`.
 */
export function FormDialog({ title, description, testId, busy, failure, failureTitle, onClose, onSubmit,
                             submitLabel = "Create", variant = "small", isHorizontal, children }: {
  title: string; description?: string; testId: string; busy: boolean; failure: string | null; failureTitle: string;
  onClose: () => void; onSubmit: () => void; submitLabel?: ReactNode; variant?: "small" | "medium";
  isHorizontal?: boolean; children: ReactNode;
}) {
  const form = `${testId}-form`;
  return (
    <Modal isOpen variant={variant} onClose={busy ? undefined : onClose} aria-labelledby={`${testId}-title`}
           data-testid={`${testId}-dialog`}>
      <ModalHeader title={title} labelId={`${testId}-title`} description={description} />
      <ModalBody>
        <Form id={form} isHorizontal={isHorizontal} onSubmit={(e) => { e.preventDefault(); onSubmit(); }}>{children}</Form>
        {failure && <Alert variant="danger" isInline title={failureTitle} data-testid={`${testId}-error`}>{failure}</Alert>}
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form={form} isLoading={busy} isDisabled={busy} data-testid={`${testId}-submit`}>{submitLabel}</Button>
        <Button variant="link" onClick={onClose} isDisabled={busy} data-testid={`${testId}-cancel`}>Cancel</Button>
      </ModalFooter>
    </Modal>
  );
}
