import type { ReactNode } from "react";
import { Content, EmptyState, PageSection, Spinner, Title, Toolbar, ToolbarContent } from "../pf";
import type { RpcError } from "../store/types";
import { Refused } from "./Unavailable";

/** A page's frame: its title and summary line, then its toolbar (if any) over its body (`children`). */
export function PageFrame({ title, summary, summaryTestId, toolbar, children }: {
  title: string;
  summary: ReactNode;
  summaryTestId?: string;
  toolbar?: ReactNode;
  children: ReactNode;
}) {
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">{title}</Title>
        <Content component="p" data-testid={summaryTestId}>{summary}</Content>
      </PageSection>
      <PageSection>
        {toolbar && <Toolbar><ToolbarContent>{toolbar}</ToolbarContent></Toolbar>}
        {children}
      </PageSection>
    </>
  );
}

/**
 * A page that lists what a method returns: a `PageFrame` whose body is the error (with "Try
 * again"), a spinner while the first answer is awaited, an empty state, else the page's
 * table (`children`). `title` names the list ("Images"); test ids are
 * `${testId}-error|-loading|-empty`.
 */
export function ListPage({ title, summary, summaryTestId, toolbar, testId, resource, isEmpty, empty, children }: {
  title: string;
  summary: ReactNode;
  summaryTestId?: string;
  toolbar: ReactNode;
  testId: string;
  resource: { data: unknown; error: RpcError | null; refresh: () => void };
  isEmpty: boolean;
  empty: ReactNode;
  children: ReactNode;
}) {
  const { error, data, refresh } = resource;
  const lower = title.toLowerCase();
  return (
    <PageFrame title={title} summary={summary} summaryTestId={summaryTestId} toolbar={toolbar}>
      {error ? <Refused what={title} title={`The ${lower} could not be listed`} error={error} testId={`${testId}-error`}
                        retry={refresh} />
        : data === null ? <EmptyState variant="sm" titleText={`Loading the ${lower}…`} headingLevel="h2" icon={Spinner}
                                      data-testid={`${testId}-loading`} />
        : isEmpty ? <EmptyState variant="sm" titleText={`No ${lower}`} headingLevel="h2" data-testid={`${testId}-empty`}>{empty}</EmptyState>
        : children}
    </PageFrame>
  );
}
