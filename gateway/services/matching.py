"""Name matching for mapping suggestions: pure, no database, no I/O.

Given two lists of company names (the platform's organisations and HaloPSA's clients),
:func:`match_names` proposes at most one partner per name with a score from 0 to 100.
``gateway.services.suggestions`` is the service on top (loading, paging, applying).

Names are normalised before they are compared (:func:`normalize`): casefold, accents
stripped (Unicode NFKD), punctuation dropped ("L.L.C." → "llc", "O'Brien" → "obrien",
"Acme-Tech" → "acme tech"), "&" read as "and", a leading "The" dropped, and legal forms
written one way ("Limited" → "ltd", "Incorporated" → "inc", "Corporation" → "corp",
"Company" → "co"). Trailing legal forms are set apart from the rest of the name (the
*core*): "Acme Ltd" and "ACME Limited" are the same name, "Acme Ltd" and "Acme Inc" are the
same name with a different legal form, which may be a sister company.

The score (:func:`score`), an integer 0..100:

* 100 — the normalised names are identical (core and legal form): "exact name after
  normalisation". Only these score 100.
* otherwise ``100 × ratio × legal × numbers × distinctive``, rounded down and capped at
  99, where:

  - *ratio* is difflib's ``SequenceMatcher`` ratio of the cores, the better of their words
    sorted (a token-sort ratio: word order does not matter) and as written (a typo in a
    first letter can move a word in the sorted order); typos cost a little;
  - *legal* is 1 for the same legal form, 0.95 when only one name has one ("Acme" /
    "Acme Ltd" → 95) and 0.85 when they differ ("Acme Ltd" / "Acme Inc" → 85: suggested at
    the default 80, not applied at the default 90);
  - *numbers* is 0.6 when the names' words with digits differ ("Unit 4" / "Unit 5", or
    "Acme Group" / "Acme Group 57", are different customers however alike the letters);
  - *distinctive* is 0.6 when neither name's most distinctive word (its rarest word among
    the names compared) is in the other, not even one typo away: "Brown Consulting Group"
    and "Green Consulting Group" share most letters, not a word that tells them apart.

Why difflib rather than rapidfuzz: with the blocking below only a few candidate pairs per
name reach a full comparison (difflib's cheap upper bounds reject most first), so 10,000 ×
10,000 takes about a second, not the hours of the all-pairs loop (``bench/RESULTS.md``). Profiled on
10,000 × 10,000 names with typos, difflib is about a quarter of the time; the rest is
normalisation, blocking and bookkeeping in Python. A C++ scorer (rapidfuzz, well kept) could
save at most that quarter, which does not pay for a compiled dependency. Revisit if the
benchmark ever shows scoring dominating.

Assignment is greedy, best score first: all candidate pairs at or above the threshold are
sorted by score (ties: platform name, platform id, HaloPSA name, HaloPSA id), and a pair is
taken when neither side is taken yet. So each HaloPSA organisation is proposed at most once,
each platform organisation gets at most one proposal, and the proposals at a higher
threshold are exactly the first ones of a lower threshold. Greedy is not an optimal
assignment, but it never trades a sure pair for two likely ones, which is what a person
reviewing the list expects.

Scaling: comparing every pair is 10^8 comparisons at 10,000 × 10,000. Instead:

1. **Exact stage** — names are grouped by their normalised form (a dict); within a group
   platform and HaloPSA organisations are paired directly (score 100). In real books most
   matches end here, and only what is left goes on.
2. **Candidate generation (blocking)** — an inverted index from core word to the HaloPSA
   organisations left, and a "one deletion" index of those words (SymSpell's trick: "acme"
   and "acmw" both give "acm"), so a word with one typo still finds its partner. A platform
   organisation's candidates are the HaloPSA organisations that share a word, or a word one
   typo away, that is not common (in at most :data:`COMMON_WORD_DF` names; "group" or
   "solutions" say little). A name made only of common words still uses its rarest word.
   Candidates are ranked by how rare the shared words are and cut at
   :data:`MAX_CANDIDATES` per name.
3. **Scoring** — each candidate pair is checked against the threshold with difflib's
   ``real_quick_ratio`` and ``quick_ratio`` (cheap upper bounds) before the full ratio.

A pair that shares no uncommon word, nor one a single typo away, is never scored: blocking is
a heuristic and that is its price. Such pairs would score low anyway, which is why a
threshold below :data:`MIN_SCORE_FLOOR` is refused.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

# --- thresholds and limits -----------------------------------------------------------------

# Below 50 the names share less than half their letters: noise for a reviewer, and the
# candidate search (blocking) is not built to find such pairs.
MIN_SCORE_FLOOR = 50
MAX_SCORE = 100
# A word in more HaloPSA names than this ("group", "services") does not find candidates
# (the rarest word of a name still does): it would make every name a candidate of every other.
COMMON_WORD_DF = 50
# Candidates scored per platform organisation, the rarest shared words first: bounds the
# worst case (names made only of common words) at MAX_CANDIDATES comparisons per name.
MAX_CANDIDATES = 300
# Words shorter than this are not looked up with a typo: "ab" one deletion away matches
# half the alphabet.
MIN_TYPO_WORD_LENGTH = 4
# Inside one exact group (e.g. 40 organisations all named "Test"), pair by raw-name
# similarity only while the group is small; beyond, in input order.
MAX_GROUP_PAIRS = 10_000

# Factors of the score (see the module docstring).
LEGAL_FORM_MISSING = 0.95
LEGAL_FORM_DIFFERENT = 0.85
NUMBERS_DIFFERENT = 0.6
DISTINCTIVE_WORD_DIFFERENT = 0.6
# Two words are "the same word" at this ratio or above: one typo in a four-letter word
# ("acme" / "acne" = 0.75); "brown" / "green" (0.4) are different words.
SAME_WORD_RATIO = 0.75

REASON_EXACT = "exact name after normalisation"

# --- normalisation -------------------------------------------------------------------------

# Written one way wherever they appear, so "Acme Limited (UK)" equals "Acme Ltd (UK)".
_CANONICAL = {
    "limited": "ltd",
    "incorporated": "inc",
    "corporation": "corp",
    "company": "co",
}
# Legal forms set apart when they end a name (after canonicalisation). Deliberately short:
# a word listed here stops counting as part of the name when it comes last.
LEGAL_FORMS = frozenset(
    {
        "ltd",
        "inc",
        "llc",
        "llp",
        "lp",
        "gmbh",
        "ag",
        "kg",
        "corp",
        "co",
        "plc",
        "pty",
        "pte",
        "sa",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "oy",
    }
)
# Dropped without a space: "L.L.C." → "llc", "O'Brien" → "obrien".
_JOINERS = re.compile(r"[.'’`´]")
# Everything else that is not a letter or digit separates words.
_SEPARATORS = re.compile(r"[\W_]+")


def _has_digit(word: str) -> bool:
    """Words with a digit ("4", "4b", "2024") are identifiers — unit, branch or year — and
    must agree, however alike the letters around them."""
    return any(c.isdigit() for c in word)


@dataclass(frozen=True, slots=True)
class NormalizedName:
    """A name's comparable parts, computed once (they are read for every candidate pair)."""

    core: tuple[str, ...]
    legal: tuple[str, ...]
    key: str  # identical keys ⇔ "exact name after normalisation"
    text: str  # the core's words sorted, for the token-sort ratio
    plain: str  # the core's words as written
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, core: tuple[str, ...], legal: tuple[str, ...]) -> NormalizedName:
        return cls(
            core,
            legal,
            " ".join(core) + "|" + " ".join(legal),
            " ".join(sorted(core)),
            " ".join(core),
            tuple(sorted(t for t in core if _has_digit(t))),
        )


def normalize(name: str) -> NormalizedName:
    """The comparable form of a company name (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("&", " and ")
    text = _JOINERS.sub("", text)
    tokens = [_CANONICAL.get(t, t) for t in _SEPARATORS.sub(" ", text).split()]
    if len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    legal: list[str] = []
    while len(tokens) > 1 and tokens[-1] in LEGAL_FORMS:
        legal.insert(0, tokens.pop())
    while len(tokens) > 1 and tokens[-1] == "and":  # "Smith & Co" → "smith" + co
        tokens.pop()
    return NormalizedName.of(tuple(tokens), tuple(legal))


# --- scoring -------------------------------------------------------------------------------


def _factors(a: NormalizedName, b: NormalizedName) -> tuple[float, list[str]]:
    """The legal-form and number factors of a pair, and the words that explain them."""
    factor = 1.0
    notes: list[str] = []
    if a.legal != b.legal:
        if a.legal and b.legal:
            factor *= LEGAL_FORM_DIFFERENT
            notes.append("different legal form")
        else:
            factor *= LEGAL_FORM_MISSING
            notes.append("legal form only on one side")
    if a.numbers != b.numbers:
        factor *= NUMBERS_DIFFERENT
        notes.append("different numbers")
    return factor, notes


def _finish(
    a: NormalizedName, b: NormalizedName, ratio: float, factor: float, notes: list[str]
) -> tuple[int, str]:
    if a.key == b.key:
        return MAX_SCORE, REASON_EXACT
    value = min(MAX_SCORE - 1, math.floor(MAX_SCORE * ratio * factor + 1e-9))
    if a.core == b.core:
        head = "same name"
    elif ratio == 1.0:
        head = "same words in another order"
    else:
        head = "similar name"
    return value, ", ".join([head, *notes])


def distinctive_words(names: Sequence[NormalizedName]) -> list[str | None]:
    """Each name's most distinctive word: the one with a letter found in the fewest of
    ``names`` (then the longest). In "Genco Holdings 623" it is "genco", not "holdings"."""
    df = Counter(w for n in names for w in set(n.core))
    found: list[str | None] = []
    for n in names:
        words = [w for w in n.core if not _has_digit(w)]
        found.append(min(words, key=lambda w: (df[w], -len(w), w)) if words else None)
    return found


def _holds(word: str | None, name: NormalizedName) -> bool:
    """Does ``name`` have ``word``, or a word one typo away from it?"""
    if word is None or word in name.core:
        return True
    return any(
        SequenceMatcher(None, word, w, autojunk=False).ratio() >= SAME_WORD_RATIO for w in name.core
    )


def _distinctive_factor(
    a: NormalizedName, b: NormalizedName, word_a: str | None, word_b: str | None, notes: list[str]
) -> float:
    """Shared generic words ("Brown Consulting Group" / "Green Consulting Group") make the
    letters alike; if neither name's distinctive word is in the other, the names are
    probably different customers. (Not "either": a typo can make a junk word, "Ltd" →
    "Ldt", the rarest word of a name that is otherwise right.)"""
    if a.core == b.core or _holds(word_a, b) or _holds(word_b, a):
        return 1.0
    notes.append("different distinctive word")
    return DISTINCTIVE_WORD_DIFFERENT


def score(
    a: NormalizedName,
    b: NormalizedName,
    word_a: str | None = None,
    word_b: str | None = None,
) -> tuple[int, str]:
    """Score 0..100 of two normalised names and the reason a person reads. ``word_a`` and
    ``word_b`` are the names' distinctive words (:func:`distinctive_words`), if known."""
    if a.key == b.key:
        return MAX_SCORE, REASON_EXACT
    factor, notes = _factors(a, b)
    ratio = SequenceMatcher(None, a.text, b.text, autojunk=False).ratio()
    if a.plain != a.text or b.plain != b.text:
        ratio = max(ratio, SequenceMatcher(None, a.plain, b.plain, autojunk=False).ratio())
    factor *= _distinctive_factor(a, b, word_a, word_b, notes)
    return _finish(a, b, ratio, factor, notes)


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """Indexes into the two input sequences, the score and its reason."""

    platform: int
    psa: int
    score: int
    reason: str


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _typo_prone(word: str) -> bool:
    """Looked up with one typo? Not short words (too many neighbours) and not numbers: a
    number one digit off is another number ("Unit 4" / "Unit 5"), penalised, not a typo."""
    return len(word) >= MIN_TYPO_WORD_LENGTH and not _has_digit(word)


class _PsaIndex:
    """Inverted index of the HaloPSA names left after the exact stage: word → names, and
    one-deletion variant → words (for words with a typo)."""

    def __init__(self, names: dict[int, NormalizedName]) -> None:
        self.names = names
        self.postings: dict[str, list[int]] = defaultdict(list)
        for j, name in names.items():
            for word in set(name.core):
                self.postings[word].append(j)
        self.variants: dict[str, set[str]] = defaultdict(set)
        for word in self.postings:
            self.variants[word].add(word)
            if _typo_prone(word):
                for variant in _deletions(word):
                    self.variants[variant].add(word)

    def related(self, word: str) -> set[str]:
        """Indexed words equal to ``word`` or one typo (deletion, insertion, substitution,
        adjacent swap) away from it."""
        found = set(self.variants.get(word, ()))
        if _typo_prone(word):
            for variant in _deletions(word):
                found |= self.variants.get(variant, set())
        return found

    def candidates(self, name: NormalizedName) -> list[int]:
        """The HaloPSA names worth scoring against ``name``, most promising first."""
        postings_of = self.postings
        uncommon: set[str] = set()
        found: set[str] = set()
        for word in set(name.core):
            if len(postings_of.get(word, ())) > COMMON_WORD_DF:
                found.add(word)  # common: neither it nor its misspellings tell names apart
                continue
            related = self.related(word)
            found |= related
            uncommon.update(w for w in related if len(postings_of[w]) <= COMMON_WORD_DF)
        if not uncommon:
            if not found:
                return []
            uncommon = {min(found, key=lambda w: (len(postings_of[w]), w))}
        weights: dict[int, float] = defaultdict(float)
        for word in uncommon:
            postings = self.postings[word]
            rarity = 1.0 / len(postings)
            for j in postings:
                weights[j] += rarity
        if len(weights) <= MAX_CANDIDATES:
            return list(weights)
        # Too many: the rarest shared words first, then the closest length (the length
        # bounds the ratio), then input order so that the cut is deterministic.
        size = len(name.text)
        names = self.names
        return heapq.nlargest(
            MAX_CANDIDATES,
            weights,
            key=lambda j: (weights[j], -abs(len(names[j].text) - size), -j),
        )


def _exact_stage(
    platform: Sequence[str],
    psa: Sequence[str],
    p_norm: list[NormalizedName],
    q_norm: list[NormalizedName],
) -> tuple[list[Match], list[int], list[int]]:
    """Pair names whose normalised forms are identical; return the pairs and who is left."""
    p_groups: dict[str, list[int]] = defaultdict(list)
    q_groups: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(p_norm):
        if n.core:
            p_groups[n.key].append(i)
    for j, n in enumerate(q_norm):
        if n.core:
            q_groups[n.key].append(j)
    matches: list[Match] = []
    paired_p: set[int] = set()
    paired_q: set[int] = set()
    for key, ps in p_groups.items():
        qs = q_groups.get(key)
        if not qs:
            continue
        if len(ps) == 1 and len(qs) == 1:
            pairs = [(ps[0], qs[0])]
        elif len(ps) * len(qs) <= MAX_GROUP_PAIRS:
            # Several organisations normalise alike: the closest raw spelling wins.
            ranked = sorted(
                ((i, j) for i in ps for j in qs),
                key=lambda ij: (
                    -SequenceMatcher(
                        None, platform[ij[0]].casefold(), psa[ij[1]].casefold()
                    ).ratio(),
                    ij,
                ),
            )
            pairs, used_i, used_j = [], set(), set()
            for i, j in ranked:
                if i not in used_i and j not in used_j:
                    pairs.append((i, j))
                    used_i.add(i)
                    used_j.add(j)
        else:
            pairs = list(zip(sorted(ps), sorted(qs), strict=False))
        for i, j in pairs:
            matches.append(Match(i, j, MAX_SCORE, REASON_EXACT))
            paired_p.add(i)
            paired_q.add(j)
    left_p = [i for i, n in enumerate(p_norm) if n.core and i not in paired_p]
    left_q = [j for j, n in enumerate(q_norm) if n.core and j not in paired_q]
    return matches, left_p, left_q


def match_names(platform: Sequence[str], psa: Sequence[str], min_score: int) -> list[Match]:
    """Propose, greedily and best first, one HaloPSA name per platform name (both at most
    once) scoring at least ``min_score``. Indexes refer to the input sequences. Pure and
    CPU-bound: callers in the event loop run it in a thread."""
    cache: dict[str, NormalizedName] = {}

    def norm(name: str) -> NormalizedName:
        found = cache.get(name)
        if found is None:
            found = cache[name] = normalize(name)
        return found

    p_norm = [norm(n) for n in platform]
    q_norm = [norm(n) for n in psa]
    exact, left_p, left_q = _exact_stage(platform, psa, p_norm, q_norm)
    if min_score >= MAX_SCORE or not left_p or not left_q:
        return exact

    index = _PsaIndex({j: q_norm[j] for j in left_q})
    distinctive = distinctive_words(p_norm + q_norm)
    scored: list[Match] = []
    matcher = SequenceMatcher(None, autojunk=False)
    as_written = SequenceMatcher(None, autojunk=False)
    for i in left_p:
        a = p_norm[i]
        matcher.set_seq2(a.text)  # difflib caches what it learns about seq2
        as_written.set_seq2(a.plain)
        for j in index.candidates(a):
            b = q_norm[j]
            factor, notes = _factors(a, b)
            needed = min_score / (MAX_SCORE * factor)
            if needed > 1.0:
                continue
            matcher.set_seq1(b.text)
            # Upper bounds first (length, then letters regardless of order): both hold for
            # the words sorted and as written.
            if matcher.real_quick_ratio() < needed or matcher.quick_ratio() < needed:
                continue
            ratio = matcher.ratio()
            if a.plain != a.text or b.plain != b.text:
                as_written.set_seq1(b.plain)
                ratio = max(ratio, as_written.ratio())
            if ratio < needed:  # below the threshold before the distinctive-word check
                continue
            factor *= _distinctive_factor(a, b, distinctive[i], distinctive[len(p_norm) + j], notes)
            value, reason = _finish(a, b, ratio, factor, notes)
            if value >= min_score:
                scored.append(Match(i, j, value, reason))

    return assign_best_first(platform, psa, scored, taken=exact)


def assign_best_first(
    platform: Sequence[str],
    psa: Sequence[str],
    scored: list[Match],
    taken: Sequence[Match] = (),
) -> list[Match]:
    """The greedy assignment: best score first (ties by name, then index, so the same books
    give the same proposals), each platform and HaloPSA name at most once, after ``taken``."""
    scored = sorted(
        scored,
        key=lambda m: (
            -m.score,
            platform[m.platform].casefold(),
            m.platform,
            psa[m.psa].casefold(),
            m.psa,
        ),
    )
    taken_p = {m.platform for m in taken}
    taken_q = {m.psa for m in taken}
    result = list(taken)
    for m in scored:
        if m.platform not in taken_p and m.psa not in taken_q:
            result.append(m)
            taken_p.add(m.platform)
            taken_q.add(m.psa)
    return result
