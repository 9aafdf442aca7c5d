import type { ReactNode } from "react";
import { Table, Tbody, Th, Thead, Tr } from "../pf";

/**
 * A compact table of records, one heading (which may wrap) a column, that turns into one
 * block a row on a narrow screen; `children` are its rows.
 */
export function DataTable({ label, testId, columns, children }: {
  label: string;
  testId: string;
  columns: string[];
  children: ReactNode;
}) {
  return (
    <Table aria-label={label} variant="compact" gridBreakPoint="grid-md" data-testid={testId}>
      <Thead><Tr>{columns.map((c) => <Th key={c} modifier="wrap">{c}</Th>)}</Tr></Thead>
      <Tbody>{children}</Tbody>
    </Table>
  );
}
