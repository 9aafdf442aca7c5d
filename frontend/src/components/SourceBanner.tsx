import { Banner } from "../pf";
import { useAppState, useResource } from "../store/hooks";

interface SourceStatus { connected?: boolean }
interface BridgeStatus { podman?: SourceStatus; systemd?: SourceStatus }

/**
 * Shown while the bridge is up but has lost Podman's API service or systemd's bus (its
 * `bridge.source` events; `bridge.status` when the page opens): the model on screen may be
 * out of date and actions on it fail until the bridge reconnects, which it keeps trying.
 */
export function SourceBanner() {
  const { conn, model } = useAppState();
  const status = useResource<BridgeStatus>("bridge.status", {}, ["bridge.source"]);
  if (conn.phase !== "online" || !status.data) return null;
  const lost = (["podman", "systemd"] as const).filter((k) => status.data?.[k]?.connected === false);
  if (lost.length === 0) return null;
  const names = lost.map((k) => (k === "podman" ? "Podman" : "systemd")).join(" and ");
  const last = [...model.events].reverse().find((e) => e.type === "bridge.source" && lost.includes(e.subject as "podman"));
  const error = typeof last?.data?.error === "string" ? last.data.error : null;
  return (
    <Banner status="danger" className="pb-banner-wrap" data-testid="source-banner" data-lost={lost.join(" ")} role="status" aria-live="polite">
      The bridge cannot reach {names}{error ? ` (${error})` : ""}; it keeps trying. What you see may be out of date,
      and actions fail until {lost.length > 1 ? "they are" : "it is"} back.
    </Banner>
  );
}
