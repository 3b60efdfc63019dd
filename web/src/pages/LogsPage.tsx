/** Logs & Monitoring: four tiles, the 30-day chart, the level filter, the log grid, paging. */
import { useEffect, useRef, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { onReconnected } from "../client";
import { RefreshIcon } from "../components/Icons";
import { Pagination } from "../components/Pagination";
import { LogOverviewDocument, LogsDocument, SyncActivityDocument, SyncEventsDocument, type LogLevelFilter, type SyncActivityQuery } from "../gql/graphql";
import { formatTimestamp, shortDay, timezoneLabel, utcOffsetMinutes } from "../format";
import { T } from "../texts";

const LEVELS: LogLevelFilter[] = ["ALL", "INFO", "WARNING", "ERROR"];
// A running sync writes entries in bursts: re-read at most once a second.
const LIVE_REFRESH_MS = 1_000;
const CHART_DAYS = 30;

export function LogsPage() {
  const [level, setLevel] = useState<LogLevelFilter>("ALL");
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const [tiles, refetchTiles] = useQuery({ query: LogOverviewDocument, requestPolicy: "cache-and-network" });
  const [logs, refetchLogs] = useQuery({ query: LogsDocument, variables: { level, page, pageSize }, requestPolicy: "cache-and-network" });
  const [activity, refetchActivity] = useQuery({
    query: SyncActivityDocument,
    variables: { days: CHART_DAYS, utcOffsetMinutes: utcOffsetMinutes() },
    requestPolicy: "cache-and-network",
  });
  const reloadAll = () => {
    const fresh = { requestPolicy: "network-only" as const };
    refetchTiles(fresh);
    refetchLogs(fresh);
    refetchActivity(fresh);
  };
  const reloadRef = useRef(reloadAll);
  reloadRef.current = reloadAll;

  // New entries of a running sync appear live: every sync event re-reads the page (throttled).
  const pending = useRef<number | undefined>(undefined);
  useSubscription({ query: SyncEventsDocument }, (_prev, next) => {
    if (pending.current === undefined) {
      pending.current = window.setTimeout(() => {
        pending.current = undefined;
        reloadRef.current();
      }, LIVE_REFRESH_MS);
    }
    return next;
  });
  useEffect(() => () => window.clearTimeout(pending.current), []);
  useEffect(() => onReconnected(() => reloadRef.current()), []);

  const o = tiles.data?.logOverview;
  const l = logs.data?.logs;
  return (
    <section aria-labelledby="page-title" className="page">
      <h1 id="page-title">{T.logs.title}</h1>
      <div className="tiles four">
        <div className="tile" data-testid="tile-total">
          <span className="tile-label">{T.logs.total}</span>
          <span className="tile-value">{o?.total ?? "–"}</span>
        </div>
        <div className="tile" data-testid="tile-errors">
          <span className="tile-label">{T.logs.errors}</span>
          <span className={`tile-value ${o && o.errors > 0 ? "value-error" : ""}`}>{o?.errors ?? "–"}</span>
        </div>
        <div className="tile" data-testid="tile-warnings">
          <span className="tile-label">{T.logs.warnings}</span>
          <span className={`tile-value ${o && o.warnings > 0 ? "value-warning" : ""}`}>{o?.warnings ?? "–"}</span>
        </div>
        <div className="tile tile-update" data-testid="tile-last-update">
          <span className="tile-label">{T.logs.lastUpdate}</span>
          <span className="tile-value">{o?.lastUpdateRelative ?? "–"}</span>
          <span className="tile-note">{timezoneLabel()}</span>
          <button type="button" className="icon-button refresh" aria-label={T.logs.refresh} onClick={reloadAll}>
            <RefreshIcon />
          </button>
        </div>
      </div>

      {activity.data && <ActivityChart days={activity.data.syncActivity} />}

      <div className="grid-toolbar">
        <div className="filter">
          <label htmlFor="filter-level">{T.logs.level}</label>
          <select
            id="filter-level"
            value={level}
            onChange={(e) => {
              setLevel(e.target.value as LogLevelFilter);
              setPage(1);
            }}
          >
            {LEVELS.map((v) => (
              <option key={v} value={v}>{T.logs.levels[v]}</option>
            ))}
          </select>
        </div>
      </div>
      <div className="table-wrap">
        <table className="grid logs">
          <thead>
            <tr>
              <th scope="col" className="level-col">{T.logs.columns.level}</th>
              <th scope="col" className="time-col">{T.logs.columns.timestamp}</th>
              <th scope="col">{T.logs.columns.summary}</th>
            </tr>
          </thead>
          <tbody>
            {l?.entries.map((e) => (
              <tr key={e.id} data-code={e.code}>
                <td><span className={`badge level-${e.level.toLowerCase()}`}>{e.level}</span></td>
                <td className="mono">{formatTimestamp(e.timestamp)}</td>
                <td>
                  <div className="summary-title">{e.title}</div>
                  {e.details && <div className="summary-details">{e.details}</div>}
                </td>
              </tr>
            ))}
            {l && l.entries.length === 0 && (
              <tr>
                <td colSpan={3} className="empty">{T.logs.empty}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {l && (
        <Pagination
          id={T.logs.title}
          total={l.total}
          range={l.range}
          page={l.page}
          pageCount={l.pageCount}
          pageSize={l.pageSize}
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

type Day = SyncActivityQuery["syncActivity"][number];

/** Stacked bars (runs by outcome) and a line (records written), as inline SVG. */
function ActivityChart({ days }: { days: Day[] }) {
  const width = 1000;
  const height = 150;
  const pad = { left: 32, right: 44, top: 10, bottom: 22 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const maxRuns = Math.max(1, ...days.map((d) => d.succeeded + d.failed + d.cancelled));
  const maxWritten = Math.max(1, ...days.map((d) => d.recordsWritten));
  const slot = innerW / days.length;
  const bar = Math.max(2, slot * 0.6);
  const y = (runs: number) => (runs / maxRuns) * innerH;
  const runs = days.reduce((n, d) => n + d.succeeded + d.failed + d.cancelled, 0);
  const failed = days.reduce((n, d) => n + d.failed, 0);
  const written = days.reduce((n, d) => n + d.recordsWritten, 0);
  const line = days
    .map((d, i) => `${i ? "L" : "M"}${(pad.left + slot * i + slot / 2).toFixed(1)},${(pad.top + innerH - (d.recordsWritten / maxWritten) * innerH).toFixed(1)}`)
    .join(" ");
  return (
    <figure className="card chart">
      <figcaption>
        <span className="chart-title">{T.logs.chartTitle}</span>
        <span className="legend">
          <span className="key key-ok" aria-hidden="true" /> {T.logs.chartSucceeded}
          <span className="key key-failed" aria-hidden="true" /> {T.logs.chartFailed}
          <span className="key key-cancelled" aria-hidden="true" /> {T.logs.chartCancelled}
          <span className="key key-written" aria-hidden="true" /> {T.logs.chartWritten}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={T.logs.chartSummary(runs, failed, written)} preserveAspectRatio="none">
        <line x1={pad.left} x2={width - pad.right} y1={pad.top + innerH} y2={pad.top + innerH} className="axis" />
        <text x={pad.left - 6} y={pad.top + 8} className="axis-label" textAnchor="end">{maxRuns}</text>
        <text x={width - pad.right + 6} y={pad.top + 8} className="axis-label written">{maxWritten}</text>
        {days.map((d, i) => {
          const x = pad.left + slot * i + (slot - bar) / 2;
          let base = pad.top + innerH;
          const parts: [number, string][] = [
            [d.succeeded, "bar-ok"],
            [d.failed, "bar-failed"],
            [d.cancelled, "bar-cancelled"],
          ];
          return (
            <g key={d.day}>
              <title>{`${d.day}: ${d.succeeded} ${T.logs.chartSucceeded}, ${d.failed} ${T.logs.chartFailed}, ${d.cancelled} ${T.logs.chartCancelled}, ${d.recordsWritten} ${T.logs.chartWritten}`}</title>
              {parts.map(([n, cls]) => {
                if (!n) return null;
                const h = y(n);
                base -= h;
                return <rect key={cls} x={x} y={base} width={bar} height={h} className={cls} />;
              })}
              {i % 5 === 4 || i === days.length - 1 ? (
                <text x={x + bar / 2} y={height - 6} className="axis-label" textAnchor="middle">{shortDay(d.day)}</text>
              ) : null}
            </g>
          );
        })}
        <path d={line} className="written-line" fill="none" />
      </svg>
    </figure>
  );
}
