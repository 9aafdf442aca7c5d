import { Banner, Button, Flex, FlexItem } from "../pf";
import { useNow } from "../store/hooks";
import type { ConnState } from "../store/store";

/** Shown while the socket is down after having been up; the model stays on screen. */
export function ConnectionBanner({ conn, onRetry }: { conn: ConnState; onRetry: () => void }) {
  const now = useNow(500);
  if (!conn.wasOnline || conn.phase === "online" || conn.phase === "login") return null;
  const secs = conn.retryAt ? Math.max(0, Math.ceil((conn.retryAt - now) / 1000)) : 0;
  const text = conn.phase === "connecting"
    ? "Disconnected from the bridge. Reconnecting…"
    : `Disconnected from the bridge. Reconnecting in ${secs} s.`;
  return (
    <Banner status="warning" isSticky data-testid="disconnected-banner" role="status" aria-live="polite">
      <Flex spaceItems={{ default: "spaceItemsSm" }} alignItems={{ default: "alignItemsCenter" }}>
        <FlexItem>{text} What you see may be out of date.</FlexItem>
        <FlexItem>
          <Button variant="link" isInline onClick={onRetry} data-testid="reconnect-now"
                  isDisabled={conn.phase === "connecting"}>
            Reconnect now
          </Button>
        </FlexItem>
      </Flex>
    </Banner>
  );
}
