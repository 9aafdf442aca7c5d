import { DataTable } from "../components/DataTable";
import { StateLabel } from "../components/labels";
import { Unavailable } from "../components/Unavailable";
import { PageFrame } from "../components/ListPage";
import { Content, EmptyState, Td, Tr } from "../pf";
import type { AuditRecord } from "../generated/contracts";
import { useResource } from "../store/hooks";
import { localTime } from "./updates";

/** The audit trail: every change made through the bridge, newest first (admins only). */
export function AuditPage() {
  const audit = useResource<AuditRecord[]>("audit.list", { limit: 200 }, ["audit.*"]);
  const rows = Array.isArray(audit.data) ? audit.data : null;
  return (
    <PageFrame title="Audit" summary={<>
      Every call that changed something, or was refused: who, with which role, from where,
      what, and how it ended. Secrets in the parameters are masked.
    </>}>
      {audit.error ? <Unavailable what="The audit trail" error={audit.error} testId="audit-unavailable" />
        : rows === null ? <EmptyState variant="sm" titleText="Loading…" headingLevel="h2" />
        : rows.length === 0 ? <Content component="p" data-testid="audit-empty">No change has been made yet.</Content> : (
        <DataTable label="Audit trail" testId="audit-table"
                   columns={["Time", "Who", "From", "Method", "Parameters", "Result", "Duration"]}>
          {rows.map((r) => (
            <Tr key={r.id} data-testid="audit-row" data-method={r.method} data-ok={String(r.ok)}>
              <Td dataLabel="Time">{localTime(r.time)}</Td>
              <Td dataLabel="Who">{r.who} ({r.role})</Td>
              <Td dataLabel="From">{r.remote || r.via}</Td>
              <Td dataLabel="Method"><code>{r.method}</code></Td>
              <Td dataLabel="Parameters" modifier="breakWord"><code>{JSON.stringify(r.params)}</code></Td>
              <Td dataLabel="Result">
                {r.ok ? <StateLabel value="ok" />
                  : <span title={r.result.error?.message}><StateLabel value="failed" /> {r.result.error?.code}</span>}
              </Td>
              <Td dataLabel="Duration">{(r.duration * 1000).toFixed(0)} ms</Td>
            </Tr>
          ))}
        </DataTable>
      )}
    </PageFrame>
  );
}
