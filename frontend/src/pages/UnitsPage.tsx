import { useMemo, useState } from "react";
import { StateLabel } from "../components/labels";
import {
  Button, Content, EmptyState, EmptyStateBody, PageSection, Switch, Table, Tbody, Td, Th, Thead,
  Title, Toolbar, ToolbarContent, ToolbarItem, Tr,
} from "../pf";
import { href } from "../router";
import { useAppState } from "../store/hooks";
import { containerList, containerUnits } from "../store/selectors";
import { GenerateDialog } from "./GenerateDialog";

export function UnitsPage() {
  const { model } = useAppState();
  const [all, setAll] = useState(false);
  const [generateFor, setGenerateFor] = useState<string | null>(null);
  const rows = useMemo(() => containerUnits(model, all), [model, all]);
  const names = useMemo(() => containerList(model).map((c) => c.name), [model]);

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Units</Title>
        <Content component="p">The systemd units that run containers, live from systemd.</Content>
      </PageSection>
      <PageSection>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <Button variant="primary" onClick={() => setGenerateFor("")} isDisabled={names.length === 0}
                      data-testid="units-generate">
                Generate unit…
              </Button>
            </ToolbarItem>
            <ToolbarItem alignSelf="center">
              <Switch id="units-all" label="Show every unit the bridge knows" isChecked={all}
                      onChange={(_e, v) => setAll(v)} data-testid="units-show-all" />
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {rows.length === 0 ? (
          <EmptyState variant="sm" titleText="No units run containers" headingLevel="h2" data-testid="units-empty">
            <EmptyStateBody>Generate one for a container with “Generate unit…”.</EmptyStateBody>
          </EmptyState>
        ) : (
          <Table aria-label="Units" variant="compact" gridBreakPoint="grid-md" data-testid="units-table">
            <Thead>
              <Tr>
                <Th>Unit</Th>
                <Th>Container</Th>
                <Th>State</Th>
                <Th>Sub-state</Th>
                <Th>Result</Th>
                <Th>Restarts</Th>
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {rows.map((u) => (
                <Tr key={u.name} data-testid={`unit-row-${u.name}`}>
                  <Td dataLabel="Unit">
                    <span title={u.description}>{u.name}</span>
                    {u.missing && <span className="pb-muted"> (not loaded)</span>}
                  </Td>
                  <Td dataLabel="Container">
                    {u.container ? <a href={href("containers", u.container)}>{u.container}</a> : "—"}
                  </Td>
                  <Td dataLabel="State"><StateLabel value={u.active_state} testId={`unit-state-${u.name}`} /></Td>
                  <Td dataLabel="Sub-state">{u.sub_state ?? "—"}</Td>
                  <Td dataLabel="Result">{u.result ?? "—"}</Td>
                  <Td dataLabel="Restarts" data-testid={`unit-restarts-${u.name}`}>{u.n_restarts ?? "—"}</Td>
                  <Td dataLabel="Actions" modifier="fitContent">
                    {u.container && (
                      <Button variant="secondary" size="sm" onClick={() => setGenerateFor(u.container)}
                              aria-label={`Generate the unit of ${u.container}`} data-testid={`unit-generate-${u.name}`}>
                        Generate…
                      </Button>
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
      </PageSection>
      {generateFor !== null && (
        <GenerateDialog container={generateFor} containers={names} onClose={() => setGenerateFor(null)} />
      )}
    </>
  );
}
