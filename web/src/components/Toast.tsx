/** Success and error messages, announced to screen readers (role=status / alert). */
import { createContext, useCallback, useContext, useState, type ReactNode } from "react";
import { T } from "../texts";

interface Toast {
  id: number;
  kind: "success" | "error";
  text: string;
}

type Notify = (kind: Toast["kind"], text: string) => void;
const ToastContext = createContext<Notify>(() => undefined);

// Long enough to read two lines; errors stay until closed.
const SUCCESS_TOAST_MS = 6_000;

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const dismiss = useCallback((id: number) => setToasts((t) => t.filter((x) => x.id !== id)), []);
  const notify = useCallback<Notify>(
    (kind, text) => {
      const id = Date.now() + Math.random();
      setToasts((t) => [...t.filter((x) => x.text !== text), { id, kind, text }]);
      if (kind === "success") window.setTimeout(() => dismiss(id), SUCCESS_TOAST_MS);
    },
    [dismiss],
  );
  return (
    <ToastContext.Provider value={notify}>
      {children}
      <div className="toasts">
        <div role="status" aria-live="polite">
          {toasts.filter((t) => t.kind === "success").map((t) => (
            <div key={t.id} className="toast toast-success">
              <span>{t.text}</span>
              <button type="button" className="link" onClick={() => dismiss(t.id)} aria-label={T.common.close}>×</button>
            </div>
          ))}
        </div>
        <div role="alert">
          {toasts.filter((t) => t.kind === "error").map((t) => (
            <div key={t.id} className="toast toast-error">
              <span>{t.text}</span>
              <button type="button" className="link" onClick={() => dismiss(t.id)} aria-label={T.common.close}>×</button>
            </div>
          ))}
        </div>
      </div>
    </ToastContext.Provider>
  );
}

export const useToast = (): Notify => useContext(ToastContext);
