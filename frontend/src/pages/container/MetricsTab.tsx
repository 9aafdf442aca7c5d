import { useEffect, useState } from "react";
import { LineChart } from "../../components/LineChart";
import { Refused } from "../../components/Unavailable";
import {
  Card, CardBody, CardTitle, EmptyState, EmptyStateBody, Grid, GridItem, PageSection, Spinner,
} from "../../pf";
import type { Container } from "../../store/types";
import { memLimitText } from "../usage/usage";
import { addSample, bytes, readSample, type Sample } from "./metrics";
import { target } from "./target";
import { useStream } from "./useStream";

const pct = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} %`;

/** CPU and memory of a running container, live from `containers.stats` (a sample every 2 s). */
export function MetricsTab({ c, running }: { c: Container; running: boolean }) {
  const [series, setSeries] = useState<Sample[]>([]);
  const [dropped, setDropped] = useState(0);
  useEffect(() => { setSeries([]); setDropped(0); }, [c.id]);
  const { status } = useStream("containers.stats", running ? { ...target(c), follow: true, interval: 1 } : null,
    (item) => {
      const s = readSample(item, Date.now());
      if (s) setSeries((old) => addSample(old, s));
    }, (n) => setDropped((d) => d + n));

  if (!running && series.length === 0) {
    return (
      <PageSection>
        <EmptyState variant="sm" titleText="The container is not running" headingLevel="h2" data-testid="metrics-not-running">
          <EmptyStateBody>CPU and memory are measured while it runs.</EmptyStateBody>
        </EmptyState>
      </PageSection>
    );
  }
  if (status.phase === "failed") {
    return (
      <PageSection>
        <Refused what="Metrics" title="The metrics could not be read" error={status} testId="metrics-error" />
      </PageSection>
    );
  }
  if (series.length === 0) {
    return (
      <PageSection>
        <EmptyState variant="xs" titleText="Waiting for the first sample…" headingLevel="h2" icon={Spinner}
                    data-testid="metrics-loading" />
      </PageSection>
    );
  }
  const last = series[series.length - 1];
  const chart = (label: string, id: string, now: string, values: (number | null)[], floor: number,
                 format: (v: number) => string) => (
    <GridItem md={6}>
      <Card isCompact>
        <CardTitle component="h2">{label} <span className="pb-muted" data-testid={`metrics-${id}-now`}>{now}</span></CardTitle>
        <CardBody><LineChart values={values} floor={floor} format={format} label={label} testId={`chart-${id}`} /></CardBody>
      </Card>
    </GridItem>
  );
  return (
    <PageSection>
      <Grid hasGutter>
        {chart("CPU", "cpu", last.cpu === null ? "—" : pct(last.cpu), series.map((s) => s.cpu), 10, pct)}
        {chart("Memory", "mem", [bytes(last.mem), memLimitText(last)].filter(Boolean).join(" "), series.map((s) => s.mem),
               1024 * 1024, (v) => bytes(v))}
      </Grid>
      <p className="pb-muted" style={{ marginTop: "0.5rem" }} data-testid="metrics-footer">
        {series.length} samples · processes {last.pids ?? "—"} · network in {bytes(last.netIn)}, out {bytes(last.netOut)}
        {dropped > 0 && ` · ${dropped} samples skipped (the page was busy)`}
        {!running && " · the container stopped"}
      </p>
    </PageSection>
  );
}
