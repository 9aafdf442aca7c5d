import { Suspense } from "react";
import { lazyPage } from "../../lazyPage";
import { ContainerActions } from "../../components/ContainerActions";
import {
  Bullseye, EmptyState, EmptyStateBody, Flex, FlexItem, PageSection, Spinner, Tab, Tabs, TabTitleText, Title,
} from "../../pf";
import { href } from "../../router";
import type { BusEvent, Container } from "../../store/types";
import { LogsTab } from "./LogsTab";
import { MetricsTab } from "./MetricsTab";
import { ContainerOverview } from "./OverviewTab";

// xterm.js is loaded only when the Console tab is first opened.
const ConsoleTab = lazyPage(() => import("./ConsoleTab"), "ConsoleTab");

const TABS = [["overview", "Overview"], ["logs", "Logs"], ["console", "Console"], ["metrics", "Metrics"]] as const;
type TabId = (typeof TABS)[number][0];

/**
 * A container's page: Overview, Logs, Console and Metrics, each at its own address
 * (#/containers/NAME/logs). A tab's streams open when it is shown and close when it is left.
 */
export function ContainerPage({ name, tab, container: c, events }:
    { name: string; tab?: string; container: Container | undefined; events: BusEvent[] }) {
  const back = <a href={href("containers")} data-testid="back-to-containers">← All containers</a>;
  if (!c) {
    return (
      <PageSection>
        {back}
        <EmptyState variant="sm" titleText={`No container “${name}”`} headingLevel="h1" data-testid="container-missing">
          <EmptyStateBody>It does not exist, or it was removed.</EmptyStateBody>
        </EmptyState>
      </PageSection>
    );
  }
  const active: TabId = TABS.some(([id]) => id === tab) ? (tab as TabId) : "overview";
  const running = c.state === "running";
  const body = (id: TabId) => {
    if (id !== active) return null;
    switch (id) {
      case "logs": return <LogsTab c={c} />;
      case "console": return (
        <Suspense fallback={<Bullseye><Spinner aria-label="Loading the terminal" /></Bullseye>}>
          <ConsoleTab c={c} running={running} />
        </Suspense>);
      case "metrics": return <MetricsTab c={c} running={running} />;
      default: return <ContainerOverview container={c} events={events} />;
    }
  };
  return (
    <>
      <PageSection>
        {back}
        <Flex justifyContent={{ default: "justifyContentSpaceBetween" }} alignItems={{ default: "alignItemsCenter" }}
              style={{ marginTop: "0.5rem" }}>
          <FlexItem><Title headingLevel="h1" data-testid="detail-name">{c.name}</Title></FlexItem>
          <FlexItem><ContainerActions c={c} /></FlexItem>
        </Flex>
      </PageSection>
      <PageSection padding={{ default: "noPadding" }}>
        <Tabs activeKey={active} aria-label={`Views of ${c.name}`} data-testid="container-tabs"
              onSelect={(_e, k) => { location.hash = href("containers", name, String(k)); }}>
          {TABS.map(([id, title]) => (
            <Tab key={id} eventKey={id} title={<TabTitleText>{title}</TabTitleText>} data-testid={`tab-${id}`}>
              {body(id)}
            </Tab>
          ))}
        </Tabs>
      </PageSection>
    </>
  );
}
