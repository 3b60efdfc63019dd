/**
 * Drift check: what the latest check found in HaloPSA (licences edited, deactivated or deleted
 * by hand, and licences under mapped organizations this integration never wrote), the button
 * that starts one (reconcile), and the daily check after the 18:00 UTC push. Live: the button
 * follows the sync overview, and the report is read again when a check finishes.
 */
import { useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { Pagination } from "../components/Pagination";
import { useToast } from "../components/Toast";
import { useSyncOverview } from "../components/useSyncOverview";
import {
  DailyDriftCheckDocument,
  DriftDocument,
  ReconcileDocument,
  SetDailyDriftCheckDocument,
  SyncEventsDocument,
  type DriftKind,
} from "../gql/graphql";
import { formatTimestamp } from "../format";
import { T } from "../texts";

type KindFilter = DriftKind | "ALL";
const KINDS: KindFilter[] = ["ALL", "EDITED", "DEACTIVATED", "DELETED", "FOREIGN"];
const FINISHED = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

export function DriftPage() {
  const notify = useToast();
  const [kind, setKind] = useState<KindFilter>("ALL");
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const variables = { kind: kind === "ALL" ? null : kind, page, pageSize };
  const [report, refetch] = useQuery({ query: DriftDocument, variables, requestPolicy: "cache-and-network" });
  const [daily] = useQuery({ query: DailyDriftCheckDocument, requestPolicy: "cache-and-network" });
  const [starting, reconcile] = useMutation(ReconcileDocument);
  const [saving, setDaily] = useMutation(SetDailyDriftCheckDocument);
  const { overview } = useSyncOverview();
  useSubscription({ query: SyncEventsDocument }, (_prev, next) => {
    const e = next.syncEvents;
    if (e.kind === "RECONCILE" && FINISHED.has(e.phase)) refetch({ requestPolicy: "network-only" });
    return next;
  });

  const status = overview?.reconcile;
  const running = status?.state === "IN_PROGRESS";
  const start = async () => {
    const result = await reconcile({});
    if (result.data) notify("success", T.drift.queued);
    else if (result.error) notify("error", result.error.graphQLErrors[0]?.message ?? result.error.message);
  };
  const toggle = async () => {
    const result = await setDaily({ enabled: !(daily.data?.configuration.dailyDriftCheck ?? false) });
    const update = result.data?.setDailyDriftCheck;
    if (update) notify("success", update.message);
    else if (result.error) notify("error", result.error.graphQLErrors[0]?.message ?? result.error.message);
  };

  const d = report.data?.drift;
  const dailyOn = daily.data?.configuration.dailyDriftCheck ?? false;
  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">{T.drift.title}</h1>
      <p className="intro">{T.drift.intro}</p>
      <div className="card">
        <div className="setting">
          <div>
            <p data-testid="drift-last-check">
              {d?.checkedAt ? T.drift.lastCheck(formatTimestamp(d.checkedAt), d.licencesRead) : T.drift.never}
            </p>
            <p className="help">{T.drift.csvHint}</p>
          </div>
          <button type="button" className="primary" data-testid="drift-check-now" disabled={!overview || running || starting.fetching} onClick={start}>
            {running ? T.drift.inProgress : T.drift.checkNow}
          </button>
        </div>
        <div className="setting">
          <div>
            <span className="setting-label" id="daily-drift-label">{T.drift.daily}</span>
            <p className="help" id="daily-drift-help">{T.drift.dailyHelp}</p>
          </div>
          <button
            type="button"
            role="switch"
            className="switch"
            aria-checked={dailyOn}
            aria-labelledby="daily-drift-label"
            aria-describedby="daily-drift-help"
            disabled={!daily.data || saving.fetching}
            onClick={toggle}
          >
            <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
            <span className="switch-text">{dailyOn ? T.drift.on : T.drift.off}</span>
          </button>
        </div>
      </div>

      <div className="tiles four">
        <Tile label={T.drift.edited} value={d?.counts.edited} testId="drift-edited" warn />
        <Tile label={T.drift.deactivated} value={d?.counts.deactivated} testId="drift-deactivated" warn />
        <Tile label={T.drift.deleted} value={d?.counts.deleted} testId="drift-deleted" warn />
        <Tile label={T.drift.foreign} value={d?.counts.foreign} testId="drift-foreign" />
      </div>

      <div className="grid-toolbar">
        <div className="filter">
          <label htmlFor="filter-drift">{T.drift.kind}</label>
          <select
            id="filter-drift"
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as KindFilter);
              setPage(1);
            }}
          >
            {KINDS.map((v) => (
              <option key={v} value={v}>{T.drift.kinds[v]}</option>
            ))}
          </select>
        </div>
      </div>
      <div className="table-wrap">
        <table className="grid drift">
          <thead>
            <tr>
              <th scope="col">{T.drift.columns.organization}</th>
              <th scope="col">{T.drift.columns.licence}</th>
              <th scope="col">{T.drift.columns.drift}</th>
              <th scope="col">{T.drift.columns.changes}</th>
              <th scope="col">{T.drift.columns.details}</th>
            </tr>
          </thead>
          <tbody>
            {d?.findings.map((f) => (
              <tr key={f.haloLicenceId}>
                <td>{f.organizationName ?? f.haloClientName ?? "–"}</td>
                <td>
                  <div className="summary-title">{f.licenceName}</div>
                  <div className="summary-details mono">#{f.haloLicenceId}</div>
                </td>
                <td><span className={`badge drift-${f.kind.toLowerCase()}`}>{T.drift.kinds[f.kind]}</span></td>
                <td>
                  {f.changes.map((c) => (
                    <div key={c.field} className="mono">{`${c.field}: ${c.ours ?? "(none)"} → ${c.theirs ?? "(none)"}`}</div>
                  ))}
                </td>
                <td className="summary-details">{f.text}</td>
              </tr>
            ))}
            {d && d.findings.length === 0 && (
              <tr>
                <td colSpan={5} className="empty">{d.checkedAt ? T.drift.empty : T.drift.never}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {d && (
        <Pagination
          id={T.drift.title}
          total={d.total}
          range={d.range}
          page={d.page}
          pageCount={d.pageCount}
          pageSize={d.pageSize}
          onPage={setPage}
          onPageSize={(n) => {
            setPageSize(n);
            setPage(1);
          }}
        />
      )}
    </section>
  );
}

function Tile({ label, value, testId, warn = false }: { label: string; value: number | undefined; testId: string; warn?: boolean }) {
  return (
    <div className="tile" data-testid={testId}>
      <span className="tile-label">{label}</span>
      <span className={`tile-value ${warn && value ? "value-warning" : ""}`}>{value ?? "–"}</span>
    </div>
  );
}
