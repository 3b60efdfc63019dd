/** Connection settings (the seed's "Authentication Settings page"). */
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { useToast } from "../components/Toast";
import {
  ConnectionSettingsDocument,
  SaveConnectionDocument,
  TestConnectionDocument,
  type ConnectionInput,
} from "../gql/graphql";
import { navigate } from "../router";
import { T } from "../texts";

type Field = "clientId" | "clientSecret" | "resourceServer" | "authorizationServer" | "tenant";
const REQUIRED: Field[] = ["clientId", "resourceServer", "authorizationServer"];

interface Outcome {
  ok: boolean;
  message: string;
  reason?: string;
}

export function ConnectionPage({ onSaved }: { onSaved: () => void }) {
  const [{ data }] = useQuery({ query: ConnectionSettingsDocument, requestPolicy: "cache-and-network" });
  const [testState, test] = useMutation(TestConnectionDocument);
  const [saveState, save] = useMutation(SaveConnectionDocument);
  const notify = useToast();
  const stored = data?.connection;
  const [values, setValues] = useState<Record<Field, string>>({
    clientId: "",
    clientSecret: "",
    resourceServer: "",
    authorizationServer: "",
    tenant: "",
  });
  const [missing, setMissing] = useState<Set<Field>>(new Set());
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<Field, string>>>({});
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    if (stored && !loaded) {
      setValues({
        clientId: stored.clientId ?? "",
        clientSecret: "", // never echoed: the API does not even have it to give
        resourceServer: stored.resourceServer ?? "",
        authorizationServer: stored.authorizationServer ?? "",
        tenant: stored.tenant ?? "",
      });
      setLoaded(true);
    }
  }, [stored, loaded]);

  const input = (): ConnectionInput | null => {
    const absent = new Set(REQUIRED.filter((f) => !values[f].trim()));
    if (!values.clientSecret && !stored?.secretSet) absent.add("clientSecret");
    setMissing(absent);
    setFieldErrors({});
    if (absent.size) return null;
    return {
      clientId: values.clientId.trim(),
      clientSecret: values.clientSecret || null,
      resourceServer: values.resourceServer.trim(),
      authorizationServer: values.authorizationServer.trim(),
      tenant: values.tenant.trim() || null,
    };
  };

  const fieldError = (error: { graphQLErrors: { extensions?: Record<string, unknown>; message: string }[] }) => {
    const e = error.graphQLErrors[0];
    if (e?.extensions?.code === "BAD_USER_INPUT" && typeof e.extensions.field === "string") {
      setFieldErrors({ [e.extensions.field as Field]: e.message });
      return true;
    }
    return false;
  };

  const onTest = async () => {
    const value = input();
    if (!value) return;
    setOutcome(null);
    const result = await test({ input: value });
    const r = result.data?.testConnection;
    if (r) setOutcome({ ok: r.success, message: r.message, reason: r.success ? undefined : r.reason });
    else if (result.error && !fieldError(result.error)) notify("error", result.error.graphQLErrors[0]?.message ?? result.error.message);
  };

  const onSave = async (event: FormEvent) => {
    event.preventDefault();
    const value = input();
    if (!value) return;
    setOutcome(null);
    const result = await save({ input: value });
    const saved = result.data?.saveConnection;
    if (saved) {
      setValues((v) => ({ ...v, clientSecret: "" }));
      notify("success", saved.message);
      onSaved();
      navigate("/mapping");
      return;
    }
    const error = result.error?.graphQLErrors[0];
    if (error?.extensions?.code === "INVALID_CONNECTION") {
      setOutcome({ ok: false, message: error.message, reason: String(error.extensions.reason ?? "") || undefined });
    } else if (result.error && !fieldError(result.error)) {
      notify("error", error?.message ?? result.error.message);
    }
  };

  const field = (name: Field, label: string, help: string, type = "text", placeholder?: string) => {
    const err = missing.has(name) ? T.connection.required : fieldErrors[name];
    return (
      <div className="field">
        <label htmlFor={`f-${name}`}>{label}</label>
        <input
          id={`f-${name}`}
          name={name}
          type={type}
          autoComplete={type === "password" ? "new-password" : "off"}
          spellCheck={false}
          value={values[name]}
          placeholder={placeholder}
          aria-invalid={err ? true : undefined}
          aria-describedby={`h-${name}${err ? ` e-${name}` : ""}`}
          onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
        />
        <p className="help" id={`h-${name}`}>{help}</p>
        {err && <p className="field-error" id={`e-${name}`}>{err}</p>}
      </div>
    );
  };

  const busy = testState.fetching || saveState.fetching;
  return (
    <section aria-labelledby="page-title" className="page narrow">
      <h1 id="page-title">{T.connection.title}</h1>
      <p className="intro">{T.connection.intro}</p>
      {stored && (
        <p className={`status-pill ${stored.status === "VERIFIED" ? "ok" : "muted"}`}>
          {stored.status === "VERIFIED" ? T.connection.verified : T.connection.notVerified}
        </p>
      )}
      <form onSubmit={onSave} noValidate className="card form">
        {field("clientId", T.connection.clientId, T.connection.clientIdHelp)}
        {field(
          "clientSecret",
          T.connection.clientSecret,
          stored?.secretSet ? T.connection.secretStored(stored.secretLast4) : T.connection.clientSecretHelp,
          "password",
          stored?.secretSet ? `••••${stored.secretLast4 ?? ""}` : undefined,
        )}
        {field("resourceServer", T.connection.resourceServer, T.connection.resourceServerHelp, "url")}
        {field("authorizationServer", T.connection.authorizationServer, T.connection.authorizationServerHelp, "url")}
        {field("tenant", T.connection.tenant, T.connection.tenantHelp)}
        <div aria-live="polite" className="outcome-slot">
          {outcome && (
            <div className={`outcome ${outcome.ok ? "outcome-ok" : "outcome-bad"}`} data-testid="connection-outcome">
              <strong>{outcome.message}</strong>
              {outcome.reason && <span>{outcome.reason}</span>}
            </div>
          )}
        </div>
        <div className="actions">
          <button type="button" className="secondary" onClick={onTest} disabled={busy}>
            {testState.fetching ? T.connection.testing : T.connection.test}
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {saveState.fetching ? T.connection.saving : T.connection.save}
          </button>
        </div>
      </form>
    </section>
  );
}
