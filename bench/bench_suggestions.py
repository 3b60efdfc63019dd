"""Mapping suggestions at 1,000 and 10,000 organisations a side: blocked vs all-pairs.

    .venv/bin/python bench/bench_suggestions.py [--sizes 1000 10000] [--sample 500]
        [--min-score 80] [--service 10000] [--apply 1000]

Two sets of books per size, both deterministic:

* ``demo`` — the demo generator's platform names (``gateway.demo_data``) and HaloPSA names
  made by its rules (some dropped, some varied as "ACME Limited", HaloPSA-only extras), rebuilt
  here so that the truth is known, and shuffled;
* ``typos`` — the same, but every second HaloPSA name also has one typo (a letter dropped,
  changed or swapped), so most pairs must be found by the fuzzy stage, not the exact one.

For each: ``match_names`` (exact stage + blocking) timed on the full books, and the baseline
in the same run: every pair scored with the same ``score`` and the same greedy assignment, on
a ``--sample`` × ``--sample`` slice, extrapolated quadratically. On that slice the blocked
answer is compared with the baseline's (what blocking loses); on the full books, with the
known truth (precision and recall of the suggestions). ``--service`` also times the service
call a ``suggestMappings`` request makes (SQLite load + match, page 1), and ``--apply`` the bulk
apply through the manual map's write path.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from bench import seeding
from gateway import db
from gateway.auth import Principal
from gateway.demo_data import organization_names
from gateway.services import suggestions
from gateway.services.matching import (
    Match,
    assign_best_first,
    distinctive_words,
    match_names,
    normalize,
    score,
)
from gateway.settings import Settings
from tests.support import data

DROPPED = 0.15  # share of platform organisations not in HaloPSA (as the demo generator)
VARIED = 0.20  # share of HaloPSA names spelled differently ("ACME Limited")
HALO_ONLY = 0.10  # HaloPSA-only clients, per platform organisation
_VARIATIONS = {"Ltd": "Limited", "Inc": "Incorporated", "LLC": "L.L.C.", "GmbH": "GmbH"}


def _typo(name: str, rng: random.Random) -> str:
    words = name.split(" ")
    k = rng.randrange(len(words))
    word = words[k]
    if len(word) < 3:
        return name
    i = rng.randrange(len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        word = word[:i] + word[i + 1 :]
    elif op == 1:
        word = word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1 :]
    else:
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    words[k] = word
    return " ".join(words)


def books(n: int, typos: bool, seed: int = 42) -> tuple[list[str], list[str], dict[int, int]]:
    """Platform names, HaloPSA names and the truth (HaloPSA index → platform index)."""
    rng = random.Random(seed + 1)
    platform = organization_names(n, seed)
    psa: list[str] = []
    truth: dict[int, int] = {}
    for i, name in enumerate(platform):
        if rng.random() < DROPPED:
            continue
        if rng.random() < VARIED:
            prefix, _, suffix = name.rpartition(" ")
            name = f"{prefix.upper()} {_VARIATIONS.get(suffix, suffix)}"
        if typos and rng.random() < 0.5:
            name = _typo(name, rng)
        truth[len(psa)] = i
        psa.append(name)
    for k in range(int(n * HALO_ONLY)):
        psa.append(f"Internal Account {k + 1}")
    order = list(range(len(psa)))
    rng.shuffle(order)  # HaloPSA's order is not the platform's
    shuffled = [psa[j] for j in order]
    return platform, shuffled, {new: truth[old] for new, old in enumerate(order) if old in truth}


def naive(platform: Sequence[str], psa: Sequence[str], min_score: int) -> list[Match]:
    """The baseline: every pair scored, then the same greedy assignment."""
    p_norm = [normalize(n) for n in platform]
    q_norm = [normalize(n) for n in psa]
    words = distinctive_words(p_norm + q_norm)
    scored = []
    for i, a in enumerate(p_norm):
        for j, b in enumerate(q_norm):
            value, reason = score(a, b, words[i], words[len(p_norm) + j])
            if value >= min_score:
                scored.append(Match(i, j, value, reason))
    return assign_best_first(platform, psa, scored)


def quality(matches: list[Match], truth: dict[int, int]) -> tuple[float, float]:
    right = sum(1 for m in matches if truth.get(m.psa) == m.platform)
    return right / max(1, len(matches)), right / max(1, len(truth))


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def run_books(n: int, sample: int, min_score: int) -> None:
    for kind in ("demo", "typos"):
        platform, psa, truth = books(n, typos=kind == "typos")
        blocked, blocked_s = timed(match_names, platform, psa, min_score)
        precision, recall = quality(blocked, truth)
        k = min(sample, n)
        sp, sq = platform[:k], psa[:k]
        base, base_s = timed(naive, sp, sq, min_score)
        on_slice, _ = timed(match_names, sp, sq, min_score)
        same = {(m.platform, m.psa) for m in base} & {(m.platform, m.psa) for m in on_slice}
        extrapolated = base_s * (len(platform) * len(psa)) / (len(sp) * len(sq))
        print(
            f"{kind:5} {len(platform):>6} x {len(psa):<6} blocked {blocked_s:7.2f} s, "
            f"{len(blocked)} suggestions (precision {precision:.3f}, recall {recall:.3f}) | "
            f"all-pairs {len(sp)} x {len(sq)} {base_s:6.2f} s -> {extrapolated:8.0f} s at full "
            f"size | ratio {extrapolated / blocked_s:6.0f}x | on the slice blocked found "
            f"{len(same)} of all-pairs' {len(base)} pairs ({len(on_slice)} in all)",
            flush=True,
        )


async def run_service(n: int, apply_n: int, min_score: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite://{tmp}/bench.sqlite3",
            data_dir=Path(tmp),
            secrets_key=Fernet.generate_key().decode(),
        )
        await db.migrate(settings)
        ctx = await db.open_db(settings)
        with db.bound(ctx):
            for seller, size in (("bench", n), ("apply", apply_n)):
                platform, psa, _ = books(size, typos=False)
                await data.connection(
                    settings,
                    seller,
                    resource_server="https://h.example/api",
                    authorization_server="https://h.example/auth",
                    client_id="c",
                    client_secret="secret-0000",
                )
                await seeding.organizations(
                    seller, platform, [(j + 1, name) for j, name in enumerate(psa)]
                )
            times = []
            for _ in range(3):
                start = time.perf_counter()
                page = await suggestions.suggest_mappings("bench", min_score=min_score)
                times.append(time.perf_counter() - start)
            print(
                f"service suggest_mappings {n} x {n + n // 10} (SQLite load + match, page 1 "
                f"of {page.total}): median {statistics.median(times):.2f} s of 3",
                flush=True,
            )
            principal = Principal(subject="bench", seller_id="apply", roles=frozenset())
            start = time.perf_counter()
            applied = await suggestions.apply_suggested_mappings(
                principal, min_score=90, cooldown_minutes=60
            )
            elapsed = time.perf_counter() - start
            print(
                f"service apply_suggested_mappings {apply_n} x {apply_n + apply_n // 10}: "
                f"{applied.mapped} mapped in {elapsed:.2f} s "
                f"({1000 * elapsed / max(1, applied.mapped):.1f} ms per mapping)",
                flush=True,
            )
        await db.close_db(ctx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--min-score", type=int, default=suggestions.DEFAULT_SUGGEST_MIN_SCORE)
    parser.add_argument("--service", type=int, default=10000, help="0 to skip")
    parser.add_argument("--apply", type=int, default=1000)
    args = parser.parse_args()
    for n in args.sizes:
        run_books(n, args.sample, args.min_score)
    if args.service:
        asyncio.run(run_service(args.service, args.apply, args.min_score))


if __name__ == "__main__":
    main()
