/**
 * The sync overview, live: syncOverviewChanged pushes it on every state change (and answers
 * the current one first, also after a reconnect). While a cooldown runs, the overview is
 * re-read each minute so "You can trigger the next sync in xx minutes" counts down and the
 * buttons come back when it ends. syncEvents adds the running run's progress (done / total),
 * with the organisation of a one-organisation run by its public id: the grid row whose id it
 * is shows the progress.
 */
import { useEffect, useRef, useState } from "react";
import { useClient, useSubscription } from "urql";
import {
  SyncEventsDocument,
  SyncOverviewChangedDocument,
  SyncOverviewDocument,
  type OverviewFragment,
  type SyncEventsSubscription,
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

export function useSyncOverview(): { overview: OverviewFragment | null; progress: Progress | null; refresh: () => void } {
  const client = useClient();
  const [overview, setOverview] = useState<OverviewFragment | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [{ data }] = useSubscription({ query: SyncOverviewChangedDocument });
  useEffect(() => {
    if (data?.syncOverviewChanged) setOverview(data.syncOverviewChanged);
  }, [data]);
  useSubscription({ query: SyncEventsDocument }, (_prev: SyncEventsSubscription | undefined, next: SyncEventsSubscription) => {
    const e = next.syncEvents;
    if (e.phase === "PROGRESS" || e.phase === "STARTED")
      setProgress({ runId: e.runId, processed: e.processed, total: e.total, organizationId: e.organizationId ?? null });
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
  return { overview, progress, refresh };
}
