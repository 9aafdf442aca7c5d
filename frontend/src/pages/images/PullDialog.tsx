import { useEffect, useRef, useState } from "react";
import {
  Alert, Button, Checkbox, Form, Modal, ModalBody, ModalFooter, ModalHeader, Progress, ProgressMeasureLocation,
} from "../../pf";
import { CallError, getStore, type Stream } from "../../store/store";
import { TextField } from "../../components/FormDialog";
import { OwnerChoice } from "../../components/OwnerChoice";
import { ImageSearch } from "./ImageSearch";
import { pullStart, pullStep, type PullState } from "./images";

/**
 * Pull an image (typed, or found by a registry search), with a progress bar fed by `images.pull`'s progress stream;
 * into the system's Podman or, for a root bridge serving users, a user's (Cockpit's owner choice).
 */
export function PullDialog({ onClose, onPulled, users = [], owner: initialOwner = "" }: {
  onClose: () => void; onPulled: (owner: string) => void; users?: string[]; owner?: string;
}) {
  const [ref, setRef] = useState("");
  const [owner, setOwner] = useState(initialOwner);
  const [tlsVerify, setTlsVerify] = useState(true);
  const [state, setState] = useState<PullState | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const stream = useRef<Stream | null>(null);
  useEffect(() => () => stream.current?.close(), []);
  const pulling = state !== null && !state.done && !state.error && !failure;

  async function pull() {
    setFailure(null);
    setState(pullStart());
    try {
      stream.current = await getStore().stream("images.pull",
        { reference: ref.trim(), progress: true, ...(tlsVerify ? {} : { tls_verify: false }), ...(owner ? { owner } : {}) }, {
          onData: (item) => setState((s) => pullStep(s ?? pullStart(), item)),
          onEnd: (end) => {
            stream.current = null;
            if (end.reason === "eof") { setState((s) => s && (s.done ? s : { ...s, done: true, percent: 100 })); onPulled(owner); }
            else setFailure(end.error ? `${end.error.code}: ${end.error.message}` : `the pull ended: ${end.reason}`);
          },
        });
    } catch (err) {
      const e = err as CallError;
      setFailure(`${e.code ?? "failed"}: ${e.message}`);
    }
  }

  const done = state?.done && !failure;
  return (
    <Modal isOpen variant="large" onClose={onClose} aria-labelledby="pull-title" data-testid="pull-dialog">
      <ModalHeader title="Pull an image" labelId="pull-title" />
      <ModalBody>
        {users.length > 0 && (
          <Form style={{ marginBottom: "1rem" }} onSubmit={(e) => e.preventDefault()}>
            <OwnerChoice prefix="pull" value={owner} users={users} locked={pulling} onChange={setOwner} />
          </Form>)}
        <ImageSearch onPick={setRef} disabled={pulling} tlsVerify={tlsVerify} owner={owner} />
        <Form id="pull-form" style={{ marginTop: "1rem" }} onSubmit={(e) => { e.preventDefault(); if (ref.trim() && !pulling) void pull(); }}>
          <TextField id="pull-ref" label="Image" value={ref} onChange={setRef} isRequired isDisabled={pulling}
                     placeholder="registry.example.com/name:tag" />
          <Checkbox id="pull-tls" label="Verify the registry's TLS certificate" isChecked={tlsVerify}
                    onChange={(_e, v) => setTlsVerify(v)} isDisabled={pulling} data-testid="pull-tls" />
        </Form>
        {state && (
          <div style={{ marginTop: "1rem" }}>
            <Progress value={state.percent ?? undefined} title={done ? "Pulled" : failure ? "Failed" : "Pulling…"}
                      measureLocation={ProgressMeasureLocation.outside} variant={failure ? "danger" : done ? "success" : undefined}
                      aria-label="Pull progress" data-testid="pull-progress" data-percent={state.percent ?? ""} data-shown={state.shown.join(" ")}
                      data-done={done ? "true" : "false"} />
            <pre className="pb-log" style={{ height: "8rem", marginTop: "0.5rem" }} tabIndex={0}
                 aria-label="Pull output" data-testid="pull-output">{state.lines.join("\n")}</pre>
          </div>
        )}
        {failure && <Alert variant="danger" isInline title="The pull failed" data-testid="pull-error">{failure}</Alert>}
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" type="submit" form="pull-form" isLoading={pulling} isDisabled={!ref.trim() || pulling}
                data-testid="pull-submit">
          {pulling ? "Pulling" : done ? "Pull again" : "Pull"}
        </Button>
        <Button variant="link" onClick={onClose} data-testid="pull-close">{done ? "Close" : "Cancel"}</Button>
      </ModalFooter>
    </Modal>
  );
}
