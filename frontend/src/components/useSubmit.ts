import { useState } from "react";
import type { CallError } from "../store/store";

/** A dialog's submit: ``busy`` while ``run``'s action is under way, and the bridge's
 * refusal as "code: message" in ``failure`` (cleared when the next attempt starts). */
export function useSubmit(): {
  busy: boolean;
  failure: string | null;
  run: (action: () => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  async function run(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setFailure(null);
    try {
      await action();
    } catch (err) {
      const e = err as CallError;
      setFailure(`${e.code ?? "failed"}: ${e.message}`);
    } finally {
      setBusy(false);
    }
  }

  return { busy, failure, run };
}
