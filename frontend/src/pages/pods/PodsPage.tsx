import { Suspense, useState } from "react";
import { lazyPage } from "../../lazyPage";
import { ACTIONS, type Action } from "../../components/ContainerActions";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { StateLabel } from "../../components/labels";
import { run } from "../../components/notify";
import { ListPage } from "../../components/ListPage";
import {
  Button, EmptyStateBody, Flex, FlexItem, Td, ToolbarItem, Tr,
} from "../../pf";
import type { PodRow } from "../../generated/contracts";
import { href } from "../../router";
import { useAppState, useOwnedResources, useResource } from "../../store/hooks";
import { owners } from "../../store/selectors";
import { CreatePodDialog } from "./CreatePodDialog";

const CreateContainerDialog = lazyPage(() => import("../create/CreateContainerDialog"), "CreateContainerDialog");

type Row = PodRow & { user?: string };
const TOPICS = ["pod.*", "container.*"];

/**
 * Pods: create, start, stop, restart, pause and resume, remove (asks first); their
 * containers, live. A root bridge serving users lists each user's pods too (an Owner
 * column), and acts on them in that user's Podman.
 */
export function PodsPage() {
  const pods = useResource<PodRow[]>("pods.list", {}, TOPICS);
  const users = owners(useAppState().model);
  const theirs = useOwnedResources<PodRow[]>("pods.list", users, TOPICS);
  const [creating, setCreating] = useState(false);
  const [adding, setAdding] = useState<Row | null>(null);
  const [removing, setRemoving] = useState<Row | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const list: Row[] = [
    ...(Array.isArray(pods.data) ? pods.data : []),
    ...users.flatMap((user) => (Array.isArray(theirs[user]?.data) ? theirs[user].data ?? [] : []).map((p) => ({ ...p, user }))),
  ];

  async function act(p: Row, action: Action) {
    setBusy(`${p.user ?? ""}/${p.name}/${action}`);
    const ref = { name: p.name, ...(p.user ? { owner: p.user } : {}) };
    await run(`${action} pod ${p.name}`, `pods.${action}`, action === "remove" ? { ...ref, force: true } : ref);
    setBusy(null);
    pods.refresh();
  }

  const table = (
      <DataTable label="Pods" testId="pods-table" actions columns={["Name", users.length > 0 && "Owner", "Status", "Containers"]}>
        {list.map((p) => {
          const members = p.containers.filter((c) => !/-infra$/.test(c.name) && c.id !== p.infra_id);
          const up = /running|degraded|paused/i.test(p.status);
          const paused = /paused/i.test(p.status);
          const button = (a: Action, enabled: boolean, variant: "secondary" | "danger" = "secondary") => (
            <FlexItem key={a}>
              <Button size="sm" variant={variant} isDisabled={!enabled || busy !== null} isLoading={busy === `${p.user ?? ""}/${p.name}/${a}`}
                      data-testid={`pod-${a}-${p.name}`} aria-label={`${ACTIONS[a][0]} pod ${p.name}`}
                      onClick={() => (a === "remove" ? setRemoving(p) : void act(p, a))}>{ACTIONS[a][0]}</Button>
            </FlexItem>);
          return (
            <Tr key={`${p.user ?? ""}/${p.id}`} data-testid={`pod-row-${p.name}`} data-status={p.status.toLowerCase()}
                data-owner={p.user ?? "system"}>
              <Td dataLabel="Name">{p.name}</Td>
              {users.length > 0 && <Td dataLabel="Owner">{p.user ?? "system"}</Td>}
              <Td dataLabel="Status"><StateLabel value={p.status.toLowerCase()} testId={`pod-status-${p.name}`} /></Td>
              <Td dataLabel="Containers">
                {members.length === 0 ? <span className="pb-muted">none</span>
                  : members.map((c, i) => <span key={c.id}>{i > 0 && ", "}<a href={href("containers", c.name)}>{c.name}</a>
                      <span className="pb-muted"> ({c.status.toLowerCase()})</span></span>)}
              </Td>
              <Td dataLabel="Actions" modifier="fitContent">
                <Flex spaceItems={{ default: "spaceItemsXs" }}>
                  {button("start", !up)}
                  {button("stop", up, "danger")}
                  {button("restart", up)}
                  {/* As Cockpit's: Pause while it runs, Resume once paused. */}
                  {paused ? button("unpause", true) : button("pause", /running/i.test(p.status))}
                  <FlexItem><Button size="sm" variant="secondary" onClick={() => setAdding(p)}
                                    aria-label={`Add container to pod ${p.name}`}>Add container</Button></FlexItem>
                  {button("remove", true, "danger")}
                </Flex>
              </Td>
            </Tr>);
        })}
      </DataTable>);

  return (
    <>
      <ListPage title="Pods" testId="pods" resource={pods} isEmpty={list.length === 0} empty={<>
                  <EmptyStateBody>A pod groups containers that share a network and can be started and stopped together.</EmptyStateBody>
                  <Button onClick={() => setCreating(true)}>Create a pod</Button></>}
                summary={pods.data === null ? "…" : `${list.length} pods, ${list.filter((p) => /running/i.test(p.status)).length} running.`}
                toolbar={<ToolbarItem><Button onClick={() => setCreating(true)} data-testid="pods-create">Create pod</Button></ToolbarItem>}>
        {table}
      </ListPage>
      {creating && <CreatePodDialog users={users} onClose={() => setCreating(false)} onCreated={pods.refresh} />}
      {adding && (
        <Suspense fallback={null}>
          <CreateContainerDialog pod={adding.name} initial={{ owner: adding.user ?? "" }} onClose={() => setAdding(null)} />
        </Suspense>)}
      {removing && (
        <ConfirmDialog title={`Remove pod ${removing.name}?`} action="Remove" onConfirm={() => act(removing, "remove")}
                       onClose={() => setRemoving(null)}>
          The pod and every container in it are stopped and removed
          {removing.containers.length > 0 && ` (${removing.containers.map((c) => c.name).join(", ")})`}.
        </ConfirmDialog>
      )}
    </>
  );
}
