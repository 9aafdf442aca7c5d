import { useState, type ReactNode } from "react";
import {
  Alert, DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm, Spinner, Tab, Tabs,
  TabTitleText, Td, Tr,
} from "../../pf";
import { DataTable } from "../../components/DataTable";
import type { ImageLayer } from "../../generated/contracts";
import { useResource } from "../../store/hooks";
import { bytes } from "../container/metrics";
import { displayName, imageFacts, type ImageRow } from "./images";

/** A container as the Images page knows it: enough to link it and say whether it runs. */
export interface UserOf { name: string; state: string; link: string }

/**
 * An image's details, as Cockpit's expanded image row: a Details tab (tags, command,
 * entrypoint, ports, the containers that use it) and a History tab (its layers: created,
 * created by, size, and comments when any layer has one).
 */
export function ImageDetails({ image, users }: { image: ImageRow; users: UserOf[] }) {
  const [tab, setTab] = useState<"details" | "history">("details");
  const name = displayName(image);
  return (
    <div data-testid="image-details">
    <Tabs activeKey={tab} onSelect={(_e, k) => setTab(k as "details" | "history")} aria-label={`Details of ${name}`}
          mountOnEnter>
      <Tab eventKey="details" title={<TabTitleText>Details</TabTitleText>} data-testid="image-details-tab">
        <Facts image={image} users={users} />
      </Tab>
      <Tab eventKey="history" title={<TabTitleText>History</TabTitleText>} data-testid="image-history-tab">
        <History image={image} />
      </Tab>
    </Tabs>
    </div>
  );
}

function Facts({ image, users }: { image: ImageRow; users: UserOf[] }) {
  const info = useResource<Record<string, unknown>>("images.inspect", { name: image.id, ...(image.user ? { owner: image.user } : {}) }, []);
  const facts = imageFacts(info.data);
  const group = (term: string, value: ReactNode, testId?: string) => (
    <DescriptionListGroup key={term}>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription data-testid={testId}>{value}</DescriptionListDescription>
    </DescriptionListGroup>);
  return (
    <DescriptionList isCompact isHorizontal className="pb-image-facts">
      {group("ID", <code>{image.id.replace(/^sha256:/, "")}</code>)}
      {group("Tags", image.names.length ? image.names.join(" ") : <span className="pb-muted">none (dangling)</span>)}
      {info.error && group("Inspect", <span className="pb-muted">{info.error.message}</span>)}
      {facts.command && group("Command", <code>{facts.command}</code>, "image-command")}
      {facts.entrypoint && group("Entrypoint", <code>{facts.entrypoint}</code>)}
      {facts.ports.length > 0 && group("Ports", facts.ports.join(", "))}
      {group("Used by", users.length === 0 ? <span className="pb-muted">No container uses it</span>
        : users.map((c, i) => <span key={c.name}>{i > 0 && ", "}<a href={c.link}>{c.name}</a>
            <span className="pb-muted"> ({c.state})</span></span>), "image-used-by-details")}
    </DescriptionList>
  );
}

function History({ image }: { image: ImageRow }) {
  const history = useResource<ImageLayer[]>("images.history", { name: image.id, ...(image.user ? { owner: image.user } : {}) }, []);
  if (history.error) {
    return <Alert variant="danger" isInline title="Cannot read the image's history">{history.error.message}</Alert>;
  }
  if (!Array.isArray(history.data)) return <Spinner size="md" aria-label="Loading the history" />;
  const layers = history.data;
  const comments = layers.some((l) => l.comment);
  return (
    <DataTable label={`History of ${displayName(image)}`} testId="image-history"
               columns={["ID", "Created", "Created by", "Size", comments && "Comment"]}>
      {layers.map((l, i) => (
        <Tr key={`${l.id}-${i}`} data-testid="image-layer">
          <Td dataLabel="ID">{/^<.*>$/.test(l.id) ? <span className="pb-muted">{l.id}</span>
            : <code>{l.id.replace(/^sha256:/, "").slice(0, 12)}</code>}</Td>
          <Td dataLabel="Created">{l.created ? new Date(l.created).toLocaleString() : "—"}</Td>
          <Td dataLabel="Created by" modifier="breakWord" data-testid="image-layer-created-by"><code>{l.created_by}</code></Td>
          <Td dataLabel="Size" data-testid="image-layer-size">{bytes(l.size)}</Td>
          {comments && <Td dataLabel="Comment">{l.comment}</Td>}
        </Tr>))}
    </DataTable>
  );
}
