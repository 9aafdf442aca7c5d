import { DataTable } from "../components/DataTable";
import { StateLabel } from "../components/labels";
import { Td, Tr } from "../pf";
import { containerOf, type UpdateResult } from "./updates";

/** Rows of `autoupdate.run` results (also the pending list). */
export function UpdateResults({ rows, label, testId, rowTestId }:
    { rows: UpdateResult[]; label: string; testId: string; rowTestId: string }) {
  return (
    <DataTable label={label} testId={testId}
               columns={["Unit", "Container", "Image", "Policy", "Updated", "Reason"]}>
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
    </DataTable>
  );
}
