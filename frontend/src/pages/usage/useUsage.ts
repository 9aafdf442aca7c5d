import { useEffect, useState } from "react";
import { useAppState } from "../../store/hooks";
import { CallError, getStore, type Stream } from "../../store/store";
import { readUsage, type Usage } from "./usage";

export interface UsageState {
  /** by container ID, over every owner's stream */
  usage: ReadonlyMap<string, Usage>;
  /** owner ("" = the bridge's own Podman) -> why its figures are missing */
  failed: Readonly<Record<string, string>>;
}

const RETRY_MS = 3000;

/**
 * One `containers.stats_all` stream per owner while the list shows and the bridge is
 * online (a sample every 3 s): the CPU and memory columns. A stream that ends (Podman's
 * service went away) is opened again a few seconds later.
 */
export function useUsage(owners: readonly string[]): UsageState {
  const online = useAppState().conn.phase === "online";
  const [byOwner, setByOwner] = useState<Record<string, Map<string, Usage>>>({});
  const [failed, setFailed] = useState<Record<string, string>>({});
  const [round, setRound] = useState(0);
  const key = owners.join("\n");

  useEffect(() => {
    if (!online) return;
    let gone = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const streams: Stream[] = [];
    const again = () => { if (!gone && timer === undefined) timer = setTimeout(() => setRound((r) => r + 1), RETRY_MS); };
    for (const owner of key.split("\n")) {
      const params: Record<string, unknown> = { follow: true, interval: 3, ...(owner ? { owner } : {}) };
      getStore().stream("containers.stats_all", params, {
        onData: (item) => {
          if (gone) return;
          setByOwner((b) => ({ ...b, [owner]: readUsage(item) }));
          setFailed((f) => (owner in f ? Object.fromEntries(Object.entries(f).filter(([k]) => k !== owner)) : f));
        },
        onEnd: (end) => {
          if (gone) return;
          setByOwner((b) => ({ ...b, [owner]: new Map() }));
          if (end.error) setFailed((f) => ({ ...f, [owner]: `${end.error?.code}: ${end.error?.message}` }));
          // A limit of the host (a user's Podman on cgroup v1) does not pass by itself.
          if (end.error?.code !== "not-supported") again();
        },
      }).then((s) => { if (gone) s.close(); else streams.push(s); }, (err: CallError) => {
        if (gone) return;
        setFailed((f) => ({ ...f, [owner]: `${err.code ?? "failed"}: ${err.message}` }));
        // Not a limit of the host (cgroup v1 for a user's Podman): worth another try.
        if (err.code !== "not-supported" && err.code !== "unknown-method") again();
      });
    }
    return () => { gone = true; clearTimeout(timer); streams.forEach((s) => s.close()); };
  }, [key, online, round]);

  const usage = new Map<string, Usage>();
  for (const m of Object.values(byOwner)) for (const [id, u] of m) usage.set(id, u);
  return { usage, failed };
}
