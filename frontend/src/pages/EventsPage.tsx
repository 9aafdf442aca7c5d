import { useMemo, useState } from "react";
import { EventTable } from "../components/EventTable";
import { PageFrame } from "../components/ListPage";
import { TextField } from "../components/FormDialog";
import { Button, Content, ToolbarItem } from "../pf";
import { parsePatterns } from "../store/glob";
import { useAppState } from "../store/hooks";
import { filterEvents } from "../store/selectors";
import type { BusEvent } from "../store/types";

/** The live event stream, filtered by topic globs and subject; pausing freezes the view. */
export function EventsPage() {
  const { model } = useAppState();
  const [topics, setTopics] = useState("");
  const [subject, setSubject] = useState("");
  const [frozen, setFrozen] = useState<BusEvent[] | null>(null);

  const source = frozen ?? model.events;
  const filter = useMemo(() => ({ patterns: parsePatterns(topics), subject }), [topics, subject]);
  const shown = useMemo(() => filterEvents(source, filter), [source, filter]);
  // Paused: the view is the log as it was; what came since is counted on the Resume button.
  const newer = frozen ? model.events.filter((e) => e.seq > (frozen[frozen.length - 1]?.seq ?? 0)).length : 0;

  const toolbar = (
    <>
      <ToolbarItem>
        <TextField id="events-topics" label="Topics" value={topics} placeholder="e.g. container.*, unit.state"
                   onChange={setTopics} data-testid="events-topic-filter" />
      </ToolbarItem>
      <ToolbarItem>
        <TextField id="events-subject" label="Subject" value={subject} placeholder="e.g. web or *.service"
                   onChange={setSubject} data-testid="events-subject-filter" />
      </ToolbarItem>
      <ToolbarItem alignSelf="end">
        <Button variant={frozen ? "primary" : "secondary"} onClick={() => setFrozen(frozen ? null : model.events)}
                aria-pressed={frozen !== null} data-testid="events-pause">
          {frozen ? `Resume${newer ? ` (${newer} new)` : ""}` : "Pause"}
        </Button>
      </ToolbarItem>
    </>
  );

  return (
    <PageFrame title="Events" toolbar={toolbar} summary={<>
      The bridge’s event bus, live: Podman, systemd, the bridge and its plugins. Topics take globs
      (<code>container.*</code>, <code>autoupdate.**</code>); several are separated by commas.
    </>}>
      <Content component="small" data-testid="events-count">
        {shown.length} of {source.length} events{frozen ? " (paused)" : ""}; the newest 300 are shown.
      </Content>
      <EventTable events={shown} limit={300} label="Events" testId="events-table" />
    </PageFrame>
  );
}
