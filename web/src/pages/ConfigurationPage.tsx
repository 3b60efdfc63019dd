/** Configuration: "Sync unit prices to HaloPSA" under "Sync behavior", with its confirmation. */
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { Modal } from "../components/Modal";
import { useToast } from "../components/Toast";
import { ConfigurationDocument, SetSyncUnitPricesDocument } from "../gql/graphql";
import { T } from "../texts";

export function ConfigurationPage() {
  const [{ data }] = useQuery({ query: ConfigurationDocument, requestPolicy: "cache-and-network" });
  const [saving, setUnitPrices] = useMutation(SetSyncUnitPricesDocument);
  const notify = useToast();
  // The direction the seller asked for, waiting for Confirm; the switch shows it meanwhile.
  const [pending, setPending] = useState<boolean | null>(null);
  const saved = data?.configuration.syncUnitPrices ?? false;
  const shown = pending ?? saved;

  const confirm = async () => {
    if (pending === null) return;
    const result = await setUnitPrices({ enabled: pending });
    setPending(null);
    const update = result.data?.setSyncUnitPrices;
    if (update) notify("success", update.message);
    else if (result.error) notify("error", result.error.graphQLErrors[0]?.message ?? result.error.message);
  };

  return (
    <section aria-labelledby="page-title" className="page narrow">
      <h1 id="page-title">{T.configuration.title}</h1>
      <p className="intro">{T.configuration.intro}</p>
      <div className="card">
        <h2>{T.configuration.section}</h2>
        <div className="setting">
          <div>
            <span className="setting-label" id="unit-prices-label">{T.configuration.unitPrices}</span>
            <p className="help" id="unit-prices-help">{T.configuration.unitPricesHelp}</p>
          </div>
          <button
            type="button"
            role="switch"
            className="switch"
            aria-checked={shown}
            aria-labelledby="unit-prices-label"
            aria-describedby="unit-prices-help"
            disabled={!data || saving.fetching}
            onClick={() => setPending(!shown)}
          >
            <span className="switch-track" aria-hidden="true"><span className="switch-thumb" /></span>
            <span className="switch-text">{shown ? T.configuration.on : T.configuration.off}</span>
          </button>
        </div>
      </div>
      {pending !== null && (
        <Modal
          title={T.configuration.modalTitle}
          onCancel={() => setPending(null)}
          actions={
            <>
              <button type="button" className="secondary" onClick={() => setPending(null)}>{T.configuration.cancel}</button>
              <button type="button" className="primary" onClick={confirm} disabled={saving.fetching}>{T.configuration.confirm}</button>
            </>
          }
        >
          <p>{pending ? T.configuration.enableBody : T.configuration.disableBody}</p>
        </Modal>
      )}
    </section>
  );
}
