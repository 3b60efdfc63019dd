/**
 * Day one: the licences a newly mapped HaloPSA organization already held, beside the
 * platform's subscriptions. Each licence starts on its suggested pair (if any); the seller
 * claims the chosen pairs, marks licences as not ours, or creates new for the rest.
 */
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { Modal } from "./Modal";
import { useToast } from "./Toast";
import {
  ClaimExistingLicencesDocument,
  CreateNewLicencesDocument,
  ExistingLicencesDocument,
  MarkExistingLicencesNotOursDocument,
  type ReviewFieldsFragment,
} from "../gql/graphql";
import { T } from "../texts";

type Answer = { error?: { graphQLErrors: { message: string }[]; message: string } };

export function ExistingLicencesReview({ organizationId, onClose }: { organizationId: string; onClose: () => void }) {
  const notify = useToast();
  const [{ data }, reread] = useQuery({ query: ExistingLicencesDocument, variables: { organizationId }, requestPolicy: "network-only" });
  const [, claim] = useMutation(ClaimExistingLicencesDocument);
  const [, notOurs] = useMutation(MarkExistingLicencesNotOursDocument);
  const [, createNew] = useMutation(CreateNewLicencesDocument);
  const [chosen, setChosen] = useState<Record<number, string>>({});
  const review: ReviewFieldsFragment | null | undefined = data?.existingLicences;

  // Every decision answers the review as it now is: done, or re-read to go on.
  const after = (result: Answer, now: ReviewFieldsFragment | undefined) => {
    if (result.error) notify("error", result.error.graphQLErrors[0]?.message ?? result.error.message);
    if (now?.state === "RESOLVED") {
      notify("success", T.review.done);
      onClose();
    } else reread({ requestPolicy: "network-only" });
  };
  if (!review) return null;
  const open = review.licences.filter((l) => l.decision === "UNDECIDED");
  const pick = (id: number) => chosen[id] ?? open.find((l) => l.id === id)?.suggestion?.subscriptionId ?? "";
  const free = review.subscriptions.filter((s) => s.claimedLicenceId == null);
  const pairs = open.map((l) => ({ licenceId: l.id, subscriptionId: pick(l.id) })).filter((p) => p.subscriptionId);

  return (
    <Modal
      title={T.review.title(review.organizationName ?? "", review.haloClientName ?? "")}
      onCancel={onClose}
      actions={
        <>
          <button type="button" className="secondary" onClick={onClose}>{T.review.close}</button>
          <button type="button" className="secondary" onClick={async () => {
              const r = await createNew({ organizationId });
              after(r, r.data?.createNewLicences);
            }}>{T.review.createNew}</button>
          <button type="button" className="primary" disabled={pairs.length === 0} onClick={async () => {
              const r = await claim({ organizationId, pairs });
              after(r, r.data?.claimExistingLicences);
            }}>
            {T.review.claim}
          </button>
        </>
      }
    >
      <p>{T.review.intro}</p>
      <table className="grid review" data-testid="existing-licences">
        <thead>
          <tr>
            <th scope="col">{T.review.licence}</th>
            <th scope="col">{T.review.pairWith}</th>
            <th scope="col"><span className="visually-hidden">{T.review.notOurs}</span></th>
          </tr>
        </thead>
        <tbody>
          {review.licences.map((l) => (
            <tr key={l.id} data-licence={l.id}>
              <th scope="row">
                {l.name}
                <div className="help">{T.review.facts(l.count, l.price, l.billingCycle)}</div>
                {l.suggestion && l.decision === "UNDECIDED" && (
                  <div className="help">{T.review.suggested(l.suggestion.score, l.suggestion.reasons.join(", "))}</div>
                )}
              </th>
              <td>
                {l.decision === "UNDECIDED" ? (
                  <select aria-label={`${T.review.pairWith}: ${l.name}`} value={pick(l.id)} onChange={(e) => setChosen((c) => ({ ...c, [l.id]: e.target.value }))}>
                    <option value="">{T.review.none}</option>
                    {free.map((s) => (
                      <option key={s.id} value={s.id}>{s.name} ({s.quantity})</option>
                    ))}
                  </select>
                ) : (
                  `${T.review.decided[l.decision]}${l.subscriptionId ? `: ${l.subscriptionId}` : ""}`
                )}
              </td>
              <td>
                {l.decision === "UNDECIDED" && (
                  <button type="button" className="link" onClick={async () => {
                      const r = await notOurs({ organizationId, licenceIds: [l.id] });
                      after(r, r.data?.markExistingLicencesNotOurs);
                    }}>
                    {T.review.notOurs}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
