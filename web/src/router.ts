/** Five pages, five paths (the gateway serves index.html on each): history API, no library. */
import { useEffect, useState } from "react";

export type Page = "/connection" | "/configuration" | "/mapping" | "/logs" | "/drift" | "/";

const listeners = new Set<() => void>();

export function navigate(path: Page, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  listeners.forEach((fn) => fn());
}

export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return path;
}
