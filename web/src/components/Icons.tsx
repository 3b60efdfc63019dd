/** Inline SVG icons (no icon font, no CDN). Decorative: the buttons carry the labels. */
import type { ReactElement } from "react";

const base = {
  width: 18,
  height: 18,
  viewBox: "0 0 24 24",
  fill: "none",
  stroke: "currentColor",
  strokeWidth: 2,
  strokeLinecap: "round" as const,
  strokeLinejoin: "round" as const,
  "aria-hidden": true,
  focusable: false,
};

export const PencilIcon = (): ReactElement => (
  <svg {...base}><path d="M12 20h9" /><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4Z" /></svg>
);
export const TrashIcon = (): ReactElement => (
  <svg {...base}><path d="M3 6h18" /><path d="M8 6V4h8v2" /><path d="M19 6l-1 14H6L5 6" /><path d="M10 11v6M14 11v6" /></svg>
);
export const SyncIcon = (): ReactElement => (
  <svg {...base}><path d="M21 12a9 9 0 0 1-15.5 6.2L3 16" /><path d="M3 21v-5h5" /><path d="M3 12a9 9 0 0 1 15.5-6.2L21 8" /><path d="M21 3v5h-5" /></svg>
);
export const CheckIcon = (): ReactElement => (
  <svg {...base} strokeWidth={3}><path d="M20 6 9 17l-5-5" /></svg>
);
export const CrossIcon = (): ReactElement => (
  <svg {...base} strokeWidth={3}><path d="M18 6 6 18M6 6l12 12" /></svg>
);
export const InfoIcon = (): ReactElement => (
  <svg {...base}><circle cx="12" cy="12" r="10" /><path d="M12 16v-4M12 8h.01" /></svg>
);
export const WarningIcon = (): ReactElement => (
  <svg {...base}><path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z" /><path d="M12 9v4M12 17h.01" /></svg>
);
export const RefreshIcon = (): ReactElement => (
  <svg {...base}><path d="M21 12a9 9 0 1 1-3-6.7L21 8" /><path d="M21 3v5h-5" /></svg>
);
export const ChevronLeft = (): ReactElement => (
  <svg {...base}><path d="m15 18-6-6 6-6" /></svg>
);
export const ChevronRight = (): ReactElement => (
  <svg {...base}><path d="m9 18 6-6-6-6" /></svg>
);
export const SortIcon = ({ direction }: { direction: "ASC" | "DESC" | null }): ReactElement => (
  <svg {...base} width={14} height={14} className={`sort sort-${direction ?? "none"}`}>
    <path d="m7 9 5-5 5 5" opacity={direction === "DESC" ? 0.3 : 1} />
    <path d="m7 15 5 5 5-5" opacity={direction === "ASC" ? 0.3 : 1} />
  </svg>
);
