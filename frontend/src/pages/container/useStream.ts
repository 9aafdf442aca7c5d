import { useEffect, useRef, useState } from "react";
import { useAppState } from "../../store/hooks";
import { CallError, getStore, type Stream } from "../../store/store";
import type { StreamEnd } from "../../store/streams";

export type StreamStatus =
  | { phase: "idle" }
  | { phase: "opening" }
  | { phase: "open" }
  | { phase: "ended"; end: StreamEnd }
  | { phase: "failed"; code: string; message: string };

/**
 * Opens a stream while `params` is non-null and the bridge is online; closes it when the
 * params change or the component goes. `onItem` gets every data item; `onGap` the drops.
 * `key` re-opens it (a retry). Returns the stream's status and the open stream.
 */
export function useStream(method: string, params: Record<string, unknown> | null,
                          onItem: (item: Record<string, unknown>) => void,
                          onGap?: (n: number) => void, key = 0): { status: StreamStatus; stream: Stream | null } {
  const online = useAppState().conn.phase === "online";
  const [status, setStatus] = useState<StreamStatus>({ phase: "idle" });
  const [stream, setStream] = useState<Stream | null>(null);
  const item = useRef(onItem);
  const gap = useRef(onGap);
  item.current = onItem;
  gap.current = onGap;
  const paramsKey = params === null ? null : JSON.stringify(params);

  useEffect(() => {
    if (paramsKey === null || !online) {
      setStatus({ phase: "idle" });
      return;
    }
    let gone = false;
    let s: Stream | null = null;
    setStatus({ phase: "opening" });
    getStore().stream(method, JSON.parse(paramsKey) as Record<string, unknown>, {
      onData: (i) => { if (!gone) item.current(i); },
      onGap: (n) => { if (!gone) gap.current?.(n); },
      onEnd: (end) => { if (!gone) { setStatus({ phase: "ended", end }); setStream(null); } },
    }).then((opened) => {
      if (gone) { opened.close(); return; }
      s = opened;
      setStream(opened);
      setStatus((st) => (st.phase === "opening" ? { phase: "open" } : st));
    }, (err: CallError) => {
      if (!gone) setStatus({ phase: "failed", code: err.code ?? "failed", message: err.message });
    });
    return () => {
      gone = true;
      s?.close();
      setStream(null);
    };
  }, [method, paramsKey, online, key]);

  return { status, stream };
}
