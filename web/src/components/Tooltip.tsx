/** A tooltip shown on hover and on keyboard focus, tied to its trigger by aria-describedby. */
import { useId, useState, type ReactElement, type ReactNode } from "react";

export function Tooltip({ text, children }: { text: string; children: (describedBy: string) => ReactElement | ReactNode }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  return (
    <span
      className="tooltip-anchor"
      onMouseEnter={() => setOpen(true)}
      onMouseLeave={() => setOpen(false)}
      onFocus={() => setOpen(true)}
      onBlur={() => setOpen(false)}
      onKeyDown={(e) => e.key === "Escape" && setOpen(false)}
    >
      {children(id)}
      <span role="tooltip" id={id} className={open ? "tooltip open" : "tooltip"}>
        {text}
      </span>
    </span>
  );
}
