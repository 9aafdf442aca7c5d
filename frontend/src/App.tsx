import { Suspense, useEffect, useState, type ComponentType } from "react";
import { lazyPage } from "./lazyPage";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ConnectionBanner } from "./components/ConnectionBanner";
import { SourceBanner } from "./components/SourceBanner";
import { LoginForm } from "./components/LoginForm";
import { Toasts } from "./components/notify";
import {
  Bullseye, Masthead, MastheadBrand, MastheadContent, MastheadLogo, MastheadMain,
  MastheadToggle, Nav, NavItem, NavList, Page, PageSidebar, PageSidebarBody,
  PageToggleButton, Spinner, Button,
} from "./pf";
import { ContainersPage } from "./pages/ContainersPage";
import { href, SECTIONS, useRoute, type Route, type Section } from "./router";
import { HostPicker, RemoteHostNote } from "./components/HostPicker";
import { useHomeState } from "./store/hooks";
import { FLEET_SECTIONS, scopeTo, usePickedHost } from "./store/hostStore";
import { getHomeStore } from "./store/store";
import { insideCockpit } from "./store/transport";


// The first page (the containers list) is in the main bundle; every other page is a chunk
// of its own, loaded when it is first shown (xterm.js comes only with a container's page).
const PAGES: Partial<Record<Section, ComponentType>> = {
  images: lazyPage(() => import("./pages/images/ImagesPage"), "ImagesPage"),
  pods: lazyPage(() => import("./pages/pods/PodsPage"), "PodsPage"),
  volumes: lazyPage(() => import("./pages/volumes/VolumesPage"), "VolumesPage"),
  units: lazyPage(() => import("./pages/UnitsPage"), "UnitsPage"),
  updates: lazyPage(() => import("./pages/UpdatesPage"), "UpdatesPage"),
  events: lazyPage(() => import("./pages/EventsPage"), "EventsPage"),
  plugins: lazyPage(() => import("./pages/PluginsPage"), "PluginsPage"),
  audit: lazyPage(() => import("./pages/AuditPage"), "AuditPage"),
  fleet: lazyPage(() => import("./pages/FleetPage"), "FleetPage"),
  rollouts: lazyPage(() => import("./pages/RolloutsPage"), "RolloutsPage"),
};

function SectionPage({ section, args }: Route) {
  const Page = PAGES[section];
  return Page ? <Page /> : <ContainersPage name={args[0]} tab={args[1]} />;
}

export function App() {
  const state = useHomeState();
  const route = useRoute();
  const store = getHomeStore();
  // The host pages show the host picked (through the fleet); the fleet's own pages never.
  const picked = usePickedHost();
  scopeTo(route.section);
  const remote = picked !== null && !FLEET_SECTIONS.has(route.section) ? picked : null;
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
        <HostPicker />
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
          banner={<><ConnectionBanner conn={conn} onRetry={() => store.retryNow()} /><SourceBanner /></>}>
      <ErrorBoundary resetKey={`${remote ?? ""}/${route.section}/${route.args.join("/")}`}>
        {remote !== null && <RemoteHostNote host={remote} />}
        <Suspense fallback={<Bullseye style={{ minHeight: "50vh" }}><Spinner aria-label="Loading the page" /></Bullseye>}>
          <SectionPage key={remote ?? ""} {...route} />
        </Suspense>
      </ErrorBoundary>
      <Toasts />
    </Page>
  );
}
