import { Suspense, useMemo, useState } from "react";
import { lazyPage } from "../../lazyPage";
import TrashIcon from "@patternfly/react-icons/dist/esm/icons/trash-icon.js";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { notify, run } from "../../components/notify";
import { ListPage } from "../../components/ListPage";
import {
  Button, Checkbox, EmptyStateBody, ExpandableRowContent, Table, Tbody, Td, TextInput, Th, Thead, ToolbarItem, Tr,
} from "../../pf";
import { href } from "../../router";
import { useAppState, useResource } from "../../store/hooks";
import { containerList, toMillis } from "../../store/selectors";
import { bytes } from "../container/metrics";
import { displayName, imageRows, type ImageRow } from "./images";
import { PullDialog } from "./PullDialog";
import { ImageDetails } from "./ImageDetails";

const CreateContainerDialog = lazyPage(() => import("../create/CreateContainerDialog"), "CreateContainerDialog");

/**
 * Images: pull (with progress), prune unused ones (asks first), remove, "in use by", create a container from one;
 * a row expands, as Cockpit's, to the image's details and history.
 */
export function ImagesPage() {
  const { model } = useAppState();
  const list = useResource<unknown>("images.list", {}, ["image.*", "container.create", "container.remove"]);
  const rows = useMemo(() => imageRows(list.data, containerList(model)), [list.data, model]);
  const [filter, setFilter] = useState("");
  const [pulling, setPulling] = useState(false);
  const [pruning, setPruning] = useState(false);
  const [pruneAll, setPruneAll] = useState(false);
  const [removing, setRemoving] = useState<ImageRow | null>(null);
  const [creating, setCreating] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) => setExpanded((s) => { const n = new Set(s); if (!n.delete(id)) n.add(id); return n; });
  // in_use_by names the system's containers (images.list is the bridge's own Podman)
  const stateOf = useMemo(() => new Map(containerList(model).filter((c) => !c.user).map((c) => [c.name, c.state])), [model]);
  const f = filter.trim().toLowerCase();
  const shown = f ? rows.filter((r) => r.names.some((n) => n.toLowerCase().includes(f)) || r.id.includes(f)) : rows;
  const unused = rows.filter((r) => r.usedBy.length === 0);
  const total = rows.reduce((a, r) => a + (r.size ?? 0), 0);

  async function prune() {
    const r = await run<{ removed?: string[]; space_reclaimed?: number }>("Prune images", "images.prune", { all: pruneAll });
    if (r) notify(`Pruned ${r.removed?.length ?? 0} images, ${bytes(r.space_reclaimed ?? 0)} freed`, "success");
    list.refresh();
  }

  async function remove(r: ImageRow) {
    // By its name: an image with several names loses this one (Podman untags it), as `podman rmi NAME` does.
    const ok = await run("Remove " + displayName(r), "images.remove", { name: r.names[0] ?? r.id }, `Removed ${displayName(r)}`);
    if (ok !== undefined) list.refresh();
  }

  const table = (
      <Table aria-label="Images" variant="compact" gridBreakPoint="grid-md" data-testid="images-table">
        <Thead><Tr><Th screenReaderText="Details" /><Th>Name</Th><Th>ID</Th><Th>Created</Th><Th>Size</Th><Th>In use by</Th><Th screenReaderText="Actions" /></Tr></Thead>
          {shown.map((r, rowIndex) => {
            const name = displayName(r);
            const created = toMillis(r.created);
            const isExpanded = expanded.has(r.id);
            return (
              <Tbody key={r.id} isExpanded={isExpanded}>
              <Tr data-testid="image-row" data-name={name} data-used={r.usedBy.length}>
                <Td expand={{ rowIndex, isExpanded, onToggle: () => toggle(r.id), expandId: `image-expand-${rowIndex}` }}
                    data-testid="image-expand" aria-label={`Details of ${name}`} />
                <Td dataLabel="Name" modifier="breakWord">{name}{r.names.length > 1 && <span className="pb-muted"> +{r.names.length - 1}</span>}</Td>
                <Td dataLabel="ID"><code>{r.id.replace(/^sha256:/, "").slice(0, 12)}</code></Td>
                <Td dataLabel="Created">{created ? new Date(created).toLocaleDateString() : "—"}</Td>
                <Td dataLabel="Size">{bytes(r.size)}</Td>
                <Td dataLabel="In use by" data-testid="image-used-by">
                  {r.usedBy.length === 0 ? <span className="pb-muted">unused</span>
                    : r.usedBy.map((c, i) => <span key={c}>{i > 0 && ", "}<a href={href("containers", c)}>{c}</a></span>)}
                </Td>
                <Td dataLabel="Actions" modifier="fitContent">
                  <Button variant="secondary" size="sm" onClick={() => setCreating(r.names[0] ?? r.id)}
                          data-testid="image-run" aria-label={`Create container from ${name}`}>Create container</Button>{" "}
                  <Button variant="plain" size="sm" icon={<TrashIcon />} aria-label={`Remove ${name}`} title={`Remove ${name}`}
                          onClick={() => setRemoving(r)} data-testid="image-remove" />
                </Td>
              </Tr>
              {isExpanded && (
                <Tr isExpanded data-testid="image-expanded">
                  <Td colSpan={7} noPadding={false}>
                    <ExpandableRowContent>
                      <ImageDetails image={r} users={r.usedBy.map((c) => ({ name: c, state: stateOf.get(c) ?? "unknown" }))} />
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
                summary={list.data === null ? "…" : `${rows.length} images, ${bytes(total)}; ${unused.length} unused.`}
                toolbar={<>
                  <ToolbarItem>
                    <TextInput type="search" aria-label="Filter images" placeholder="Filter by name or ID" value={filter}
                               onChange={(_e, v) => setFilter(v)} data-testid="images-filter" />
                  </ToolbarItem>
                  <ToolbarItem><Button onClick={() => setPulling(true)} data-testid="images-pull">Pull image</Button></ToolbarItem>
                  <ToolbarItem>
                    <Button variant="secondary" onClick={() => setPruning(true)} data-testid="images-prune"
                            isDisabled={list.data === null}>Prune unused images</Button>
                  </ToolbarItem>
                </>}>
        {table}
      </ListPage>
      {pulling && <PullDialog onClose={() => setPulling(false)} onPulled={list.refresh} />}
      {pruning && (
        <ConfirmDialog title="Prune images?" action="Prune" testId="prune-dialog" onConfirm={prune} onClose={() => setPruning(false)}>
          <p>Removes the images no container uses{pruneAll ? "" : " and that have no name (dangling)"}. They
            would have to be pulled or built again.</p>
          <Checkbox id="prune-all" label={`All unused images, named ones too (${unused.length} now)`} isChecked={pruneAll}
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
        <Suspense fallback={null}><CreateContainerDialog image={creating} onClose={() => setCreating(null)} /></Suspense>
      )}
    </>
  );
}
