import { useState } from "react";
import { notify, run } from "../components/notify";
import { Unavailable } from "../components/Unavailable";
import {
  Button, Card, CardBody, CardTitle, Content, DescriptionList, DescriptionListDescription,
  DescriptionListGroup, DescriptionListTerm, Flex, FlexItem, PageSection, Title,
} from "../pf";
import { PageFrame } from "../components/ListPage";
import { useAppState, useResource } from "../store/hooks";
import { getStore } from "../store/store";
import { UpdateHistory } from "./UpdateHistory";
import { UpdateResults } from "./UpdateResults";
import { describeRun, localTime, pendingRows, resultsOf, type UpdateStatus } from "./updates";

function StatusCard({ status }: { status: UpdateStatus }) {
  const items: [string, string, string][] = [
    ["Next timer run", localTime(status.next_run), "next-run"],
    ["Last run", describeRun(status.last_run), "last-run"],
    ["Schedule", status.schedule ? String(status.schedule) : "—", "schedule"],
    ["Running now", status.running ? "yes" : "no", "running"],
  ];
  return (
    <DescriptionList isHorizontal isCompact columnModifier={{ md: "2Col" }} data-testid="update-status">
      {items.map(([term, value, id]) => (
        <DescriptionListGroup key={id}>
          <DescriptionListTerm>{term}</DescriptionListTerm>
          <DescriptionListDescription data-testid={`update-${id}`}>{value}</DescriptionListDescription>
        </DescriptionListGroup>
      ))}
    </DescriptionList>
  );
}

export function UpdatesPage() {
  const { lastRun } = useAppState();
  const status = useResource<UpdateStatus>("autoupdate.status", {}, ["autoupdate.**", "rollback.**"]);
  const [busy, setBusy] = useState<"dry" | "run" | null>(null);
  const unavailable = status.error?.code === "unknown-method";

  async function runUpdate(dryRun: boolean) {
    setBusy(dryRun ? "dry" : "run");
    const data = await run<unknown>(dryRun ? "Check for updates" : "Update", "autoupdate.run", { dry_run: dryRun });
    setBusy(null);
    if (data === undefined) return;
    const results = resultsOf(data);
    getStore().setLastRun({ dryRun, time: Date.now(), results });
    const n = results.filter((r) => r.updated === (dryRun ? "pending" : "true")).length;
    notify(dryRun ? `${n} update(s) pending` : `${n} container(s) updated`, "success");
  }

  const pending = pendingRows(status.data, lastRun);
  const last = lastRun ? resultsOf(lastRun.results) : [];

  return (
    <>
      <PageFrame title="Updates" summary={<>
        Podman auto-update for containers labelled <code>io.containers.autoupdate</code>, and the rollback watcher.
      </>}>
        <Card isCompact>
          <CardTitle>Auto-update</CardTitle>
          <CardBody>
            {unavailable || (status.error && !status.data) ? (
              <Unavailable what="Auto-update" error={status.error} testId="updates-unavailable" />
            ) : (
              <>
                {status.data && <StatusCard status={status.data} />}
                <Flex style={{ marginTop: "1rem" }} spaceItems={{ default: "spaceItemsSm" }}>
                  <FlexItem>
                    <Button variant="secondary" onClick={() => void runUpdate(true)} isLoading={busy === "dry"}
                            isDisabled={busy !== null} data-testid="update-dry-run">
                      Check now (dry run)
                    </Button>
                  </FlexItem>
                  <FlexItem>
                    <Button variant="primary" onClick={() => void runUpdate(false)} isLoading={busy === "run"}
                            isDisabled={busy !== null || !!status.data?.running} data-testid="update-run-now">
                      Update now
                    </Button>
                  </FlexItem>
                </Flex>
              </>
            )}
          </CardBody>
        </Card>
      </PageFrame>
      {!unavailable && (
        <PageSection>
          <Title headingLevel="h2">Pending updates</Title>
          {pending.length === 0
            ? <Content component="p" data-testid="pending-empty">Nothing pending{lastRun?.dryRun ? "" : " (run a check to see)"}.</Content>
            : <UpdateResults rows={pending} label="Pending updates" testId="pending-table" rowTestId="pending-row" />}
          {lastRun && (
            <>
              <Title headingLevel="h2" style={{ marginTop: "1.5rem" }}>
                Last {lastRun.dryRun ? "check (dry run)" : "update"}, {new Date(lastRun.time).toLocaleTimeString()}
              </Title>
              {last.length === 0
                ? <Content component="p" data-testid="last-results-empty">No containers take part in auto-update.</Content>
                : <UpdateResults rows={last} label="Last results" testId="last-results" rowTestId="result-row" />}
            </>
          )}
        </PageSection>
      )}
      <UpdateHistory />
    </>
  );
}
