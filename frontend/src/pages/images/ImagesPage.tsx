import { Suspense, useMemo, useState } from "react";
import { lazyPage } from "../../lazyPage";
import TrashIcon from "@patternfly/react-icons/dist/esm/icons/trash-icon.js";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { OwnerChoice } from "../../components/OwnerChoice";
import { OwnerFilter } from "../../components/OwnerFilter";
import { notify, run } from "../../components/notify";
import { ListPage } from "../../components/ListPage";
import {
  Button, Checkbox, EmptyStateBody, ExpandableRowContent, Form, Table, Tbody, Td, TextInput, Th, Thead, ToolbarItem, Tr,
} from "../../pf";
import { href } from "../../router";
import { getStore } from "../../store/store";
import { useAppState, useOwnedResources, useResource } from "../../store/hooks";
import { containerList, ofOwner, ownerOf, owners, toMillis } from "../../store/selectors";
import { bytes } from "../container/metrics";
import { displayName, imageRows, rowKey, type ImageRow } from "./images";
import { PullDialog } from "./PullDialog";
import { ImageDetails } from "./ImageDetails";

const CreateContainerDialog = lazyPage(() => import("../create/CreateContainerDialog"), "CreateContainerDialog");

const TOPICS = ["image.*", "container.create", "container.remove"];
/** An owner's params: the system's (the bridge's own Podman) take none. */
const ownedBy = (user?: string) => (user ? { owner: user } : {});

/**
 * Images: pull (with progress), prune unused ones (asks first), remove, "in use by", create a container from one;
 * a row expands, as Cockpit's, to the image's details and history. A root bridge serving
 * users lists each user's images too (an Owner column and filter), and acts on them in
 * that user's Podman, as Cockpit's page does for a root session.
 */
export function ImagesPage() {
  const { model } = useAppState();
  const list = useResource<unknown>("images.list", {}, TOPICS);
  const users = useMemo(() => owners(model), [model]);
  const theirs = useOwnedResources<unknown>("images.list", users, TOPICS);
  const containers = useMemo(() => containerList(model), [model]);
  const rows = useMemo(() => [
    ...imageRows(list.data, containers.filter((c) => !c.user)),
    ...users.flatMap((user) => imageRows(theirs[user]?.data ?? [], containers.filter((c) => c.user === user))
      .map((r) => ({ ...r, user }))),
  ], [list.data, theirs, users, containers]);
  const [filter, setFilter] = useState("");
  const [owner, setOwner] = useState("");
  const [pruneOwner, setPruneOwner] = useState(""); // "": the system's
  const [pulling, setPulling] = useState(false);
  const [pruning, setPruning] = useState(false);
  const [pruneAll, setPruneAll] = useState(false);
  const [removing, setRemoving] = useState<ImageRow | null>(null);
  const [creating, setCreating] = useState<ImageRow | null>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) => setExpanded((s) => { const n = new Set(s); if (!n.delete(id)) n.add(id); return n; });
  // in_use_by names the containers of the image's owner (images.list asks that owner's Podman)
  const containerOf = useMemo(() => new Map(containers.map((c) => [`${c.user ?? ""}/${c.name}`, c])), [containers]);
  const usersOf = (r: ImageRow) => r.usedBy.map((name) => {
    const c = containerOf.get(`${r.user ?? ""}/${name}`);
    return { name, state: c?.state ?? "unknown", link: href("containers", r.user && c ? c.id : name) };
  });
  const f = filter.trim().toLowerCase();
  const mine = ofOwner(rows, owner);
  const shown = f ? mine.filter((r) => r.names.some((n) => n.toLowerCase().includes(f)) || r.id.includes(f)) : mine;
  const unusedOf = (who: string) => ofOwner(rows, who).filter((r) => r.usedBy.length === 0);
  const unused = unusedOf(owner);
  const total = mine.reduce((a, r) => a + (r.size ?? 0), 0);
  // The owner's list at once (its Podman's events would refresh it too, a moment later).
  const refresh = (user?: string) => { if (user) getStore().refreshResource("images.list", ownedBy(user)); else list.refresh(); };
  const pruneWho = pruneOwner || "system";

  async function prune() {
    const who = pruneWho === "system" ? undefined : pruneWho;
    const r = await run<{ removed?: string[]; space_reclaimed?: number }>(`Prune ${who ? `${who}'s ` : ""}images`, "images.prune",
      { all: pruneAll, ...ownedBy(who) });
    if (r) notify(`Pruned ${r.removed?.length ?? 0} images, ${bytes(r.space_reclaimed ?? 0)} freed`, "success");
    refresh(who);
  }

  async function remove(r: ImageRow) {
    // By its name: an image with several names loses this one (Podman untags it), as `podman rmi NAME` does.
    const ok = await run("Remove " + displayName(r), "images.remove", { name: r.names[0] ?? r.id, ...ownedBy(r.user) },
      `Removed ${displayName(r)}${r.user ? ` (${r.user}'s)` : ""}`);
    if (ok !== undefined) refresh(r.user);
  }

  const table = (
      <Table aria-label="Images" variant="compact" gridBreakPoint="grid-md" data-testid="images-table">
        <Thead><Tr><Th screenReaderText="Details" /><Th>Name</Th>{users.length > 0 && <Th>Owner</Th>}<Th>ID</Th><Th>Created</Th><Th>Size</Th><Th>In use by</Th><Th screenReaderText="Actions" /></Tr></Thead>
          {shown.map((r, rowIndex) => {
            const name = displayName(r);
            const created = toMillis(r.created);
            const key = rowKey(r);
            const isExpanded = expanded.has(key);
            const whose = r.user ? ` (${r.user}'s)` : "";
            return (
              <Tbody key={key} isExpanded={isExpanded}>
              <Tr data-testid="image-row" data-name={name} data-used={r.usedBy.length} data-owner={ownerOf(r)}>
                <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(key), expandId: `image-expand-${rowIndex}` }}
                    data-testid="image-expand" aria-label={`Details of ${name}${whose}`} />
                <Td dataLabel="Name" modifier="breakWord">{name}{r.names.length > 1 && <span className="pb-muted"> +{r.names.length - 1}</span>}</Td>
                {users.length > 0 && <Td dataLabel="Owner" data-testid="image-owner">{ownerOf(r)}</Td>}
                <Td dataLabel="ID"><code>{r.id.replace(/^sha256:/, "").slice(0, 12)}</code></Td>
                <Td dataLabel="Created">{created ? new Date(created).toLocaleDateString() : "—"}</Td>
                <Td dataLabel="Size">{bytes(r.size)}</Td>
                <Td dataLabel="In use by" data-testid="image-used-by">
                  {r.usedBy.length === 0 ? <span className="pb-muted">unused</span>
                    : usersOf(r).map((c, i) => <span key={c.name}>{i > 0 && ", "}<a href={c.link}>{c.name}</a></span>)}
                </Td>
                <Td dataLabel="Actions" modifier="fitContent">
                  <Button variant="secondary" size="sm" onClick={() => setCreating(r)}
                          data-testid="image-run" aria-label={`Create container from ${name}${whose}`}>Create container</Button>{" "}
                  <Button variant="plain" size="sm" icon={<TrashIcon />} aria-label={`Remove ${name}${whose}`} title={`Remove ${name}${whose}`}
                          onClick={() => setRemoving(r)} data-testid="image-remove" />
                </Td>
              </Tr>
              {isExpanded && (
                <Tr isExpanded data-testid="image-expanded">
                  <Td colSpan={users.length > 0 ? 8 : 7} noPadding={false}>
                    <ExpandableRowContent>
                      <ImageDetails image={r} users={usersOf(r)} />
                    </ExpandableRowContent>
                  </Td>
                </Tr>)}
              </Tbody>);
          })}
      </Table>);

  return (
    <>
      <ListPage title="Images" summaryTestId="images-summary" testId="images" resource={list} isEmpty={shown.length === 0}
                empty={<EmptyStateBody>{f ? "None matches the filter." : "Podman has no images: pull one."}</EmptyStateBody>}
                summary={list.data === null ? "…" : `${mine.length} images, ${bytes(total)}; ${unused.length} unused.`}
                toolbar={<>
                  <OwnerFilter users={users} value={owner} onChange={setOwner} testId="images-owner-filter" />
                  <ToolbarItem>
                    <TextInput type="search" aria-label="Filter images" placeholder="Filter by name or ID" value={filter}
                               onChange={(_e, v) => setFilter(v)} data-testid="images-filter" />
                  </ToolbarItem>
                  <ToolbarItem><Button onClick={() => setPulling(true)} data-testid="images-pull">Pull image</Button></ToolbarItem>
                  <ToolbarItem>
                    <Button variant="secondary" onClick={() => { setPruneOwner(owner === "system" ? "" : owner); setPruning(true); }} data-testid="images-prune"
                            isDisabled={list.data === null}>Prune unused images</Button>
                  </ToolbarItem>
                </>}>
        {table}
      </ListPage>
      {pulling && <PullDialog users={users} owner={owner === "system" ? "" : owner} onClose={() => setPulling(false)}
                              onPulled={(who) => refresh(who || undefined)} />}
      {pruning && (
        <ConfirmDialog title="Prune images?" action="Prune" testId="prune-dialog" onConfirm={prune} onClose={() => setPruning(false)}>
          <p>Removes the images no container uses{pruneAll ? "" : " and that have no name (dangling)"}. They
            would have to be pulled or built again.</p>
          {/* One owner's Podman at a time, as `podman image prune` is run by one user. */}
          <Form onSubmit={(e) => e.preventDefault()}>
            <OwnerChoice prefix="prune" value={pruneOwner} users={users} locked={false} onChange={setPruneOwner} />
          </Form>
          <Checkbox id="prune-all" label={`All unused images, named ones too (${unusedOf(pruneWho).length} now)`} isChecked={pruneAll}
                    onChange={(_e, v) => setPruneAll(v)} data-testid="prune-all" />
        </ConfirmDialog>
      )}
      {removing && (
        <ConfirmDialog title={`Remove ${displayName(removing)}?`} action="Remove" onConfirm={() => remove(removing)}
                       onClose={() => setRemoving(null)}>
          {removing.usedBy.length
            ? `It is in use by ${removing.usedBy.join(", ")}: Podman refuses unless those containers are removed first.`
            : "It has to be pulled or built again to be used."}
        </ConfirmDialog>
      )}
      {creating !== null && (
        <Suspense fallback={null}>
          <CreateContainerDialog image={creating.names[0] ?? creating.id} initial={{ owner: creating.user ?? "" }}
                                 onClose={() => setCreating(null)} />
        </Suspense>
      )}
    </>
  );
}
