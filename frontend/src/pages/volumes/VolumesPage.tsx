import { useMemo, useState } from "react";
import TrashIcon from "@patternfly/react-icons/dist/esm/icons/trash-icon.js";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { notify, run } from "../../components/notify";
import { ListPage } from "../../components/ListPage";
import {
  Button, Checkbox, EmptyStateBody, Label, Td, TextInput, ToolbarItem, Tr,
} from "../../pf";
import { href } from "../../router";
import { useResource } from "../../store/hooks";
import { bytes } from "../container/metrics";
import { localTime } from "../updates";
import { CreateVolumeDialog } from "./CreateVolumeDialog";
import { filterVolumes, isAnonymous, shortName, volumeRows, type VolumeRow } from "./volumes";

// A volume's users change when a container is created or removed; the rest with volume events.
const TOPICS = ["volume.*", "container.create", "container.remove"];

/** Volumes: list (driver, mountpoint, created, in use by), create, remove (asks; force when in use), prune. Live. */
export function VolumesPage() {
  const list = useResource<unknown>("volumes.list", {}, TOPICS);
  const rows = useMemo(() => volumeRows(list.data), [list.data]);
  const [filter, setFilter] = useState("");
  const [creating, setCreating] = useState(false);
  const [pruning, setPruning] = useState(false);
  const [removing, setRemoving] = useState<VolumeRow | null>(null);
  const [force, setForce] = useState(false);
  const shown = filterVolumes(rows, filter);
  const unused = rows.filter((r) => r.usedBy.length === 0);

  async function prune() {
    const r = await run<{ removed?: string[]; space_reclaimed?: number }>("Prune volumes", "volumes.prune");
    if (r) notify(`Pruned ${r.removed?.length ?? 0} volumes, ${bytes(r.space_reclaimed ?? 0)} freed`, "success");
    list.refresh();
  }

  async function remove(v: VolumeRow, withForce: boolean) {
    const ok = await run("Remove volume " + shortName(v.name), "volumes.remove", { name: v.name, force: withForce },
      `Removed volume ${shortName(v.name)}`);
    if (ok !== undefined) list.refresh();
  }

  const table = (
      <DataTable label="Volumes" testId="volumes-table" actions columns={["Name", "Driver", "Mountpoint", "Created", "In use by"]}>
        {shown.map((v) => {
          const name = shortName(v.name);
          return (
            <Tr key={v.name} data-testid="volume-row" data-name={v.name} data-used={v.usedBy.length}>
              <Td dataLabel="Name" modifier="breakWord">
                <span title={v.name}>{name}</span>
                {isAnonymous(v.name) && <> <Label isCompact>anonymous</Label></>}
                {Object.entries(v.labels).map(([k, val]) => <span key={k}> <Label isCompact color="blue">{k}={val}</Label></span>)}
              </Td>
              <Td dataLabel="Driver">{v.driver}</Td>
              <Td dataLabel="Mountpoint" modifier="breakWord"><code>{v.mountpoint || "—"}</code></Td>
              <Td dataLabel="Created">{localTime(v.created)}</Td>
              <Td dataLabel="In use by" data-testid="volume-used-by">
                {v.usedBy.length === 0 ? <span className="pb-muted">unused</span>
                  : v.usedBy.map((c, i) => <span key={c}>{i > 0 && ", "}<a href={href("containers", c)}>{c}</a></span>)}
              </Td>
              <Td dataLabel="Actions" modifier="fitContent">
                <Button variant="plain" size="sm" icon={<TrashIcon />} aria-label={`Remove volume ${name}`} title={`Remove volume ${name}`}
                        onClick={() => { setForce(false); setRemoving(v); }} data-testid="volume-remove" />
              </Td>
            </Tr>);
        })}
      </DataTable>);

  return (
    <>
      <ListPage title="Volumes" summaryTestId="volumes-summary" testId="volumes" resource={list} isEmpty={shown.length === 0}
                empty={<>
                  <EmptyStateBody>{filter.trim() ? "None matches the filter."
                    : "A volume keeps a container's data across its removal and re-creation."}</EmptyStateBody>
                  {!filter.trim() && <Button onClick={() => setCreating(true)}>Create a volume</Button>}
                </>}
                summary={list.data === null ? "…" : `${rows.length} volumes; ${unused.length} unused.`}
                toolbar={<>
                  <ToolbarItem>
                    <TextInput type="search" aria-label="Filter volumes" placeholder="Filter by name, label or container" value={filter}
                               onChange={(_e, v) => setFilter(v)} data-testid="volumes-filter" />
                  </ToolbarItem>
                  <ToolbarItem><Button onClick={() => setCreating(true)} data-testid="volumes-create">Create volume</Button></ToolbarItem>
                  <ToolbarItem>
                    <Button variant="secondary" onClick={() => setPruning(true)} data-testid="volumes-prune"
                            isDisabled={list.data === null || unused.length === 0}>Prune unused volumes</Button>
                  </ToolbarItem>
                </>}>
        {table}
      </ListPage>
      {creating && <CreateVolumeDialog onClose={() => setCreating(false)} onCreated={list.refresh} />}
      {pruning && (
        <ConfirmDialog title="Prune volumes?" action="Prune" testId="volumes-prune-dialog" onConfirm={prune} onClose={() => setPruning(false)}>
          <p>Removes every volume no container uses ({unused.length} now: {unused.slice(0, 5).map((v) => shortName(v.name)).join(", ")}
            {unused.length > 5 ? ", …" : ""}) and the data in them. It cannot be undone.</p>
        </ConfirmDialog>
      )}
      {removing && (
        <ConfirmDialog title={`Remove volume ${shortName(removing.name)}?`} action={force ? "Remove all" : "Remove"}
                       onConfirm={() => remove(removing, force)} onClose={() => setRemoving(null)}>
          <p>The data in it is lost.</p>
          {removing.usedBy.length > 0 && (<>
            <p>It is in use by {removing.usedBy.join(", ")}: Podman refuses unless those containers are removed first.</p>
            <Checkbox id="volume-force" data-testid="volume-force" isChecked={force} onChange={(_e, v) => setForce(v)}
                      label={`Also remove ${removing.usedBy.length === 1 ? "the container" : `the ${removing.usedBy.length} containers`} using it`} />
          </>)}
        </ConfirmDialog>
      )}
    </>
  );
}
