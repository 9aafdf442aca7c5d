import { Td } from "../../pf";
import type { Container } from "../../store/types";
import { cpuText, memLimitText, memText } from "./usage";
import type { UsageState } from "./useUsage";

/** The CPU and memory cells of a container's row: "—" when it does not run, "…" until
 * its first figures arrive; a stream that failed says why in the tooltip. */
export function UsageCells({ c, state }: { c: Container; state: UsageState }) {
  const u = state.usage.get(c.id);
  const why = state.failed[c.user ?? ""];
  const running = c.state === "running";
  const cell = (label: string, text: string | null, id: string, hint?: string | null) => {
    const shown = !running ? "—" : text ?? (why ? "—" : "…");
    const title = !running ? "measured while it runs" : text === null ? why ?? "measuring…" : hint ?? undefined;
    return (
      <Td dataLabel={label} modifier="nowrap" data-testid={`container-${id}-${c.name}`} title={title}
          data-measured={text !== null && running ? "true" : "false"}>
        {shown}
      </Td>
    );
  };
  return (
    <>
      {cell("CPU", cpuText(u), "cpu")}
      {cell("Memory", memText(u), "mem", memLimitText(u))}
    </>
  );
}
