import type { ReactNode } from "react";
import { Table, Tbody, Th, Thead, Tr } from "../pf";

/**
 * A compact table of records, one heading (which may wrap) a column, that turns into one
 * block a row on a narrow screen; `children` are its rows. A column given as `false` is
 * left out (an Owner column without users), one given as [title, "fitContent"] is as wide
 * as its cells; `actions` adds a last, unlabelled one.
 */
export function DataTable({ label, testId, columns, actions = false, children }: {
  label: string;
  testId: string;
  columns: (string | false | [string, "fitContent"])[];
  actions?: boolean;
  children: ReactNode;
}) {
  return (
    <Table aria-label={label} variant="compact" gridBreakPoint="grid-md" data-testid={testId}>
      <Thead><Tr>
        {columns.map((c) => c && <Th key={String(c)} modifier={Array.isArray(c) ? c[1] : "wrap"}>{Array.isArray(c) ? c[0] : c}</Th>)}
        {actions && <Th screenReaderText="Actions" />}
      </Tr></Thead>
      <Tbody>{children}</Tbody>
    </Table>
  );
}
