/** The seed's pagination bar: total entries, items per page, "1 – 20 of 236", page input, arrows. */
import { useEffect, useState } from "react";
import { T } from "../texts";
import { ChevronLeft, ChevronRight } from "./Icons";

export const PAGE_SIZES = [10, 20, 50, 100] as const; // what the API accepts

interface Props {
  id: string;
  total: number;
  range: string;
  page: number;
  pageCount: number;
  pageSize: number;
  onPage: (page: number) => void;
  onPageSize: (size: number) => void;
}

export function Pagination({ id, total, range, page, pageCount, pageSize, onPage, onPageSize }: Props) {
  const [typed, setTyped] = useState(String(page));
  useEffect(() => setTyped(String(page)), [page]);
  const last = Math.max(1, pageCount);
  const go = (value: string) => {
    const n = Number.parseInt(value, 10);
    if (Number.isFinite(n)) onPage(Math.min(last, Math.max(1, n)));
    else setTyped(String(page));
  };
  return (
    <nav className="pager" aria-label={`${id} pagination`}>
      <span className="pager-total">{T.pager.entries(total)}</span>
      <div className="pager-controls">
        <label className="pager-size">
          {T.pager.perPage}
          <select value={pageSize} onChange={(e) => onPageSize(Number(e.target.value))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>{n}</option>
            ))}
          </select>
        </label>
        <span className="pager-range" aria-live="polite">{range}</span>
        <button type="button" className="icon-button" aria-label={T.pager.previous} disabled={page <= 1} onClick={() => onPage(page - 1)}>
          <ChevronLeft />
        </button>
        <label className="pager-page">
          <span className="visually-hidden">{T.pager.page}</span>
          <input
            type="number"
            min={1}
            max={last}
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            onBlur={(e) => go(e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && go((e.target as HTMLInputElement).value)}
          />
          <span>{T.pager.of(last)}</span>
        </label>
        <button type="button" className="icon-button" aria-label={T.pager.next} disabled={page >= last} onClick={() => onPage(page + 1)}>
          <ChevronRight />
        </button>
      </div>
    </nav>
  );
}
