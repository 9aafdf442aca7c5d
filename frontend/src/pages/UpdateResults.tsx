import { StateLabel } from "../components/labels";
import { Table, Tbody, Td, Th, Thead, Tr } from "../pf";
import { containerOf, type UpdateResult } from "./updates";

/** Rows of `autoupdate.run` results (also the pending list). */
export function UpdateResults({ rows, label, testId, rowTestId }:
    { rows: UpdateResult[]; label: string; testId: string; rowTestId: string }) {
  return (
    <Table aria-label={label} variant="compact" gridBreakPoint="grid-md" data-testid={testId}>
      <Thead>
        <Tr>
          <Th modifier="wrap">Unit</Th>
          <Th modifier="wrap">Container</Th>
          <Th modifier="wrap">Image</Th>
          <Th modifier="wrap">Policy</Th>
          <Th modifier="wrap">Updated</Th>
          <Th modifier="wrap">Reason</Th>
        </Tr>
      </Thead>
      <Tbody>
        {rows.map((r, i) => (
          <Tr key={`${r.unit}-${containerOf(r)}-${i}`} data-testid={rowTestId} data-container={containerOf(r)}
              data-unit={r.unit} data-updated={r.updated}>
            <Td dataLabel="Unit">{r.unit ?? "—"}</Td>
            <Td dataLabel="Container">{containerOf(r)}</Td>
            <Td dataLabel="Image" modifier="breakWord">{r.image ?? "—"}</Td>
            <Td dataLabel="Policy">{r.policy ?? "—"}</Td>
            <Td dataLabel="Updated"><StateLabel value={r.updated} /></Td>
            <Td dataLabel="Reason" modifier="breakWord">{r.reason || "—"}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}
