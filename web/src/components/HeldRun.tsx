/** A subscriptions sync the safety valve holds: what it would do, Approve and Cancel. */
import { useMutation } from "urql";
import { WarningIcon } from "./Icons";
import { useToast } from "./Toast";
import { ApproveSyncDocument, CancelSyncDocument, type RunFieldsFragment } from "../gql/graphql";
import { T } from "../texts";

export function HeldRun({ run, onDone }: { run: RunFieldsFragment; onDone: () => void }) {
  const notify = useToast();
  const [approving, approve] = useMutation(ApproveSyncDocument);
  const [cancelling, cancel] = useMutation(CancelSyncDocument);
  const act = async (go: () => Promise<{ error?: { graphQLErrors: { message: string }[]; message: string } }>, done: string) => {
    const result = await go();
    if (result.error) notify("error", result.error.graphQLErrors[0]?.message ?? result.error.message);
    else notify("success", done);
    onDone();
  };
  const busy = approving.fetching || cancelling.fetching;
  return (
    <div className="banner-held" role="alert" data-testid="held-run">
      <WarningIcon />
      <div>
        <strong>{T.held.title}</strong>
        <p>{run.approval?.summary ?? run.message}</p>
        <span className="row-actions">
          <button type="button" className="primary" disabled={busy} onClick={() => act(() => approve({ runId: run.id }), T.held.approved)}>
            {T.held.approve}
          </button>
          <button type="button" className="secondary" disabled={busy} onClick={() => act(() => cancel({ runId: run.id }), T.held.cancelled)}>
            {T.held.cancel}
          </button>
        </span>
      </div>
    </div>
  );
}
