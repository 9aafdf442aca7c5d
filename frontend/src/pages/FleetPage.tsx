import { DataTable } from "../components/DataTable";
import { PageFrame } from "../components/ListPage";
import { Alert, Label, PageSection, Td, Title, Tr } from "../pf";
import { summarise } from "../components/EventTable";
import { useResource } from "../store/hooks";
import { useFleetEvents } from "./fleetEvents";

interface HostRow {
  host: string;
  online: boolean;
  last_seen: string | null;
  age: number | null;
  containers: number;
  running: number;
  units: number;
  failing: string[];
}

function seen(row: HostRow): string {
  if (row.age === null) return "never";
  if (row.age < 60) return `${Math.max(0, Math.round(row.age))} s ago`;
  return row.last_seen ?? "";
}

/** The fleet (docs/fleet.md): every host's heartbeat and summary, and every host's events. */
export function FleetPage() {
  // Heartbeats arrive through NATS, not this bridge's bus: read them again every few seconds.
  const hosts = useResource<HostRow[]>("fleet.hosts", {}, ["bridge.*"], 3000);
  const feed = useFleetEvents();
  const rows = hosts.data ?? [];
  const events = feed.events.slice().reverse();
  return (
    <>
      <PageFrame title="Fleet" summary="The hosts of this bridge’s fleet (NATS JetStream): online while their heartbeat is fresh.">
        {hosts.error && (
          <Alert variant="info" isInline title="No fleet" data-testid="fleet-unavailable">
            {hosts.error.message}
          </Alert>
        )}
        <DataTable label="Hosts" testId="fleet-hosts" columns={["Host", "State", "Last seen", "Containers", "Failing units"]}>
          {rows.map((r) => (
            <Tr key={r.host} data-testid="fleet-host" data-host={r.host} data-online={String(r.online)}>
              <Td dataLabel="Host">{r.host}</Td>
              <Td dataLabel="State">
                <Label color={r.online ? "green" : "red"}>{r.online ? "online" : "offline"}</Label>
              </Td>
              <Td dataLabel="Last seen">{seen(r)}</Td>
              <Td dataLabel="Containers">{r.running} running of {r.containers}</Td>
              <Td dataLabel="Failing units" data-testid="fleet-failing">
                {r.failing.length ? r.failing.join(", ") : "none"}
              </Td>
            </Tr>
          ))}
        </DataTable>
      </PageFrame>
      <PageSection>
        <Title headingLevel="h2">Events of all hosts</Title>
        {feed.problem && <Alert variant="info" isInline title={feed.problem} />}
        <DataTable label="Fleet events" testId="fleet-events" columns={["Host", "Time", "Type", "Subject", "Details"]}>
          {events.map((e) => (
            <Tr key={`${e.seq}`} data-testid="fleet-event" data-host={e.host ?? ""} data-type={e.type}>
              <Td dataLabel="Host">{e.host}</Td>
              <Td dataLabel="Time">{String(e.time).replace(/^.*T(\d\d:\d\d:\d\d).*$/, "$1")}</Td>
              <Td dataLabel="Type">{e.type}</Td>
              <Td dataLabel="Subject">{e.subject}</Td>
              <Td dataLabel="Details">{summarise(e)}</Td>
            </Tr>
          ))}
        </DataTable>
      </PageSection>
    </>
  );
}
