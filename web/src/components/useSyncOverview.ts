/**
 * The sync overview, live: syncOverviewChanged pushes it on every state change (and answers
 * the current one first, also after a reconnect). While a cooldown runs, the overview is
 * re-read each minute so "You can trigger the next sync in xx minutes" counts down and the
 * buttons come back when it ends. syncEvents adds the running run's progress (done / total),
 * with the organisation of a one-organisation run by its public id: the grid row whose id it
 * is shows the progress; the run in flight (what the grid rows' sync buttons show while it
 * runs) and a count of runs that ended (the grid re-reads its rows then: a finished run may
 * start an organisation's cooldown).
 */
import { useEffect, useRef, useState } from "react";
import { useClient, useSubscription } from "urql";
import {
  SyncEventsDocument,
  SyncOverviewChangedDocument,
  SyncOverviewDocument,
  type OverviewFragment,
  type SyncEventsSubscription,
  type SyncKind,
  type SyncScope,
} from "../gql/graphql";

// The cooldown message counts minutes: re-read once a minute.
const COOLDOWN_REFRESH_MS = 60_000;

export interface Progress {
  runId: string;
  processed: number;
  total: number;
  /** A one-organisation run's organisation: the grid row's id (its public id). */
  organizationId: string | null;
}

/** A run queued or running, as its latest event tells it. */
export interface LiveRun {
  runId: string;
  /** Null only on RESYNC, which never makes a run live. */
  kind: SyncKind | null;
  scope: SyncScope | null;
  organizationId: string | null | undefined;
}

const RUNNING_PHASES = new Set(["QUEUED", "STARTED", "PROGRESS"]);

export function useSyncOverview(): {
  overview: OverviewFragment | null;
  progress: Progress | null;
  live: LiveRun | null;
  ended: number;
  refresh: () => void;
} {
  const client = useClient();
  const [overview, setOverview] = useState<OverviewFragment | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [live, setLive] = useState<LiveRun | null>(null);
  const [ended, setEnded] = useState(0);
  const [{ data }] = useSubscription({ query: SyncOverviewChangedDocument });
  useEffect(() => {
    if (data?.syncOverviewChanged) setOverview(data.syncOverviewChanged);
  }, [data]);
  useSubscription({ query: SyncEventsDocument }, (_prev: SyncEventsSubscription | undefined, next: SyncEventsSubscription) => {
    const e = next.syncEvents;
    if (e.phase === "PROGRESS" || e.phase === "STARTED")
      setProgress({ runId: e.runId, processed: e.processed, total: e.total, organizationId: e.organizationId ?? null });
    if (RUNNING_PHASES.has(e.phase)) {
      setLive({ runId: e.runId, kind: e.kind, scope: e.scope, organizationId: e.organizationId });
    } else {
      // COMPLETED, FAILED, CANCELLED, or RESYNC (events were missed): read the rows again.
      setLive(null);
      setEnded((n) => n + 1);
    }
    return next;
  });
  const refresh = useRef(() => {
    void client
      .query(SyncOverviewDocument, {}, { requestPolicy: "network-only" })
      .toPromise()
      .then((r) => r.data && setOverview(r.data.syncOverview));
  }).current;
  const cooling = overview?.subscriptions.state === "COOLDOWN";
  useEffect(() => {
    if (!cooling) return;
    const t = window.setInterval(refresh, COOLDOWN_REFRESH_MS);
    return () => window.clearInterval(t);
  }, [cooling, refresh]);
  return { overview, progress, live, ended, refresh };
}
