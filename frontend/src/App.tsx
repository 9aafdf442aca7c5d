import { useEffect, useState } from "react";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ConnectionBanner } from "./components/ConnectionBanner";
import { LoginForm } from "./components/LoginForm";
import { Toasts } from "./components/notify";
import {
  Bullseye, Masthead, MastheadBrand, MastheadContent, MastheadLogo, MastheadMain,
  MastheadToggle, Nav, NavItem, NavList, Page, PageSidebar, PageSidebarBody,
  PageToggleButton, Spinner, Button,
} from "./pf";
import { AuditPage } from "./pages/AuditPage";
import { ContainersPage } from "./pages/ContainersPage";
import { EventsPage } from "./pages/EventsPage";
import { FleetPage } from "./pages/FleetPage";
import { PluginsPage } from "./pages/PluginsPage";
import { RolloutsPage } from "./pages/RolloutsPage";
import { UnitsPage } from "./pages/UnitsPage";
import { UpdatesPage } from "./pages/UpdatesPage";
import { href, SECTIONS, useRoute } from "./router";
import { useAppState } from "./store/hooks";
import { getStore } from "./store/store";
import { insideCockpit } from "./store/transport";


function Section({ section, args }: ReturnType<typeof useRoute>) {
  switch (section) {
    case "units": return <UnitsPage />;
    case "updates": return <UpdatesPage />;
    case "events": return <EventsPage />;
    case "plugins": return <PluginsPage />;
    case "audit": return <AuditPage />;
    case "fleet": return <FleetPage />;
    case "rollouts": return <RolloutsPage />;
    default: return <ContainersPage name={args[0]} />;
  }
}

export function App() {
  const state = useAppState();
  const route = useRoute();
  const store = getStore();
  const { conn } = state;
  // The navigation is open beside the page on a wide screen and over it on a narrow one,
  // where choosing a section closes it.
  const [mobile, setMobile] = useState(() => window.innerWidth < 1200);
  const [navOpen, setNavOpen] = useState(() => window.innerWidth >= 1200);
  useEffect(() => {
    if (mobile) setNavOpen(false);
  }, [route.section, route.args.join("/"), mobile]);

  if (conn.phase === "login") {
    return <LoginForm message={conn.message} direct={insideCockpit()}
                      onLoggedIn={(token) => store.loggedIn(token)} />;
  }
  if (!conn.wasOnline) {
    return (
      <Bullseye style={{ minHeight: "100vh" }} data-testid="connecting">
        <Spinner aria-label="Connecting to the bridge" />
        <span style={{ marginLeft: "1rem" }}>
          {conn.phase === "offline" ? "The bridge does not answer; trying again…" : "Connecting to the bridge…"}
          {conn.message && <div data-testid="connecting-problem">{conn.message}</div>}
        </span>
      </Bullseye>
    );
  }

  const masthead = (
    <Masthead display={{ default: "inline" }}>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton isSidebarOpen={navOpen} onSidebarToggle={() => setNavOpen(!navOpen)}
                            aria-label="Show or hide the navigation" data-testid="nav-toggle" />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo href="#/containers" style={{ color: "inherit", fontWeight: 600, fontSize: "1.2rem", textDecoration: "none" }}>
            podbridge
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <span data-testid="connection-status" data-phase={conn.phase} style={{ marginLeft: "auto" }}>
          {conn.phase === "online" ? `bridge ${conn.version ?? ""}` : "disconnected"}
        </span>
        {conn.user ? (
          <span style={{ marginLeft: "1rem" }} data-testid="whoami" data-role={conn.role ?? ""}>
            {conn.user} ({conn.role})
          </span>
        ) : null}
        <Button variant="plain" style={{ marginLeft: "0.5rem", color: "inherit" }}
                onClick={() => void store.logout()} data-testid="logout">
          Log out
        </Button>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar isSidebarOpen={navOpen}>
      <PageSidebarBody>
        <Nav aria-label="Sections">
          <NavList>
            {SECTIONS.map((s) => (
              <NavItem key={s.id} itemId={s.id} isActive={route.section === s.id}
                       to={href(s.id)} data-testid={`nav-${s.id}`}
                       onClick={() => { if (mobile) setNavOpen(false); }}>
                {s.title}
              </NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page masthead={masthead} sidebar={sidebar}
          onPageResize={(_e, { mobileView }) => {
            if (mobileView !== mobile) { setMobile(mobileView); setNavOpen(!mobileView); }
          }}
          banner={<ConnectionBanner conn={conn} onRetry={() => store.retryNow()} />}>
      <ErrorBoundary resetKey={`${route.section}/${route.args.join("/")}`}>
        <Section {...route} />
      </ErrorBoundary>
      <Toasts />
    </Page>
  );
}
