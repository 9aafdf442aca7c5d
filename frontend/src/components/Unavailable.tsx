import { Alert, Button, EmptyState, EmptyStateBody } from "../pf";
import type { RpcError } from "../store/types";

/** A section whose methods the bridge does not offer (its plugin is not installed or not running). */
export function Unavailable({ what, error, testId }: { what: string; error?: RpcError | null; testId?: string }) {
  const missing = !error || error.code === "unknown-method";
  return (
    <EmptyState variant="sm" headingLevel="h3" titleText={missing ? `${what}: not available` : `${what}: failed`}
                data-testid={testId ?? "unavailable"}>
      <EmptyStateBody>
        {missing
          ? "The bridge does not offer this yet: its plugin is not installed or not running. See Plugins."
          : `${error?.code}: ${error?.message}`}
      </EmptyStateBody>
    </EmptyState>
  );
}

export function isUnavailable(error: RpcError | null | undefined): boolean {
  return !!error && error.code === "unknown-method";
}

/** A list or stream the bridge refused: `Unavailable` when it does not offer the method,
 * else an alert with the code and message (and "Try again" when `retry` is given). */
export function Refused({ what, title, error, testId, retry }: {
  what: string; title: string; error: RpcError; testId: string; retry?: () => void;
}) {
  return isUnavailable(error) ? <Unavailable what={what} error={error} />
    : <Alert variant="danger" isInline title={title} data-testid={testId}
             actionLinks={retry && <Button variant="link" isInline onClick={retry}>Try again</Button>}>
        {error.code}: {error.message}
      </Alert>;
}
