import { useMemo } from "react";
import { EventTable } from "../../components/EventTable";
import { StateLabel } from "../../components/labels";
import {
  Content, DescriptionList, DescriptionListDescription, DescriptionListGroup,
  DescriptionListTerm, PageSection, Title,
} from "../../pf";
import { href } from "../../router";
import { useNow } from "../../store/hooks";
import { eventsOfContainer, uptime } from "../../store/selectors";
import type { BusEvent, Container } from "../../store/types";
import { localTime } from "../updates";
import { DetailsSections } from "./DetailsSections";

/** A container's Overview tab: its fields, labels and recent events. */
export function ContainerOverview({ container: c, events }: { container: Container; events: BusEvent[] }) {
  const now = useNow(1000);
  const mine = useMemo(() => eventsOfContainer(events, c), [events, c]);

  const ports = c.ports.map((p) =>
    `${p.host_ip ? p.host_ip + ":" : ""}${p.host_port ?? ""}→${p.container_port ?? ""}/${p.protocol ?? "tcp"}`);
  const fields: [string, React.ReactNode, string][] = [
    ["ID", <code>{c.id.slice(0, 12)}</code>, "id"],
    ["Image", c.image, "image"],
    ["State", <><StateLabel value={c.state} testId="detail-state" /> {uptime(c, now) && `up ${uptime(c, now)}`}</>, "state"],
    ["Health", <StateLabel value={c.health} />, "health"],
    ["Exit code", c.exit_code ?? "—", "exit-code"],
    ["Started", localTime(c.started_at), "started"],
    ["Created", localTime(c.created_at), "created"],
    ["Unit", c.unit ? <a href={href("units")}>{c.unit}</a> : "—", "unit"],
    ["Restart policy", `${c.restart_policy ?? "—"} (${c.restart_count} restarts)`, "restart"],
    ["Pod", c.pod || "—", "pod"],
    ["Ports", ports.length ? ports.join(", ") : "—", "ports"],
  ];
  const labels = Object.entries(c.labels ?? {});

  return (
    <>
      <PageSection>
        <DescriptionList isHorizontal isCompact columnModifier={{ lg: "2Col" }} data-testid="container-detail">
          {fields.map(([term, value, id]) => (
            <DescriptionListGroup key={id}>
              <DescriptionListTerm>{term}</DescriptionListTerm>
              <DescriptionListDescription data-testid={`detail-field-${id}`}>{value}</DescriptionListDescription>
            </DescriptionListGroup>
          ))}
        </DescriptionList>
        {labels.length > 0 && (
          <details style={{ marginTop: "1rem" }}>
            <summary>Labels ({labels.length})</summary>
            <ul className="pb-labels">
              {labels.map(([k, v]) => <li key={k}><code>{k}</code>={v}</li>)}
            </ul>
          </details>
        )}
      </PageSection>
      <DetailsSections c={c} />
      <PageSection>
        <Title headingLevel="h2">Recent events</Title>
        <Content component="small">
          This container’s events, its unit’s and the plugins’ about it, newest first.
        </Content>
        {mine.length === 0
          ? <Content component="p" data-testid="container-events-empty">No events seen yet.</Content>
          : <EventTable events={mine} limit={100} label={`Events of ${c.name}`} testId="container-events" />}
      </PageSection>
    </>
  );
}
