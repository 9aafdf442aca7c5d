/** Fleet rollouts: each one's phase and pinned digest, its waves and every host's state
 * (the rollout plugin's fleet.rollout.history, refreshed by fleet.rollout.* events and,
 * since the controller may run on another bridge, every few seconds). */
import { DataTable } from "../components/DataTable";
import { StateLabel } from "../components/labels";
import { Unavailable } from "../components/Unavailable";
import { PageFrame } from "../components/ListPage";
import { Content, EmptyState, Td, Title, Tr } from "../pf";
import { useResource } from "../store/hooks";
import { RolloutSummary, rolloutsOf, tally, waveRows } from "./rollouts";
import { shortDigest } from "./updates";

function Waves({ r }: { r: RolloutSummary }) {
  return (
    <DataTable label={`Waves of ${r.id}`} testId="rollout-waves" columns={["Wave", "Host", "State", "Reason"]}>
      {waveRows(r).flatMap((w) => w.hosts.map((h, i) => (
        <Tr key={`${w.index}-${h.name}`} data-testid="rollout-host" data-host={h.name} data-state={h.state}
            data-wave={w.index} data-wave-status={w.status}>
          <Td dataLabel="Wave">{i === 0 ? `${w.title}${w.status === "current" ? " (running)" : ""}` : ""}</Td>
          <Td dataLabel="Host">{h.name}</Td>
          <Td dataLabel="State"><StateLabel value={h.state} /></Td>
          <Td dataLabel="Reason" modifier="breakWord">{h.reason || "—"}</Td>
        </Tr>
      )))}
    </DataTable>
  );
}

export function RolloutsPage() {
  const res = useResource<unknown>("fleet.rollout.history", { limit: 20 }, ["fleet.rollout.**"], 5000);
  const rollouts = rolloutsOf(res.data);
  return (
    <PageFrame title="Rollouts" summary="Images rolled out to the fleet by digest: the canary first, then waves; a failure rolls back every host that took it.">
      {res.error ? <Unavailable what="Fleet rollouts" error={res.error} testId="rollouts-unavailable" />
        : res.data === null ? <EmptyState variant="sm" titleText="Loading…" headingLevel="h2" />
        : rollouts.length === 0 ? <Content component="p" data-testid="rollouts-empty">No rollout yet.</Content>
        : rollouts.map((r) => (
          <section key={r.id} data-testid="rollout" data-id={r.id} data-phase={r.phase} style={{ marginBottom: "2rem" }}>
            <Title headingLevel="h2">
              {r.image ?? r.id} <StateLabel value={r.phase} testId="rollout-phase" />
            </Title>
            <Content component="p">
              {r.id} · {r.selector} · digest <code title={r.digest}>{shortDigest(r.digest)}</code> · {tally(r.hosts)}
              {r.reason ? <> · {r.reason}</> : null}
            </Content>
            <Waves r={r} />
          </section>
        ))}
    </PageFrame>
  );
}
