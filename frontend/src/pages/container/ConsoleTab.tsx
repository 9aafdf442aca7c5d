import { useEffect, useRef, useState } from "react";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { Refused } from "../../components/Unavailable";
import {
  Button, EmptyState, EmptyStateBody, FormSelect, FormSelectOption, PageSection, Toolbar, ToolbarContent,
  ToolbarItem,
} from "../../pf";
import type { Container } from "../../store/types";
import { target } from "./target";
import { useStream } from "./useStream";

const SHELLS = ["/bin/sh", "/bin/bash", "/bin/ash"];

/**
 * A terminal in the container: xterm.js over `containers.exec` with a TTY. Keys go to the
 * process as `stream_input`, the terminal's size as `stream_resize` (on open and whenever
 * the panel is resized), the output into the terminal.
 */
export function ConsoleTab({ c, running }: { c: Container; running: boolean }) {
  const [shell, setShell] = useState(SHELLS[0]);
  const [session, setSession] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const fit = useRef<FitAddon | null>(null);

  // The terminal itself lives as long as the tab; each session writes into it.
  useEffect(() => {
    if (!running || !box.current) return;
    const t = new Terminal({ cursorBlink: true, fontSize: 14, convertEol: false, screenReaderMode: false,
                             theme: { background: "#000000" } });
    const f = new FitAddon();
    t.loadAddon(f);
    t.open(box.current);
    try { f.fit(); } catch { /* not laid out yet */ }
    term.current = t;
    fit.current = f;
    t.textarea?.setAttribute("aria-label", `Terminal of ${c.name}`);
    t.textarea?.setAttribute("data-testid", "console-input");
    t.focus();
    return () => { t.dispose(); term.current = null; fit.current = null; };
  }, [running, c.id]); // eslint-disable-line react-hooks/exhaustive-deps

  const params = running
    ? { ...target(c), command: [shell], tty: true }
    : null;
  const { status, stream } = useStream("containers.exec", params, (item) => {
    if (typeof item.output === "string") term.current?.write(item.output);
  }, undefined, session);

  useEffect(() => {
    const t = term.current;
    if (!t || !stream) return;
    const keys = t.onData((d) => stream.input(d));
    const resized = t.onResize(({ rows, cols }) => stream.resize(rows, cols));
    stream.resize(t.rows, t.cols);
    const box2 = box.current;
    const observer = new ResizeObserver(() => { try { fit.current?.fit(); } catch { /* hidden */ } });
    if (box2) observer.observe(box2);
    t.focus();
    return () => { keys.dispose(); resized.dispose(); observer.disconnect(); };
  }, [stream]);

  useEffect(() => {
    if (status.phase === "ended") {
      const e = status.end;
      term.current?.write(`\r\n\x1b[2m[${e.reason === "exit" ? `exited with ${String(e.exit_code ?? "?")}` : e.reason}]\x1b[0m\r\n`);
    }
  }, [status]);

  if (!running) {
    return (
      <PageSection>
        <EmptyState variant="sm" titleText="The container is not running" headingLevel="h2" data-testid="console-not-running">
          <EmptyStateBody>A console runs a shell inside the running container. Start it first.</EmptyStateBody>
        </EmptyState>
      </PageSection>
    );
  }
  return (
    <PageSection>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <FormSelect value={shell} aria-label="Shell" data-testid="console-shell"
                        onChange={(_e, v) => { setShell(v); term.current?.reset(); }}>
              {SHELLS.map((s) => <FormSelectOption key={s} value={s} label={s} />)}
            </FormSelect>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="secondary" data-testid="console-reconnect"
                    onClick={() => { term.current?.reset(); setSession(session + 1); }}>
              {status.phase === "ended" || status.phase === "failed" ? "Start a new session" : "Restart the session"}
            </Button>
          </ToolbarItem>
          <ToolbarItem alignSelf="center">
            <span className="pb-muted" data-testid="console-status" data-phase={status.phase}>
              {status.phase === "open" ? "connected" : status.phase === "opening" ? "connecting…" : ""}
            </span>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      {status.phase === "failed" &&
        <Refused what="The console" title="The console could not start" error={status} testId="console-error" />}
      <div ref={box} className="pb-terminal" data-testid="console-terminal" />
    </PageSection>
  );
}
