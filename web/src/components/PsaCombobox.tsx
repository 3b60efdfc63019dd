/**
 * The "Click to select" list: unmapped HaloPSA organisations, searchable by name (the name
 * column) or by ID (the ID column). Choosing in either column sets both (the row holds the
 * choice). ARIA combobox pattern: arrows move, Enter chooses, Escape closes.
 */
import { useEffect, useId, useRef, useState } from "react";
import { useQuery } from "urql";
import { PsaOrganizationsDocument } from "../gql/graphql";
import { T } from "../texts";

export interface PsaChoice {
  id: number;
  name: string;
}

// Enough to scan by eye; typing narrows it (the API caps the list at 100).
const PICKER_ROWS = 20;
// Wait for a pause in typing before asking the API.
const SEARCH_DEBOUNCE_MS = 200;

interface Props {
  column: "name" | "id";
  rowLabel: string;
  choice: PsaChoice | null;
  autoFocus: boolean;
  onChoose: (choice: PsaChoice) => void;
  onCancel: () => void;
}

export function PsaCombobox({ column, rowLabel, choice, autoFocus, onChoose, onCancel }: Props) {
  const shown = (c: PsaChoice | null) => (c ? (column === "name" ? c.name : String(c.id)) : "");
  const [text, setText] = useState(shown(choice));
  const [search, setSearch] = useState("");
  const [open, setOpen] = useState(autoFocus);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();

  useEffect(() => setText(shown(choice)), [choice?.id]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (autoFocus) input.current?.focus();
  }, [autoFocus]);
  useEffect(() => {
    const t = window.setTimeout(() => setSearch(text === shown(choice) ? "" : text), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(t);
  }, [text]); // eslint-disable-line react-hooks/exhaustive-deps

  const [{ data, fetching }] = useQuery({
    query: PsaOrganizationsDocument,
    variables: { search: search.trim() || null, first: PICKER_ROWS },
    pause: !open,
    requestPolicy: "cache-and-network",
  });
  let options = data?.psaOrganizations ?? [];
  if (column === "id" && /^\d+$/.test(search.trim())) {
    // The API matches an ID exactly; here a prefix helps too (e.g. "12" → 12, 120, 1203).
    options = options.filter((o) => String(o.id).includes(search.trim()) || o.name.includes(search.trim()));
  }
  useEffect(() => setActive(0), [search]);

  const choose = (i: number) => {
    const o = options[i];
    if (!o) return;
    onChoose({ id: o.id, name: o.name });
    setText(shown({ id: o.id, name: o.name }));
    setOpen(false);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (!open) setOpen(true);
      else setActive((a) => Math.min(options.length - 1, a + 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(0, a - 1));
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (open && options.length) choose(active);
      else setOpen(true);
    } else if (e.key === "Escape") {
      e.preventDefault();
      if (open) setOpen(false);
      else onCancel();
    }
  };

  const optionId = (i: number) => `${listId}-o${i}`;
  return (
    <div className="combobox">
      <input
        ref={input}
        type="text"
        role="combobox"
        aria-label={`${column === "name" ? T.mapping.searchPsaByName : T.mapping.searchPsaById} (${rowLabel})`}
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && options.length ? optionId(active) : undefined}
        inputMode={column === "id" ? "numeric" : "text"}
        placeholder={T.mapping.clickToSelect}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onClick={() => setOpen(true)}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKeyDown}
      />
      {open && (
        <ul role="listbox" id={listId} className="listbox" tabIndex={-1} aria-label={column === "name" ? T.mapping.columns.psaName : T.mapping.columns.psaId}>
          {options.map((o, i) => (
            <li
              key={o.id}
              id={optionId(i)}
              role="option"
              aria-selected={i === active}
              className={i === active ? "option active" : "option"}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(i);
              }}
              onMouseEnter={() => setActive(i)}
            >
              {column === "name" ? (
                <>
                  <span>{o.name}</span> <span className="muted">{o.id}</span>
                </>
              ) : (
                <>
                  <span>{o.id}</span> <span className="muted">{o.name}</span>
                </>
              )}
            </li>
          ))}
          {!fetching && data && options.length === 0 && (
            <li className="option empty" role="option" aria-selected="false" aria-disabled="true">{T.mapping.noPsaOrganizations}</li>
          )}
        </ul>
      )}
    </div>
  );
}
