import { useMemo, useState } from "react";
import { DataTable } from "../components/DataTable";
import { StateLabel } from "../components/labels";
import { run } from "../components/notify";
import { Unavailable } from "../components/Unavailable";
import { Button, Content, Flex, FlexItem, FormSelect, FormSelectOption, PageSection, Td, Title, Tr } from "../pf";
import { useAppState, useResource } from "../store/hooks";
import { containerUnits } from "../store/selectors";
import { localTime, shortDigest, type UpdateHistoryEntry, type WatchHistoryEntry } from "./updates";

function RollbackNow({ units }: { units: string[] }) {
  const [unit, setUnit] = useState("");
  const [busy, setBusy] = useState(false);
  const chosen = unit || units[0] || "";
  return (
    <Flex spaceItems={{ default: "spaceItemsSm" }} alignItems={{ default: "alignItemsCenter" }}>
      <FlexItem>
        <FormSelect value={chosen} onChange={(_e, v) => setUnit(v)} aria-label="Unit to roll back"
                    data-testid="rollback-unit">
          {units.length === 0 && <FormSelectOption value="" label="(no units)" isDisabled />}
          {units.map((u) => <FormSelectOption key={u} value={u} label={u} />)}
        </FormSelect>
      </FlexItem>
      <FlexItem>
        <Button variant="warning" isDisabled={!chosen || busy} isLoading={busy} data-testid="rollback-now"
                onClick={async () => {
                  setBusy(true);
                  await run(`Roll back ${chosen}`, "rollback.now", { unit: chosen }, `Rolled back ${chosen}`);
                  setBusy(false);
                }}>
          Roll back now
        </Button>
      </FlexItem>
    </Flex>
  );
}

/** The update history (with digests) and the rollback watcher's history. */
export function UpdateHistory() {
  const { model } = useAppState();
  const history = useResource<UpdateHistoryEntry[]>("autoupdate.history", { limit: 50 }, ["autoupdate.**"]);
  const rollbacks = useResource<WatchHistoryEntry[]>("rollback.history", {}, ["rollback.**"]);
  const historyRows = Array.isArray(history.data) ? history.data : [];
  const rollbackRows = Array.isArray(rollbacks.data) ? rollbacks.data : [];
  const units = useMemo(() => containerUnits(model).map((u) => u.name), [model]);

  return (
    <>
      <PageSection>
        <Title headingLevel="h2">Update history</Title>
        {history.error ? <Unavailable what="Update history" error={history.error} testId="history-unavailable" />
          : historyRows.length === 0 ? <Content component="p" data-testid="history-empty">No updates yet.</Content> : (
          <DataTable label="Update history" testId="update-history"
                     columns={["Time", "Unit", "Container", "Image", "Digest", "Result", "Reason"]}>
            {historyRows.map((h, i) => (
              <Tr key={`${h.time}-${h.unit}-${i}`} data-testid="history-row" data-unit={h.unit} data-result={h.result}>
                <Td dataLabel="Time">{localTime(h.time)}</Td>
                <Td dataLabel="Unit">{h.unit ?? "—"}</Td>
                <Td dataLabel="Container">{h.container ?? "—"}</Td>
                <Td dataLabel="Image" modifier="breakWord">{h.image ?? "—"}</Td>
                <Td dataLabel="Digest">
                  <code title={`${h.old_digest ?? ""} → ${h.new_digest ?? ""}`}>
                    {shortDigest(h.old_digest)} → {shortDigest(h.new_digest)}
                  </code>
                </Td>
                <Td dataLabel="Result">{h.kind && <span className="pb-muted">{h.kind}: </span>}<StateLabel value={h.result} /></Td>
                <Td dataLabel="Reason" modifier="breakWord">{h.reason || "—"}</Td>
              </Tr>
            ))}
          </DataTable>
        )}
      </PageSection>
      <PageSection>
        <Title headingLevel="h2">Rollbacks</Title>
        {rollbacks.error ? <Unavailable what="The rollback watcher" error={rollbacks.error} testId="rollback-unavailable" /> : (
          <>
            <Content component="p">
              Puts a unit’s container back on the image it ran before its last update.
            </Content>
            <RollbackNow units={units} />
            {rollbackRows.length === 0 ? <Content component="p" data-testid="rollback-empty">No rollbacks yet.</Content> : (
              <DataTable label="Rollback history" testId="rollback-history"
                         columns={["Time", "Unit", "Container", "From", "To", "Result", "Reason"]}>
                {rollbackRows.map((r, i) => (
                  <Tr key={`${r.time}-${r.unit}-${i}`} data-testid="rollback-row" data-unit={r.unit}>
                    <Td dataLabel="Time">{localTime(r.time)}</Td>
                    <Td dataLabel="Unit">{r.unit ?? "—"}</Td>
                    <Td dataLabel="Container">{r.changes.map((c) => c.container || c.image).join(", ") || "—"}</Td>
                    <Td dataLabel="From" modifier="breakWord">
                      <code>{r.changes.map((c) => shortDigest(c.previous_image_id)).join(", ") || "—"}</code>
                    </Td>
                    <Td dataLabel="To" modifier="breakWord">
                      <code>{r.changes.map((c) => shortDigest(c.new_image_id)).join(", ") || "—"}</code>
                    </Td>
                    <Td dataLabel="Result"><StateLabel value={r.result} /></Td>
                    <Td dataLabel="Reason" modifier="breakWord">{r.reason || "—"}</Td>
                  </Tr>
                ))}
              </DataTable>
            )}
          </>
        )}
      </PageSection>
    </>
  );
}
