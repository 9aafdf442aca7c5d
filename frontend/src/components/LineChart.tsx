import { chartPath } from "../pages/container/metrics";

const W = 600, H = 160;

/**
 * A small line chart in SVG (no charting library: two series do not need one). The
 * newest value is at the right; the scale starts at 0 and grows to fit. Screen readers
 * get the latest value and the maximum as text.
 */
export function LineChart({ values, floor, format, label, testId }: {
  values: (number | null)[]; floor: number; format: (v: number) => string; label: string; testId: string;
}) {
  const p = chartPath(values, W, H, floor);
  const summary = p.last === null ? `${label}: no samples yet` : `${label}: now ${format(p.last)}, scale up to ${format(p.max)}`;
  return (
    <figure className="pb-chart-box" style={{ margin: 0 }}>
      <svg className="pb-chart" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={summary}
           data-testid={testId} data-samples={values.length} data-last={p.last ?? ""} data-path={p.d}>
        {[0.25, 0.5, 0.75].map((f) => <line key={f} className="pb-chart-grid" x1={0} x2={W} y1={H * f} y2={H * f} />)}
        {p.d && <path className="pb-chart-line" d={p.d} />}
      </svg>
      <figcaption className="pb-muted" style={{ padding: "0 0.5rem", fontSize: "var(--pf-t--global--font--size--sm)" }}>
        scale 0 – {format(p.max)}
      </figcaption>
    </figure>
  );
}
