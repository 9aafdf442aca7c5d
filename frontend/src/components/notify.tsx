/** Toasts for the outcome of actions (start, stop, install, ...), Cockpit-style. */
import { useSyncExternalStore } from "react";
import { Alert, AlertActionCloseButton, AlertGroup } from "../pf";
import { CallError, getStore } from "../store/store";

interface Toast { key: number; title: string; detail?: string; variant: "success" | "danger" | "info" }

let toasts: Toast[] = [];
let next = 1;
const listeners = new Set<() => void>();

function emit() {
  for (const fn of listeners) fn();
}

export function notify(title: string, variant: Toast["variant"] = "info", detail?: string): void {
  const key = next++;
  toasts = [...toasts.slice(-4), { key, title, detail, variant }];
  emit();
  if (variant !== "danger") setTimeout(() => dismiss(key), 6000);
}

function dismiss(key: number) {
  toasts = toasts.filter((t) => t.key !== key);
  emit();
}

/** Runs a method; a failure becomes a toast. Resolves to the data, or undefined on failure. */
export async function run<T>(what: string, method: string, params?: Record<string, unknown>,
                             success?: string): Promise<T | undefined> {
  try {
    const data = await getStore().call<T>(method, params);
    if (success) notify(success, "success");
    return data;
  } catch (err) {
    const e = err as CallError;
    notify(`${what} failed`, "danger", e.code ? `${e.code}: ${e.message}` : String(err));
    return undefined;
  }
}

export function Toasts() {
  const list = useSyncExternalStore(
    (fn) => { listeners.add(fn); return () => listeners.delete(fn); },
    () => toasts);
  return (
    <AlertGroup isToast isLiveRegion data-testid="toasts">
      {list.map((t) => (
        <Alert key={t.key} variant={t.variant} title={t.title} data-testid={`toast-${t.variant}`}
               actionClose={<AlertActionCloseButton onClose={() => dismiss(t.key)} />}>
          {t.detail}
        </Alert>
      ))}
    </AlertGroup>
  );
}
