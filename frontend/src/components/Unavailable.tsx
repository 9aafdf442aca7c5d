import { EmptyState, EmptyStateBody } from "../pf";
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
