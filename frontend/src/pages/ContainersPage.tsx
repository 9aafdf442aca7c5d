import { Suspense, useMemo, useState } from "react";
import { lazyPage } from "../lazyPage";
import { ContainerActions } from "../components/ContainerActions";
import { DataTable } from "../components/DataTable";
import { StateLabel } from "../components/labels";
import { OwnerFilter } from "../components/OwnerFilter";
import { PageFrame } from "../components/ListPage";
import { Button, EmptyState, EmptyStateBody, Td, TextInput, ToolbarItem, Tr } from "../pf";
import { href } from "../router";
import { useAppState, useNow } from "../store/hooks";
import { containerList, findContainer, ofOwner, ownerOf, owners, uptime } from "../store/selectors";
import { UsageCells } from "./usage/UsageCells";
import { useUsage } from "./usage/useUsage";

// A container's page (logs, console with xterm.js, metrics) and the create dialog are
// chunks of their own: the list, the first page, loads without them.
const ContainerPage = lazyPage(() => import("./container/ContainerPage"), "ContainerPage");
const CreateContainerDialog = lazyPage(() => import("./create/CreateContainerDialog"), "CreateContainerDialog");

export function ContainersPage({ name, tab }: { name?: string; tab?: string }) {
  const { model } = useAppState();
  if (name !== undefined) {
    return <ContainerPage name={name} tab={tab} container={findContainer(model, name)} events={model.events} />;
  }
  return <ContainerList />;
}

function ContainerList() {
  const { model } = useAppState();
  const now = useNow(1000);
  const [filter, setFilter] = useState("");
  const [owner, setOwner] = useState("");
  const [creating, setCreating] = useState(false);
  const all = useMemo(() => containerList(model), [model]);
  const users = useMemo(() => owners(model), [model]);
  const feeds = useMemo(() => ["", ...users], [users]);
  const usage = useUsage(feeds);
  const f = filter.trim().toLowerCase();
  const mine = ofOwner(all, owner);
  const shown = f ? mine.filter((c) => c.name.toLowerCase().includes(f) || c.image.toLowerCase().includes(f)) : mine;

  const toolbar = (
    <>
      <ToolbarItem>
        <TextInput type="search" aria-label="Filter containers by name or image" placeholder="Filter by name or image"
                   value={filter} onChange={(_e, v) => setFilter(v)} data-testid="container-filter" />
      </ToolbarItem>
      <OwnerFilter users={users} value={owner} onChange={setOwner} testId="container-owner-filter" />
      <ToolbarItem>
        <Button variant="primary" onClick={() => setCreating(true)} data-testid="container-create">
          Create container
        </Button>
      </ToolbarItem>
    </>
  );

  return (
    <>
      <PageFrame title="Containers"
                 summary={`${all.length} containers, ${all.filter((c) => c.state === "running").length} running. Live from the bridge.`}
                 toolbar={toolbar}>
        {!model.loaded ? (
          <EmptyState variant="sm" titleText="Loading the containers…" headingLevel="h2" data-testid="containers-loading" />
        ) : shown.length === 0 ? (
          <EmptyState variant="sm" titleText="No containers" headingLevel="h2" data-testid="containers-empty">
            <EmptyStateBody>{f ? "None matches the filter." : "Podman has no containers."}</EmptyStateBody>
          </EmptyState>
        ) : (
          <DataTable label="Containers" testId="containers-table" actions
                     columns={["Container", users.length > 0 && "Owner", "State", "Health", "Unit", "Restart policy", "Uptime",
                               ["CPU", "fitContent"], ["Memory", "fitContent"]]}>
            {shown.map((c) => (
              <Tr key={c.id} data-testid={`container-row-${c.name}`} data-state={c.state} data-owner={ownerOf(c)}>
                <Td dataLabel="Container" modifier="nowrap">
                  <a href={href("containers", c.user ? c.id : c.name)} data-testid={`container-link-${c.name}`}>{c.name}</a>
                  {/* the image under the name, as Cockpit's list has it: the row stays one line wide */}
                  <div className="pb-muted pb-small pb-ellipsis" title={c.image} data-testid={`container-image-${c.name}`}>{c.image}</div>
                </Td>
                {users.length > 0 && (
                  <Td dataLabel="Owner" data-testid={`container-owner-${c.name}`}
                      title={c.uid !== undefined ? `uid ${c.uid}` : "the system's (root)"}>
                    {ownerOf(c)}
                  </Td>
                )}
                <Td dataLabel="State">
                  <StateLabel value={c.state} testId={`container-state-${c.name}`} />
                  {c.state === "exited" && c.exit_code !== null && c.exit_code !== 0 &&
                    <span className="pb-muted"> ({c.exit_code})</span>}
                </Td>
                <Td dataLabel="Health"><StateLabel value={c.health} testId={`container-health-${c.name}`} /></Td>
                <Td dataLabel="Unit">{c.unit ?? "—"}</Td>
                <Td dataLabel="Restart policy">
                  {c.restart_policy ?? "—"}
                  {c.restart_count > 0 && <span className="pb-muted"> · {c.restart_count} restarts</span>}
                </Td>
                <Td dataLabel="Uptime" modifier="nowrap" data-testid={`container-uptime-${c.name}`}>{uptime(c, now) || "—"}</Td>
                <UsageCells c={c} state={usage} />
                <Td dataLabel="Actions" modifier="fitContent"><ContainerActions c={c} compact /></Td>
              </Tr>
            ))}
          </DataTable>
        )}
      </PageFrame>
      {creating && (
        <Suspense fallback={null}>
          <CreateContainerDialog onClose={() => setCreating(false)} />
        </Suspense>
      )}
    </>
  );
}
