import { useEffect, useMemo, useRef, useState } from "react";
import { Refused } from "../../components/Unavailable";
import {
  Alert, EmptyState, EmptyStateBody, FormSelect, FormSelectOption, PageSection, Spinner, Switch,
  TextInput, Toolbar, ToolbarContent, ToolbarItem,
} from "../../pf";
import type { Container } from "../../store/types";
import { appendLines, emptyLog, highlight, itemLines, noteGap, searchLines, type LogBuffer } from "./logs";
import { target } from "./target";
import { useStream } from "./useStream";

const TAILS = [["100", "Last 100 lines"], ["1000", "Last 1000 lines"], ["all", "All"]] as const;

/** A container's logs: the tail, then (with Follow) every new line live; searchable. */
export function LogsTab({ c }: { c: Container }) {
  const [follow, setFollow] = useState(true);
  const [tail, setTail] = useState<string>("100");
  const [query, setQuery] = useState("");
  const [buf, setBuf] = useState<LogBuffer>(emptyLog);
  const [retry, setRetry] = useState(0);
  const view = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  const running = c.state === "running";
  // Follow off keeps what is shown (the stream closes, nothing is reloaded); the lines are
  // read again only when following again, or when another tail or container is chosen.
  const hasLines = buf.lines.length > 0;
  const params = useMemo(() => (!follow && hasLines ? null
    : { ...target(c), tail: tail === "all" ? null : Number(tail), follow: follow && running }),
    [c.name, c.id, c.user, tail, follow, running]); // eslint-disable-line react-hooks/exhaustive-deps
  const paramsKey = params === null ? null : JSON.stringify(params);
  useEffect(() => { if (paramsKey !== null) setBuf(emptyLog()); }, [paramsKey, retry]);
  const { status } = useStream("containers.logs", params,
    (item) => setBuf((b) => appendLines(b, itemLines(item))), (n) => setBuf((b) => noteGap(b, n)), retry);

  const { shown, error } = useMemo(() => searchLines(buf.lines, query), [buf.lines, query]);
  // Stay at the bottom while following, unless the user scrolled up to read.
  useEffect(() => {
    const el = view.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [shown]);

  const live = status.phase === "open" && !!params?.follow;
  return (
    <PageSection>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <Switch id="logs-follow" label="Follow" isChecked={follow} data-testid="logs-follow"
                    onChange={(_e, v) => setFollow(v)} />
          </ToolbarItem>
          <ToolbarItem>
            <FormSelect value={tail} aria-label="How many lines" data-testid="logs-tail"
                        onChange={(_e, v) => setTail(v)}>
              {TAILS.map(([v, l]) => <FormSelectOption key={v} value={v} label={l} />)}
            </FormSelect>
          </ToolbarItem>
          <ToolbarItem>
            <TextInput type="search" aria-label="Search the logs (text, or /regex/)" placeholder="Search (text or /regex/)"
                       value={query} onChange={(_e, v) => setQuery(v)} data-testid="logs-search"
                       validated={error ? "error" : "default"} />
          </ToolbarItem>
          <ToolbarItem alignSelf="center">
            <span className="pb-muted" data-testid="logs-status" data-phase={status.phase} data-live={live}>
              {live ? "following" : status.phase === "opening" ? "loading…" : ""}
              {query && ` · ${shown.length} of ${buf.lines.length} lines match`}
              {buf.dropped > 0 && ` · ${buf.dropped} older lines not kept`}
            </span>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      {error && <Alert variant="warning" isInline isPlain title={`Not a regular expression: ${error}`} />}
      {status.phase === "failed" ? (
        <Refused what="Logs" title="The logs could not be read" error={status} testId="logs-error"
                 retry={() => setRetry(retry + 1)} />
      ) : status.phase === "opening" && buf.lines.length === 0 ? (
        <EmptyState variant="xs" titleText="Loading the logs…" headingLevel="h2" icon={Spinner} data-testid="logs-loading" />
      ) : buf.lines.length === 0 ? (
        <EmptyState variant="xs" titleText="No output" headingLevel="h2" data-testid="logs-empty">
          <EmptyStateBody>
            {running ? "The container has printed nothing yet; new lines show here as it prints them."
                     : "The container printed nothing."}
          </EmptyStateBody>
        </EmptyState>
      ) : (
        <div ref={view} className="pb-log" role="log" aria-label={`Logs of ${c.name}`} tabIndex={0}
             data-testid="logs-view"
             onScroll={(e) => { const el = e.currentTarget; pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24; }}>
          {shown.map((l) => (
            <div key={l.n} className={l.fd === 2 ? "pb-log-line pb-log-err" : "pb-log-line"} data-testid="log-line">
              {l.time && <span className="pb-log-time">{l.time.slice(11, 19)} </span>}
              {highlight(l.text, query).map((part, i) => part.hit ? <mark key={i}>{part.text}</mark> : part.text)}
            </div>
          ))}
        </div>
      )}
      {!running && <p className="pb-muted" data-testid="logs-not-running">The container is not running: these are its logs so far.</p>}
      {status.phase === "ended" && status.end.reason !== "closed" && (params?.follow || status.end.reason !== "eof") && (
        <p className="pb-muted" data-testid="logs-ended">
          {status.end.reason === "eof" ? "The container stopped: no more lines."
            : status.end.reason === "gone" ? "The container was removed."
            : status.end.reason === "disconnected" ? "The connection to the bridge was lost."
            : `The log stream ended (${status.end.reason}${status.end.error ? `: ${status.end.error.message}` : ""}).`}
        </p>
      )}
    </PageSection>
  );
}
