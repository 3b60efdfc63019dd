/** The layout (left navigation, one page at a time) and the gates: signed in, allowed role. */
import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { Provider, useClient, useQuery } from "urql";
import { createClient, createSocket, onSocketState } from "./client";
import { ToastProvider } from "./components/Toast";
import { OrganizationsDocument, ViewerDocument } from "./gql/graphql";
import { ConfigurationPage } from "./pages/ConfigurationPage";
import { ConnectionPage } from "./pages/ConnectionPage";
import { DriftPage } from "./pages/DriftPage";
import { LogsPage } from "./pages/LogsPage";
import { FIRST_GRID_VARIABLES, MappingPage } from "./pages/MappingPage";
import { navigate, usePath, type Page } from "./router";
import { getSession, subscribeSession } from "./session";
import { T } from "./texts";

export function App() {
  const session = useSyncExternalStore(subscribeSession, getSession);
  const ready = session.status === "ready";
  // One socket and one client per signed-in session (a new session re-authenticates).
  const client = useMemo(() => (ready ? createClient(createSocket()) : null), [ready]);
  if (session.status === "loading") return <p className="splash">{T.common.loading}</p>;
  if (session.status === "forbidden") return <AccessPage title={T.access.noAccessTitle} body={T.access.noAccessBody} />;
  if (session.status === "ended") return <AccessPage title={T.access.signInTitle} body={T.access.sessionEnded} />;
  if (!client) return <AccessPage title={T.access.signInTitle} body={T.access.signInBody} />;
  return (
    <Provider value={client}>
      <ToastProvider>
        <Shell />
      </ToastProvider>
    </Provider>
  );
}

function AccessPage({ title, body }: { title: string; body: string }) {
  return (
    <main className="access">
      <h1>{title}</h1>
      <p>{body}</p>
    </main>
  );
}

function useSocketOnline(): boolean {
  const [online, setOnline] = useState(true);
  useEffect(() => onSocketState(setOnline), []);
  return online;
}

function Shell() {
  const [{ data, error }, refetch] = useQuery({ query: ViewerDocument });
  const path = usePath();
  const client = useClient();
  useEffect(() => {
    // Most visits land on Mapping: ask for its grid alongside the viewer, not after it.
    if (path === "/mapping" || path === "/") void client.query(OrganizationsDocument, FIRST_GRID_VARIABLES).toPromise();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const online = useSocketOnline();
  const status = data?.connection.status;
  const verified = status === "VERIFIED";
  useEffect(() => {
    if (status && (path === "/" || !["/connection", "/configuration", "/mapping", "/logs", "/drift"].includes(path))) {
      navigate(verified ? "/mapping" : "/connection", true);
    }
  }, [path, status, verified]);
  if (error?.graphQLErrors.some((e) => e.extensions?.code === "FORBIDDEN")) {
    return <AccessPage title={T.access.noAccessTitle} body={T.access.noAccessBody} />;
  }
  if (error && !data) return <p className="splash" role="alert">{T.common.error} {error.message}</p>;
  if (!data) return <p className="splash">{T.common.loading}</p>;
  const link = (to: Page, label: string, disabled = false) => (
    <a
      href={to}
      className={path === to ? "nav-link active" : "nav-link"}
      aria-current={path === to ? "page" : undefined}
      aria-disabled={disabled || undefined}
      title={disabled ? T.nav.mappingLocked : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
  return (
    <div className="layout">
      <header className="topbar">
        <span className="brand">{T.product}</span>
        <span className="seller">{data.viewer.sellerId}</span>
      </header>
      <nav className="sidenav" aria-label={T.nav.label}>
        <ol>
          <li>{link("/mapping", T.nav.mapping, !verified)}</li>
          <li>{link("/logs", T.nav.logs)}</li>
          <li>{link("/drift", T.nav.drift, !verified)}</li>
          <li>
            <span className="nav-group">{T.nav.settings}</span>
            <ul>
              <li>{link("/connection", T.nav.connection)}</li>
              <li>{link("/configuration", T.nav.configuration)}</li>
            </ul>
          </li>
        </ol>
      </nav>
      <main className="content">
        {!online && <p className="offline" role="status">{T.common.reconnecting}</p>}
        {path === "/connection" && <ConnectionPage onSaved={() => refetch({ requestPolicy: "network-only" })} />}
        {path === "/configuration" && <ConfigurationPage />}
        {path === "/mapping" && <MappingPage verified={verified} />}
        {path === "/logs" && <LogsPage />}
        {path === "/drift" && <DriftPage />}
      </main>
    </div>
  );
}
