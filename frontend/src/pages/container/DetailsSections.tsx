import { useState } from "react";
import { DataTable } from "../../components/DataTable";
import { StateLabel } from "../../components/labels";
import { notify, run } from "../../components/notify";
import type { ContainerDetails, HealthInfo } from "../../generated/contracts";
import { Alert, Button, Content, Flex, FlexItem, PageSection, Spinner, Td, Title, Tr } from "../../pf";
import { useAppState, useResource } from "../../store/hooks";
import type { Container } from "../../store/types";
import { joinCommand } from "../create/cloneForm";
import { localTime } from "../updates";
import { target } from "./target";

function duration(start: string | null, end: string | null): string {
  if (!start || !end) return "—";
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "—";
}

function testText(test: string[]): string {
  return test[0] === "CMD-SHELL" ? test.slice(1).join(" ") : joinCommand(test[0] === "CMD" ? test.slice(1) : test);
}

function HealthSection({ c, health, onRan }: { c: Container; health: HealthInfo; onRan: () => void }) {
  const [busy, setBusy] = useState(false);
  const online = useAppState().conn.phase === "online";
  async function runCheck() {
    setBusy(true);
    const after = await run<HealthInfo | null>(`Health check of ${c.name}`, "containers.healthcheck", target(c));
    setBusy(false);
    if (after === undefined) return; // refused: run's toast said why
    notify(`Health check of ${c.name}: ${after?.status || "done"}`, after?.status === "healthy" ? "success" : "danger");
    onRan();
  }
  const every = health.interval ? `every ${health.interval} s` : "not on a timer";
  return (
    <PageSection aria-labelledby="health-title">
      <Flex justifyContent={{ default: "justifyContentSpaceBetween" }} alignItems={{ default: "alignItemsCenter" }}>
        <FlexItem><Title headingLevel="h2" id="health-title">Health check</Title></FlexItem>
        <FlexItem>
          <Button variant="secondary" size="sm" onClick={() => void runCheck()} isLoading={busy}
                  isDisabled={busy || !online || c.state !== "running"} data-testid="health-run">
            Run health check
          </Button>
        </FlexItem>
      </Flex>
      <Content component="p" data-testid="health-summary">
        <StateLabel value={health.status || "starting"} testId="health-status" />{" "}
        <code>{testText(health.test)}</code>, {every}, {health.retries ?? 3} retries
        {health.failing_streak > 0 && `; failing ${health.failing_streak} time(s) in a row`}
      </Content>
      {health.log.length === 0
        ? <Content component="p" data-testid="health-log-empty">It has not run yet.</Content>
        : (
          <DataTable label={`Last health checks of ${c.name}`} testId="health-log" columns={["Started", "Took", "Exit code", "Output"]}>
            {[...health.log].reverse().map((check, i) => (
              <Tr key={`${check.start}-${i}`}>
                <Td dataLabel="Started">{localTime(check.start)}</Td>
                <Td dataLabel="Took">{duration(check.start, check.end)}</Td>
                <Td dataLabel="Exit code">{check.exit_code ?? "—"}</Td>
                <Td dataLabel="Output"><code className="pb-output">{check.output.trim() || "—"}</code></Td>
              </Tr>
            ))}
          </DataTable>
        )}
    </PageSection>
  );
}

/**
 * What Cockpit's container details show beyond the live model: environment variables,
 * mounts (source, destination, mode) and the health check with its last runs.
 */
export function DetailsSections({ c }: { c: Container }) {
  const details = useResource<ContainerDetails>("containers.details", target(c), ["container.*"]);
  const d = details.data;
  if (!d) {
    return (
      <PageSection>
        {details.error
          ? <Alert variant="warning" isInline title="Its environment, mounts and health check could not be read" data-testid="details-error">
              {details.error.code}: {details.error.message}
            </Alert>
          : <Spinner size="md" aria-label="Loading its environment and mounts" />}
      </PageSection>
    );
  }
  return (
    <>
      {d.health && <HealthSection c={c} health={d.health} onRan={details.refresh} />}
      <PageSection aria-labelledby="env-title">
        <Title headingLevel="h2" id="env-title">Environment</Title>
        {d.env.length === 0 ? <Content component="p">No variables.</Content> : (
          <DataTable label={`Environment of ${c.name}`} testId="container-env" columns={["Name", "Value"]}>
            {d.env.map((e, i) => (
              <Tr key={`${e.name}-${i}`}><Td dataLabel="Name"><code>{e.name}</code></Td><Td dataLabel="Value"><code>{e.value}</code></Td></Tr>
            ))}
          </DataTable>
        )}
      </PageSection>
      <PageSection aria-labelledby="mounts-title">
        <Title headingLevel="h2" id="mounts-title">Mounts</Title>
        {d.mounts.length === 0 ? <Content component="p" data-testid="container-mounts-empty">No volumes or bind mounts.</Content> : (
          <DataTable label={`Mounts of ${c.name}`} testId="container-mounts" columns={["Source", "Destination", "Type", "Mode"]}>
            {d.mounts.map((m) => (
              <Tr key={m.destination}>
                <Td dataLabel="Source"><code>{m.name ?? m.source}</code></Td>
                <Td dataLabel="Destination"><code>{m.destination}</code></Td>
                <Td dataLabel="Type">{m.type}</Td>
                <Td dataLabel="Mode">{m.read_only ? "read-only" : "read-write"}</Td>
              </Tr>
            ))}
          </DataTable>
        )}
      </PageSection>
    </>
  );
}
