import { Table, Tbody, Td, Th, Thead, Tr } from "../pf";
import type { BusEvent } from "../store/types";

/** The few data fields worth a glance, as "key=value" pairs. */
export function summarise(e: BusEvent): string {
  const d = e.data ?? {};
  const keys = ["state", "exit_code", "health", "active_state", "sub_state", "result",
    "n_restarts", "job", "image", "updated", "error", "reason", "policy"];
  return keys.filter((k) => d[k] !== undefined && d[k] !== null && d[k] !== "")
    .map((k) => `${k}=${typeof d[k] === "object" ? JSON.stringify(d[k]) : String(d[k])}`).join(" ");
}

function shortTime(t: unknown): string {
  const s = String(t ?? "");
  const m = /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(s);
  return m ? m[1] : s;
}

/** Events newest first; at most `limit` rows are drawn. */
export function EventTable({ events, limit = 200, label, testId }:
    { events: BusEvent[]; limit?: number; label: string; testId: string }) {
  const rows = events.slice(-limit).reverse();
  return (
    <Table aria-label={label} variant="compact" gridBreakPoint="grid-md" data-testid={testId}>
      <Thead>
        <Tr>
          <Th modifier="fitContent">Seq</Th>
          <Th modifier="fitContent">Time</Th>
          <Th width={20}>Type</Th>
          <Th width={25}>Subject</Th>
          <Th width={40}>Details</Th>
        </Tr>
      </Thead>
      <Tbody>
        {rows.map((e) => (
          <Tr key={e.id} data-testid="event-row" data-type={e.type} data-subject={e.subject} data-seq={e.seq}>
            <Td dataLabel="Seq">{e.seq}</Td>
            <Td dataLabel="Time"><time dateTime={String(e.time)} title={String(e.time)}>{shortTime(e.time)}</time></Td>
            <Td dataLabel="Type"><code>{e.type}</code></Td>
            <Td dataLabel="Subject" modifier="breakWord">{e.subject}</Td>
            <Td dataLabel="Details" modifier="wrap">{summarise(e)}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
