import { useEffect, useState, useSyncExternalStore } from "react";
import { Alert, FormSelect, FormSelectOption } from "../pf";
import { useAppState } from "../store/hooks";
import { pickHost, usePickedHost } from "../store/hostStore";
import { getHomeStore } from "../store/store";

interface FleetStatus { joined: boolean; host?: string }
interface HostRow { host: string; online: boolean }

const REFRESH = 5000;

/** This bridge's fleet (fleet.status) and its hosts, read again every few seconds. */
function useFleetHosts(): { own: string | null; hosts: HostRow[] } {
  const home = getHomeStore();
  const online = useSyncExternalStore(home.subscribe, home.getState).conn.phase === "online";
  const [own, setOwn] = useState<string | null>(null);
  const [hosts, setHosts] = useState<HostRow[]>([]);
  useEffect(() => {
    if (!online) return;
    let stopped = false;
    let t: ReturnType<typeof setInterval> | undefined;
    const load = async () => {
      try {
        const st = await home.call<FleetStatus>("fleet.status");
        if (stopped) return;
        setOwn(st.joined && st.host ? st.host : null);
        if (!st.joined) {
          // In no fleet: nothing to pick until the bridge restarts (and this runs again).
          clearInterval(t);
          return;
        }
        const rows = await home.call<HostRow[]>("fleet.hosts");
        if (!stopped) setHosts(rows);
      } catch {
        // NATS away: keep what we had (the picker still shows the host picked)
      }
    };
    void load();
    t = setInterval(() => void load(), REFRESH);
    return () => { stopped = true; clearInterval(t); };
  }, [home, online]);
  return { own, hosts };
}

/**
 * The masthead's host picker, when this bridge is in a fleet: the host pages (containers,
 * units, images, pods, …) then show the host chosen, through the fleet (hostStore.ts).
 */
export function HostPicker() {
  const { own, hosts } = useFleetHosts();
  const picked = usePickedHost();
  if (own === null) return null;
  const others = hosts.filter((h) => h.host !== own);
  // The host shown stays listed while the list is being read again, or if it went away.
  if (picked !== null && !others.some((h) => h.host === picked)) others.push({ host: picked, online: false });
  return (
    <div style={{ flex: "0 1 16rem", minWidth: "8rem" }}>
      <FormSelect value={picked ?? own} aria-label="Host shown" data-testid="host-picker"
                  onChange={(_e, value) => pickHost(value, own)}>
        <FormSelectOption value={own} label={`${own} (this bridge)`} />
        {others.map((h) => (
          <FormSelectOption key={h.host} value={h.host} label={h.online ? h.host : `${h.host} (offline)`} />
        ))}
      </FormSelect>
    </div>
  );
}

/** Above a host page: which host it shows, when it is not this bridge's own. */
export function RemoteHostNote({ host }: { host: string }) {
  const { conn } = useAppState(); // the shown host's store (hostStore.scopeTo)
  const lost = conn.phase !== "online" && conn.wasOnline && !!conn.message;
  return (
    <Alert variant={lost ? "warning" : "info"} isInline isPlain={!lost} data-testid="remote-host" data-host={host}
           data-reachable={String(!lost)} style={{ margin: "1rem 1.5rem 0" }}
           title={lost ? `Host ${host} cannot be reached through the fleet` : `Host ${host}, through the fleet`}>
      {lost ? `${conn.message}; trying again.`
        : `Actions run on ${host} with your role; logs, metrics and the console need ${host}’s own bridge.`}
    </Alert>
  );
}
