/** Small status labels shared by the pages (Cockpit's colours: green up, red failed). */
import { Label } from "../pf";

type Color = "green" | "red" | "orange" | "grey" | "blue" | "purple" | "yellow";

const STATE_COLOR: Record<string, Color> = {
  running: "green", healthy: "green", active: "green", true: "green", done: "green",
  exited: "grey", stopped: "grey", created: "blue", initialized: "blue", configured: "blue",
  inactive: "grey", dead: "grey", false: "grey",
  paused: "orange", starting: "orange", activating: "orange", deactivating: "orange",
  reloading: "orange", pending: "orange", "rolled back": "purple",
  unhealthy: "red", failed: "red", broken: "red", crashed: "red", removing: "orange",
  disabled: "grey", "not-found": "grey",
  // fleet rollouts (phases and host states)
  passed: "green", canary: "blue", wave: "blue", updating: "orange", deferred: "grey", skipped: "grey",
  halted: "red", "rolling-back": "orange", "rolled-back": "purple", reverting: "orange", reverted: "purple",
  "timed-out": "red", "revert-failed": "red",
};

export function StateLabel({ value, testId }: { value: string | null | undefined; testId?: string }) {
  if (!value) return <span data-testid={testId}>—</span>;
  return (
    <Label isCompact color={STATE_COLOR[value] ?? "grey"} data-testid={testId}>
      {value}
    </Label>
  );
}
