import { useState } from "react";
import type { CallError } from "../store/store";

/** A dialog's submit: ``run(valid, action)`` marks the form tried (its fields show their
 * problems from then on) and, when ``valid``, runs ``action``: ``busy`` while it is under
 * way, at the ``step`` it last named, and the bridge's refusal as "code: message" in
 * ``failure`` (cleared when the next attempt starts). */
export function useSubmit(): {
  busy: boolean;
  step: string | null;
  tried: boolean;
  failure: string | null;
  run: (valid: boolean, action: (step: (what: string) => void) => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [step, setStep] = useState<string | null>(null);
  const [tried, setTried] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  async function run(valid: boolean, action: (step: (what: string) => void) => Promise<void>): Promise<void> {
    setTried(true);
    if (!valid) return;
    setBusy(true);
    setFailure(null);
    try {
      await action(setStep);
    } catch (err) {
      const e = err as CallError;
      setFailure(`${e.code ?? "failed"}: ${e.message}`);
    } finally {
      setBusy(false);
      setStep(null);
    }
  }

  return { busy, step, tried, failure, run };
}
