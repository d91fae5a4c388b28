"""Fingerprints, the index over them, and what two notebooks share.

Each cell's normalised tokens are cut into k-grams (k tokens: the noise threshold; a shared run shorter than
that never counts) and hashed; copydetect's robust winnowing (MOSS's algorithm, Schleimer, Wilkerson and
Aiken 2003) keeps one hash per window of w, which guarantees that any shared run of k + w - 1 tokens is seen.
k-grams never cross a cell boundary, so reordered cells change nothing.

What never counts: every k-gram of the template (the code `grade release` wrote), and every k-gram that more
than `common` notebooks share (code everyone writes the same way). The index maps each winnowed fingerprint to
the notebooks holding it, so candidate pairs come from shared fingerprints rather than from all n^2 pairs; a
candidate is then measured exactly on all its k-grams.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from copydetect.utils import winnow

from gradekit.similarity.normalise import Token

_MASK = np.uint64((1 << 48) - 1)  # hashes kept below 2^53: copydetect's winnow compares them as floats
_BASE = np.uint64(1_000_003)


@dataclass(frozen=True)
class Params:
    k: int  # tokens (or words) in a k-gram: the shortest run that can count
    window: int  # winnowing window: any shared run of k + window - 1 is guaranteed to be found

    @property
    def guarantee(self) -> int:
        return self.k + self.window - 1


CODE = Params(k=12, window=8)
TEXT = Params(k=8, window=4)


_TOKEN_IDS: dict[str, int] = {}  # token text -> stable 64-bit id (blake2b, not hash(): the same in every run)


def _token_id(text: str) -> int:
    value = _TOKEN_IDS.get(text)
    if value is None:
        value = _TOKEN_IDS[text] = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return value


def kgram_hashes(tokens: list[Token], k: int) -> np.ndarray:
    """Stable hash of every k-gram (a polynomial hash of the token ids), or an empty array when too short."""
    n = len(tokens) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    ids = np.fromiter((_token_id(t.text) for t in tokens), dtype=np.uint64, count=len(tokens))
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + ids[j : j + n]
    return ((h ^ (h >> np.uint64(29))) & _MASK).astype(np.int64)


@dataclass
class Unit:
    """One cell's tokens and k-gram hashes."""

    cell: int
    tokens: list[Token]
    hashes: np.ndarray  # hashes[i] covers tokens[i : i + k]
    fingerprints: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # winnowed positions
    own: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # token not the template's

    def own_spans(self) -> list[tuple[int, int]]:
        """Character ranges of the cell the student wrote (tokens covered by a k-gram the template lacks)."""
        return [(self.tokens[lo].start, self.tokens[hi - 1].end) for lo, hi in _runs(self.own)]


@dataclass
class Document:
    """One submission's code (or text) as units, with the hashes that may count."""

    name: str
    units: list[Unit]
    params: Params
    own_cells: dict[int, int] = field(default_factory=dict)  # cell -> tokens the student wrote (not template)
    countable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # sorted, unique
    comparable: int = 0  # own tokens covered by a countable k-gram: own code outside common passages
    _flat: tuple[np.ndarray, np.ndarray, int] | None = field(default=None, repr=False)

    @property
    def own(self) -> int:
        return sum(self.own_cells.values())

    def flat(self) -> tuple[np.ndarray, np.ndarray, int]:
        """All k-gram hashes in one array, their start slots, and the number of slots: units laid end to end with
        one empty slot between them, so a run of shared tokens never joins two cells."""
        if self._flat is None:
            hashes, starts, offset = [], [], 0
            for u in self.units:
                hashes.append(u.hashes)
                starts.append(offset + np.arange(len(u.hashes)))
                offset += len(u.tokens) + 1
            empty = np.zeros(0, np.int64)
            self._flat = (np.concatenate(hashes or [empty]), np.concatenate(starts or [empty]), offset)
        return self._flat

    def all_hashes(self) -> np.ndarray:
        return np.unique(np.concatenate([u.hashes for u in self.units])) if self.units else np.zeros(0, np.int64)


def build_document(name: str, cells: list[tuple[int, list[Token]]], params: Params) -> Document:
    units = []
    for cell, tokens in cells:
        hashes = kgram_hashes(tokens, params.k)
        unit = Unit(cell, tokens, hashes)
        if len(hashes):
            _, unit.fingerprints = winnow(hashes, params.window, remove_duplicates=False)
        units.append(unit)
    return Document(name, units, params)


def covered(hashes: np.ndarray, keep: np.ndarray, k: int, n_tokens: int) -> np.ndarray:
    """Boolean mask over tokens: covered by some k-gram whose hash is in `keep`."""
    return _cover(np.isin(hashes, keep), k, n_tokens)


def _cover(hit: np.ndarray, k: int, n_tokens: int) -> np.ndarray:
    marks = np.zeros(n_tokens + 1, dtype=np.int64)
    starts = np.flatnonzero(hit)
    np.add.at(marks, starts, 1)
    np.add.at(marks, starts + k, -1)
    return np.cumsum(marks[:-1]) > 0


@dataclass(frozen=True)
class Corpus:
    documents: list[Document]
    common_limit: int  # a hash in more documents than this is common code and never counts
    common_hashes: int  # how many distinct k-grams were set aside as common
    candidates: dict[tuple[int, int], int]  # (i, j) -> shared winnowed fingerprints, i < j


def index_corpus(documents: list[Document], template: np.ndarray, common_limit: int) -> Corpus:
    """Drop template k-grams, find common ones, index the winnowed fingerprints and collect candidate pairs."""
    template = np.unique(template)
    for doc in documents:
        countable = []
        for u in doc.units:
            # The student's own tokens: inside some k-gram, and inside none of the template's. A k-gram counts
            # only when all its tokens are the student's: one reaching into the template's code would match
            # everyone who filled the same stub.
            k, n = doc.params.k, len(u.tokens)
            in_template = _cover(np.isin(u.hashes, template), k, n)
            u.own = _cover(np.ones(len(u.hashes), dtype=bool), k, n) & ~in_template
            inside = np.convolve(u.own.astype(np.int64), np.ones(k, dtype=np.int64), "valid") == k if n >= k else \
                np.zeros(0, dtype=bool)
            countable.append(u.hashes[inside])
        doc.own_cells = {u.cell: int(u.own.sum()) for u in doc.units if u.own.any()}
        doc.countable = np.unique(np.concatenate(countable or [np.zeros(0, np.int64)]))
    pooled = np.concatenate([d.countable for d in documents] or [np.zeros(0, np.int64)])
    values, counts = np.unique(pooled, return_counts=True)
    common = values[counts > common_limit]
    postings: dict[int, list[int]] = defaultdict(list)
    for i, doc in enumerate(documents):
        doc.countable = np.setdiff1d(doc.countable, common, assume_unique=True)
        doc.comparable = _measure(doc, doc.countable)[0]
        fingerprints = np.unique(np.concatenate(
            [u.hashes[u.fingerprints] for u in doc.units if len(u.fingerprints)] or [np.zeros(0, np.int64)]))
        for h in np.intersect1d(fingerprints, doc.countable, assume_unique=True).tolist():
            postings[h].append(i)
    candidates: Counter[tuple[int, int]] = Counter()
    for holders in postings.values():
        if len(holders) > 1:
            candidates.update(combinations(holders, 2))
    return Corpus(documents, common_limit, len(common), dict(candidates))


@dataclass(frozen=True)
class Span:
    """A shared passage inside one cell: character offsets into the cell's source, and its passage number."""

    cell: int
    start: int
    end: int
    tokens: int
    passage: int


@dataclass(frozen=True)
class Overlap:
    """What two documents share: token counts on each side, the passages, the longest run."""

    shared_a: int
    shared_b: int
    own_a: int
    own_b: int
    base_a: int  # comparable tokens (own code outside common passages): what similarity is a share of
    base_b: int
    longest: int  # tokens in the longest shared passage (the larger side)
    spans_a: tuple[Span, ...]
    spans_b: tuple[Span, ...]
    per_cell_a: dict[int, int]  # cell -> shared tokens
    per_cell_b: dict[int, int]

    @property
    def similarity(self) -> float:
        """Shared tokens over both sides' comparable tokens: 1.0 when everything either wrote (common passages
        aside) is in the other."""
        total = self.base_a + self.base_b
        return (self.shared_a + self.shared_b) / total if total else 0.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) token ranges where mask is True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _measure(doc: Document, shared: np.ndarray) -> tuple[int, int]:
    """(shared tokens, longest shared run) in one pass over the whole document."""
    hashes, starts, slots = doc.flat()
    marks = np.zeros(slots + 1, dtype=np.int64)
    hit = starts[np.isin(hashes, shared)]
    np.add.at(marks, hit, 1)
    np.add.at(marks, hit + doc.params.k, -1)
    mask = np.cumsum(marks[:-1]) > 0
    runs = _runs(mask)
    return int(mask.sum()), max((hi - lo for lo, hi in runs), default=0)


def measure(a: Document, b: Document) -> Overlap:
    """The figures of `overlap` without the passages: cheap enough for every candidate pair."""
    shared = np.intersect1d(a.countable, b.countable, assume_unique=True)
    shared_a, longest_a = _measure(a, shared)
    shared_b, longest_b = _measure(b, shared)
    return Overlap(shared_a, shared_b, a.own, b.own, a.comparable, b.comparable, max(longest_a, longest_b),
                   (), (), {}, {})


def overlap(a: Document, b: Document) -> Overlap:
    """Exact overlap of two documents on all their countable k-grams, with numbered passages on both sides."""
    shared = np.intersect1d(a.countable, b.countable, assume_unique=True)
    k = a.params.k
    side_a = _passages(a, shared, k)
    # Number the passages in a's order; each of b's runs takes the number of the a-passage it shares most with.
    owner: dict[int, int] = {}
    for number, (_, hashes, _) in enumerate(side_a, start=1):
        for h in hashes:
            owner.setdefault(h, number)
    spans_a = tuple(Span(cell, start, end, n, number) for number, (cell_span, _, n) in enumerate(side_a, start=1)
                    for cell, start, end in [cell_span])
    spans_b = []
    for cell_span, hashes, n in _passages(b, shared, k):
        votes = Counter(owner[h] for h in hashes if h in owner)
        number = votes.most_common(1)[0][0] if votes else 0
        spans_b.append(Span(*cell_span, n, number))
    per_a: Counter[int] = Counter()
    per_b: Counter[int] = Counter()
    for s in spans_a:
        per_a[s.cell] += s.tokens
    for s in spans_b:
        per_b[s.cell] += s.tokens
    longest = max([s.tokens for s in spans_a] + [s.tokens for s in spans_b] + [0])
    return Overlap(sum(per_a.values()), sum(per_b.values()), a.own, b.own, a.comparable, b.comparable, longest,
                   spans_a, tuple(spans_b),
                   dict(per_a), dict(per_b))


def _passages(doc: Document, shared: np.ndarray, k: int) -> list[tuple[tuple[int, int, int], set[int], int]]:
    """((cell, char start, char end), hashes inside, tokens) for each run of shared tokens, in document order."""
    out = []
    for u in doc.units:
        if not len(u.hashes):
            continue
        mask = covered(u.hashes, shared, k, len(u.tokens))
        in_shared = np.isin(u.hashes, shared)
        for start, end in _runs(mask):
            lo, hi = max(0, start - k + 1), min(len(u.hashes), end)  # the k-grams overlapping this run
            hashes = {int(h) for h, hit in zip(u.hashes[lo:hi], in_shared[lo:hi], strict=True) if hit}
            out.append(((u.cell, u.tokens[start].start, u.tokens[end - 1].end), hashes, end - start))
    return out
