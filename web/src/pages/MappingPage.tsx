/** Mapping: schedules banner, sync tiles and buttons (live), the organisations grid. */
import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery } from "urql";
import { CheckIcon, CrossIcon, InfoIcon, PencilIcon, SortIcon, SyncIcon, TrashIcon, WarningIcon } from "../components/Icons";
import { ExistingLicencesReview } from "../components/ExistingLicencesReview";
import { HeldRun } from "../components/HeldRun";
import { Pagination } from "../components/Pagination";
import { PsaCombobox, type PsaChoice } from "../components/PsaCombobox";
import { useToast } from "../components/Toast";
import { Tooltip } from "../components/Tooltip";
import { useSyncOverview, type LiveRun, type Progress } from "../components/useSyncOverview";
import { onReconnected } from "../client";
import {
  MapOrganizationDocument,
  OrganizationsDocument,
  SyncOrganizationsDocument,
  SyncOrganizationSubscriptionsDocument,
  SyncSubscriptionsDocument,
  UnmapOrganizationDocument,
  type GridRowFragment,
  type KindStatusFragment,
  type MappingStatus,
  type OrganizationSortField,
  type PsaStatus,
  type SortDirection,
} from "../gql/graphql";
import { navigate } from "../router";
import { T } from "../texts";

const ORG_STATUSES = ["ACTIVE", "SUSPENDED", "INACTIVE", "PENDING"] as const;
const PSA_STATUSES: PsaStatus[] = ["ACTIVE", "INACTIVE"];
const MAPPING_STATUSES: MappingStatus[] = ["MAPPED", "UNMAPPED", "RESPONSE_ERROR"];
const MAPPING_LABEL: Record<MappingStatus, string> = {
  MAPPED: T.mapping.mapped,
  UNMAPPED: T.mapping.unmapped,
  RESPONSE_ERROR: T.mapping.responseError,
};
const title = (s: string) => s.charAt(0) + s.slice(1).toLowerCase();
// Wait for a pause in typing before searching the grid.
const SEARCH_DEBOUNCE_MS = 250;
// A row's cooldown counts minutes: re-read the rows once a minute while one runs.
const ROW_COOLDOWN_REFRESH_MS = 60_000;

/**
 * The state of a row's own sync button: the server's (each row tells it), overridden by the
 * run in flight that syncEvents announce (one sync at a time per seller, so any run blocks
 * every row). A run's events name the organisation by the row's id.
 */
function rowSync(row: GridRowFragment, live: LiveRun | null) {
  if (!live) return { enabled: row.canSyncSubscriptions, running: row.syncInProgress, message: row.syncMessage ?? null };
  const covers = live.kind === "SUBSCRIPTIONS" && (live.organizationId === row.id || (live.scope === "ALL" && row.mappingStatus === "MAPPED"));
  return { enabled: false, running: covers, message: T.mapping.inProgress };
}

const FIRST_SORT = { field: "NAME", direction: "ASC" } as const;
const NO_FILTER = { status: null, psaStatus: null, mappingStatus: null };
/** What the grid asks first: the shell asks it too while it learns who is signed in. */
export const FIRST_GRID_VARIABLES = { search: null, filter: NO_FILTER, sort: FIRST_SORT, page: 1, pageSize: 20 };

type ErrorLike = { graphQLErrors: { message: string; extensions?: Record<string, unknown> }[]; message: string };
const firstError = (e: ErrorLike) => e.graphQLErrors[0] ?? { message: e.message, extensions: {} };

export function MappingPage({ verified }: { verified: boolean }) {
  if (!verified) {
    return (
      <section aria-labelledby="page-title" className="page">
        <h1 id="page-title">{T.mapping.title}</h1>
        <div className="locked" data-testid="mapping-locked">
          <div className="locked-veil" aria-hidden="true">
            <div className="skeleton" />
            <div className="skeleton" />
            <div className="skeleton" />
          </div>
          <div className="locked-message">
            <h2>{T.mapping.lockedTitle}</h2>
            <p>{T.mapping.lockedBody}</p>
            <button type="button" className="primary" onClick={() => navigate("/connection")}>{T.mapping.goToConnection}</button>
          </div>
        </div>
      </section>
    );
  }
  return <MappingWorkspace />;
}

function MappingWorkspace() {
  const notify = useToast();
  const { overview, progress, live, ended, refresh } = useSyncOverview();
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<{ field: OrganizationSortField; direction: SortDirection }>(FIRST_SORT);
  const [statusFilter, setStatusFilter] = useState("");
  const [psaStatusFilter, setPsaStatusFilter] = useState<PsaStatus | "">("");
  const [mappingFilter, setMappingFilter] = useState<MappingStatus | "">("");
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const [editing, setEditing] = useState<{ id: string; choice: PsaChoice | null; column: "name" | "id" } | null>(null);
  const [rowWarning, setRowWarning] = useState<string | null>(null);
  const [reviewing, setReviewing] = useState<string | null>(null);

  useEffect(() => {
    const t = window.setTimeout(() => {
      setSearch(typed);
      setPage(1);
    }, SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(t);
  }, [typed]);

  const filter =
    statusFilter || psaStatusFilter || mappingFilter
      ? {
          status: statusFilter ? [statusFilter] : null,
          psaStatus: psaStatusFilter ? [psaStatusFilter] : null,
          mappingStatus: mappingFilter ? [mappingFilter] : null,
        }
      : NO_FILTER;
  const [grid, refetchGrid] = useQuery({
    query: OrganizationsDocument,
    variables: { search: search.trim() || null, filter, sort, page, pageSize },
    requestPolicy: "cache-and-network",
  });
  const reload = () => refetchGrid({ requestPolicy: "network-only" });

  // A finished run changes PSA names, statuses and what can be synced: re-read the grid.
  const lastRuns = `${overview?.organizations.lastRun?.id}/${overview?.subscriptions.lastRun?.id}`;
  const firstRuns = useRef<string | null>(null);
  useEffect(() => {
    if (firstRuns.current === null) firstRuns.current = lastRuns;
    else reload();
  }, [lastRuns]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => onReconnected(() => { reload(); refresh(); }), []); // eslint-disable-line react-hooks/exhaustive-deps
  // A run ended (or events were missed): its rows' cooldowns and states come from the server.
  useEffect(() => {
    if (ended > 0) reload();
  }, [ended]); // eslint-disable-line react-hooks/exhaustive-deps
  const rowCooling = grid.data?.organizations.rows.some((r) => r.cooldownMinutes != null) ?? false;
  useEffect(() => {
    if (!rowCooling) return;
    const t = window.setInterval(reload, ROW_COOLDOWN_REFRESH_MS);
    return () => window.clearInterval(t);
  }, [rowCooling]); // eslint-disable-line react-hooks/exhaustive-deps

  const [, syncOrganizations] = useMutation(SyncOrganizationsDocument);
  const [, syncSubscriptions] = useMutation(SyncSubscriptionsDocument);
  const [, syncOne] = useMutation(SyncOrganizationSubscriptionsDocument);
  const [mapping, mapOrganization] = useMutation(MapOrganizationDocument);
  const [, unmapOrganization] = useMutation(UnmapOrganizationDocument);

  const busy = overview?.organizations.state === "IN_PROGRESS" || overview?.subscriptions.state === "IN_PROGRESS";
  const cooling = overview?.subscriptions.state === "COOLDOWN";
  // A one-organisation subscriptions sync running now, and its live counts: the row whose id
  // (the organisation's public id) the run and its events name shows them.
  const current = overview?.subscriptions.currentRun;
  const rowRun = current && current.scope === "ORGANIZATION" ? current : null;
  const rowLive = rowRun && progress?.runId === rowRun.id ? progress : null;

  const trigger = async (run: () => Promise<{ error?: ErrorLike }>) => {
    const result = await run();
    setRowWarning(null);
    if (result.error) {
      const e = firstError(result.error);
      if (e.extensions?.code === "SYNC_COOLDOWN") setRowWarning(e.message);
      else notify("error", e.message);
    }
    refresh();
  };

  const save = async (row: GridRowFragment) => {
    if (!editing?.choice) return;
    const result = await mapOrganization({ organizationId: row.id, psaOrganizationId: String(editing.choice.id) });
    if (result.data) {
      notify("success", T.mapping.mappedToast(row.name, editing.choice.name));
      setEditing(null);
      reload();
    } else if (result.error) {
      notify("error", firstError(result.error).message);
    }
  };

  const unmap = async (row: GridRowFragment) => {
    const result = await unmapOrganization({ organizationId: row.id });
    if (result.data) {
      notify("success", T.mapping.unmappedToast(row.name));
      reload();
    } else if (result.error) notify("error", firstError(result.error).message);
  };

  const sortBy = (field: OrganizationSortField) => {
    setSort((s) => ({ field, direction: s.field === field && s.direction === "ASC" ? "DESC" : "ASC" }));
    setPage(1);
  };
  const sortHeader = (field: OrganizationSortField, label: string) => {
    const active = sort.field === field;
    return (
      <th scope="col" aria-sort={active ? (sort.direction === "ASC" ? "ascending" : "descending") : "none"}>
        <button type="button" className="th-button" onClick={() => sortBy(field)}>
          {label} <SortIcon direction={active ? sort.direction : null} />
        </button>
      </th>
    );
  };
  const filterSelect = <V extends string>(label: string, value: V | "", options: readonly V[], names: (v: V) => string, set: (v: V | "") => void) => (
    <div className="filter">
      <label htmlFor={`filter-${label.replace(/\W+/g, "-")}`}>{label}</label>
      <select
        id={`filter-${label.replace(/\W+/g, "-")}`}
        value={value}
        onChange={(e) => {
          set(e.target.value as V | "");
          setPage(1);
        }}
      >
        <option value="">{T.mapping.filterAll}</option>
        {options.map((o) => (
          <option key={o} value={o}>{names(o)}</option>
        ))}
      </select>
    </div>
  );

  const page_ = grid.data?.organizations;
  const warning = rowWarning ?? (cooling ? overview?.subscriptions.message ?? null : null);

  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">{T.mapping.title}</h1>
      <div className="banner-info" role="note">
        <InfoIcon />
        <div>
          <strong>{T.mapping.scheduleTitle}</strong>
          <ul>
            <li>{T.mapping.scheduleOrganizations}</li>
            <li>{T.mapping.scheduleSubscriptions}</li>
          </ul>
        </div>
      </div>

      <div className="sync-row">
        <div className="tiles">
          <Tile label={T.mapping.lastSyncToPlatform} value={overview?.lastSyncToPlatform.relative} testId="tile-platform" />
          <Tile label={T.mapping.lastSyncToPsa} value={overview?.lastSyncToPsa.relative} testId="tile-psa" />
        </div>
        <div className="sync-buttons">
          <SyncButton
            testId="sync-organizations"
            label={T.mapping.syncOrganizations}
            tooltip={T.mapping.syncOrganizationsTooltip}
            status={overview?.organizations}
            disabled={!overview || busy}
            onClick={() => trigger(() => syncOrganizations({}))}
          />
          <SyncButton
            testId="sync-subscriptions"
            label={T.mapping.syncSubscriptions}
            tooltip={T.mapping.syncSubscriptionsTooltip}
            status={overview?.subscriptions}
            disabled={!overview || busy || cooling}
            onClick={() => trigger(() => syncSubscriptions({}))}
          />
        </div>
      </div>
      <RunProgress overview={[overview?.organizations, overview?.subscriptions]} progress={progress} />
      {overview?.subscriptions.lastRun?.state === "NEEDS_APPROVAL" && <HeldRun run={overview.subscriptions.lastRun} onDone={refresh} />}

      <div className="grid-toolbar">
        <label className="search">
          <span className="visually-hidden">{T.mapping.searchLabel}</span>
          <input type="search" placeholder={T.mapping.searchPlaceholder} value={typed} onChange={(e) => setTyped(e.target.value)} />
        </label>
        <div className="filters">
          {filterSelect(T.mapping.columns.status, statusFilter, ORG_STATUSES, title, setStatusFilter)}
          {filterSelect(T.mapping.columns.psaStatus, psaStatusFilter, PSA_STATUSES, title, setPsaStatusFilter)}
          {filterSelect(T.mapping.columns.mappingStatus, mappingFilter, MAPPING_STATUSES, (m) => MAPPING_LABEL[m], setMappingFilter)}
        </div>
      </div>

      <div className="table-wrap">
        <table className="grid" aria-describedby="page-title">
          <thead>
            <tr>
              {sortHeader("NAME", T.mapping.columns.name)}
              {sortHeader("REFERENCE", T.mapping.columns.reference)}
              {sortHeader("STATUS", T.mapping.columns.status)}
              <th scope="col">{T.mapping.columns.psaName}</th>
              <th scope="col">{T.mapping.columns.psaId}</th>
              <th scope="col">{T.mapping.columns.psaStatus}</th>
              <th scope="col">{T.mapping.columns.mappingStatus}</th>
              <th scope="col" className="actions-col">{T.mapping.columns.actions}</th>
            </tr>
          </thead>
          <tbody>
            {page_?.rows.map((row) => {
              const isEditing = editing?.id === row.id;
              const start = (column: "name" | "id") =>
                setEditing({
                  id: row.id,
                  column,
                  choice: row.psaOrganizationId != null && row.psaOrganizationName ? { id: row.psaOrganizationId, name: row.psaOrganizationName } : null,
                });
              const choose = (choice: PsaChoice) => setEditing((e) => (e ? { ...e, choice } : e));
              const cancel = () => setEditing(null);
              const unmapped = row.mappingStatus === "UNMAPPED";
              const sync = rowSync(row, live);
              const rowProgress = rowLive?.organizationId === row.id ? rowLive : null;
              const syncing = rowProgress !== null || rowRun?.organizationId === row.id;
              return (
                <tr key={row.id} className={isEditing ? "editing" : undefined} data-org={row.id} aria-busy={syncing || undefined}>
                  <th scope="row" className="org-name">
                    {row.name}
                    {syncing && (
                      <span className="row-progress" data-testid="row-progress">
                        {rowProgress && rowProgress.total > 0 ? T.mapping.progress(rowProgress.processed, rowProgress.total) : T.mapping.rowSyncing}
                      </span>
                    )}
                  </th>
                  <td>{row.reference}</td>
                  <td>
                    <span className={`status-dot status-${row.status.toLowerCase()}`} aria-hidden="true" />
                    {title(row.status)}
                  </td>
                  <td>
                    {isEditing ? (
                      <PsaCombobox column="name" rowLabel={row.name} choice={editing.choice} autoFocus={editing.column === "name"} onChoose={choose} onCancel={cancel} />
                    ) : unmapped ? (
                      <button type="button" className="link select-link" onClick={() => start("name")} aria-label={`${T.mapping.clickToSelect}: ${T.mapping.columns.psaName}, ${row.name}`}>
                        {T.mapping.clickToSelect}
                      </button>
                    ) : (
                      row.psaOrganizationName ?? ""
                    )}
                  </td>
                  <td>
                    {isEditing ? (
                      <PsaCombobox column="id" rowLabel={row.name} choice={editing.choice} autoFocus={editing.column === "id"} onChoose={choose} onCancel={cancel} />
                    ) : unmapped ? (
                      <button type="button" className="link select-link" onClick={() => start("id")} aria-label={`${T.mapping.clickToSelect}: ${T.mapping.columns.psaId}, ${row.name}`}>
                        {T.mapping.clickToSelect}
                      </button>
                    ) : (
                      row.psaOrganizationId ?? ""
                    )}
                  </td>
                  <td>{row.psaOrganizationStatus ? title(row.psaOrganizationStatus) : ""}</td>
                  <td>
                    {row.mappingStatus === "RESPONSE_ERROR" ? (
                      <Tooltip text={row.mappingStatusTooltip ?? ""}>
                        {(id) => (
                          <span className="badge badge-error" tabIndex={0} aria-describedby={id}>
                            <WarningIcon /> {T.mapping.responseError}
                          </span>
                        )}
                      </Tooltip>
                    ) : (
                      <span className={`badge ${row.mappingStatus === "MAPPED" ? "badge-ok" : "badge-muted"}`}>{MAPPING_LABEL[row.mappingStatus]}</span>
                    )}
                    {row.existingLicencesToReview > 0 && (
                      <button type="button" className="link review-link" onClick={() => setReviewing(row.id)}>
                        {T.review.open(row.existingLicencesToReview)}
                      </button>
                    )}
                  </td>
                  <td className="actions-col">
                    {isEditing ? (
                      <span className="row-actions">
                        <button type="button" className="icon-button confirm" aria-label={`${T.mapping.save}: ${row.name}`} disabled={!editing.choice || mapping.fetching} onClick={() => save(row)}>
                          <CheckIcon />
                        </button>
                        <button type="button" className="icon-button cancel" aria-label={`${T.mapping.cancel}: ${row.name}`} onClick={cancel}>
                          <CrossIcon />
                        </button>
                      </span>
                    ) : (
                      <span className="row-actions">
                        <button type="button" className="icon-button edit" aria-label={`${T.mapping.edit}: ${row.name}`} onClick={() => start("name")}>
                          <PencilIcon />
                        </button>
                        <button type="button" className="icon-button delete" aria-label={`${T.mapping.delete}: ${row.name}`} disabled={unmapped} onClick={() => unmap(row)}>
                          <TrashIcon />
                        </button>
                        <button
                          type="button"
                          className={sync.running ? "icon-button sync running" : "icon-button sync"}
                          aria-label={`${T.mapping.syncRow}: ${row.name}`}
                          title={sync.message ?? undefined}
                          data-sync-message={sync.message ?? undefined}
                          disabled={!sync.enabled || busy}
                          onClick={() =>
                            trigger(async () => {
                              const r = await syncOne({ organizationId: row.id });
                              if (r.data) notify("success", T.mapping.rowSyncQueued(row.name));
                              return r;
                            })
                          }
                        >
                          <SyncIcon />
                        </button>
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
            {page_ && page_.rows.length === 0 && (
              <tr>
                <td colSpan={8} className="empty">{T.mapping.noRows}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {page_ && (
        <Pagination
          id={T.mapping.title}
          total={page_.total}
          range={page_.range}
          page={page_.page}
          pageCount={page_.pageCount}
          pageSize={page_.pageSize}
          onPage={setPage}
          onPageSize={(n) => {
            setPageSize(n);
            setPage(1);
          }}
        />
      )}
      {reviewing && (
        <ExistingLicencesReview
          organizationId={reviewing}
          onClose={() => {
            setReviewing(null);
            reload();
          }}
        />
      )}
      {warning && (
        <div className="bottom-warning" role="status" data-testid="cooldown-warning">
          <WarningIcon /> <span>{warning}</span>
        </div>
      )}
    </section>
  );
}

function Tile({ label, value, testId }: { label: string; value: string | null | undefined; testId: string }) {
  return (
    <div className="tile" data-testid={testId}>
      <span className="tile-label">{label}</span>
      <span className="tile-value">{value ?? T.mapping.never}</span>
    </div>
  );
}

function SyncButton({ testId, label, tooltip, status, disabled, onClick }: { testId: string; label: string; tooltip: string; status: KindStatusFragment | undefined; disabled: boolean; onClick: () => void }) {
  const running = status?.state === "IN_PROGRESS" && status.currentRun;
  return (
    <Tooltip text={tooltip}>
      {(id) => (
        <button type="button" className="primary sync-button" data-testid={testId} aria-describedby={id} disabled={disabled} onClick={onClick}>
          <SyncIcon /> {running ? T.mapping.inProgress : label}
        </button>
      )}
    </Tooltip>
  );
}

function RunProgress({ overview, progress }: { overview: (KindStatusFragment | undefined)[]; progress: Progress | null }) {
  const status = overview.find((s) => s?.state === "IN_PROGRESS" && s.currentRun);
  const run = status?.currentRun;
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!run) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [run]);
  if (!status || !run) return null;
  const live = progress && progress.runId === run.id ? progress : null;
  const processed = Math.max(live?.processed ?? 0, run.processed);
  const total = Math.max(live?.total ?? 0, run.total);
  const started = run.startedAt ? Date.parse(run.startedAt) : null;
  let eta: string | null = null;
  if (started && processed > 0 && total > processed) {
    const perRecord = (now - started) / 1000 / processed;
    eta = T.mapping.eta(perRecord * (total - processed));
  }
  const kind = T.mapping.runKind[status.kind];
  const label = run.organizationName ? `${kind} · ${run.organizationName}` : kind;
  return (
    <div className="run-progress" data-testid="run-progress">
      <div className="run-progress-head">
        <span>{label}: {T.mapping.inProgress}</span>
        <span>
          {total > 0 ? T.mapping.progress(processed, total) : ""} {eta ? `· ${eta}` : ""}
        </span>
      </div>
      <progress max={total || 1} value={total ? processed : undefined} aria-label={`${label}: ${T.mapping.inProgress}`} />
    </div>
  );
}
