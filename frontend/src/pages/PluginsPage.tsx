import { DataTable } from "../components/DataTable";
import { StateLabel } from "../components/labels";
import { Unavailable } from "../components/Unavailable";
import { PageFrame } from "../components/ListPage";
import { Content, EmptyState, PageSection, Td, Title, Tr } from "../pf";
import type { RestartStatusRow } from "../generated/contracts";
import { useAppState, useResource } from "../store/hooks";
import { localTime } from "./updates";

function RestartManager() {
  const status = useResource<RestartStatusRow[]>("restart.status", {}, ["restart.**", "container.died"]);
  if (status.error) return <Unavailable what="The restart manager" error={status.error} testId="restart-unavailable" />;
  const rows = Array.isArray(status.data) ? status.data : [];
  if (rows.length === 0) return <Content component="p" data-testid="restart-empty">No container under its watch.</Content>;
  return (
    <DataTable label="Restart manager" testId="restart-table"
               columns={["Container", "Policy", "Restarts", "Last exit code", "Next attempt", "Crash loop"]}>
      {rows.map((r, i) => (
        <Tr key={`${r.name}-${i}`} data-testid="restart-row" data-container={r.name}>
          <Td dataLabel="Container">{r.name}</Td>
          <Td dataLabel="Policy">{r.policy ?? "—"}</Td>
          <Td dataLabel="Restarts">{r.restart_count}</Td>
          <Td dataLabel="Last exit code">{r.last_exit_code ?? "—"}</Td>
          <Td dataLabel="Next attempt">{localTime(r.next_attempt)}</Td>
          <Td dataLabel="Crash loop"><StateLabel value={r.crashloop ? "failed" : "no"} /></Td>
        </Tr>
      ))}
    </DataTable>
  );
}

/** Each plugin's state and last error; kept current by bridge.plugin_* events. */
export function PluginsPage() {
  const { model } = useAppState();
  const plugins = model.plugins;
  return (
    <>
      <PageFrame title="Plugins" summary="The bridge’s plugins. One that fails is restarted with backoff; the bridge lives on.">
        {plugins === null ? <EmptyState variant="sm" titleText="Loading…" headingLevel="h2" />
          : plugins.length === 0 ? <Content component="p" data-testid="plugins-empty">No plugins are installed.</Content> : (
          <DataTable label="Plugins" testId="plugins-table"
                     columns={["Plugin", "Enabled", "State", "Failures", "Started", "Last error"]}>
            {plugins.map((p) => (
              <Tr key={p.name} data-testid={`plugin-row-${p.name}`} data-state={p.state}>
                <Td dataLabel="Plugin">{p.name}</Td>
                <Td dataLabel="Enabled">{p.enabled ? "yes" : "no"}</Td>
                <Td dataLabel="State"><StateLabel value={p.state} testId={`plugin-state-${p.name}`} /></Td>
                <Td dataLabel="Failures">{p.failures ?? 0}</Td>
                <Td dataLabel="Started">{localTime(p.started_at)}</Td>
                <Td dataLabel="Last error" modifier="breakWord" data-testid={`plugin-error-${p.name}`}>
                  {p.last_error ? <code>{p.last_error}</code> : "—"}
                </Td>
              </Tr>
            ))}
          </DataTable>
        )}
      </PageFrame>
      <PageSection>
        <Title headingLevel="h2">Restart manager</Title>
        <RestartManager />
      </PageSection>
    </>
  );
}
