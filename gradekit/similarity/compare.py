"""Compare a folder of submissions: which pairs share student-written code, how much, and where.

Nothing here runs student code: notebooks are read with nbformat and their cells with `tokenize`/`ast`. The
result holds figures and places, never a verdict: a person decides what a shared passage means.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gradekit.config import Assignment
from gradekit.similarity.extract import Cell, Submission, Template, load_submissions, load_template
from gradekit.similarity.fingerprint import (
    CODE,
    TEXT,
    Document,
    Overlap,
    Params,
    build_document,
    index_corpus,
    kgram_hashes,
    measure,
    overlap,
)
from gradekit.similarity.normalise import Bindings, bindings, code_tokens, word_tokens


@dataclass(frozen=True)
class Settings:
    code: Params = CODE
    text: Params = TEXT
    threshold: float = 0.30  # pairs are listed from this similarity up (code or written answers)
    common: int | None = None  # a passage in more notebooks than this is common code; None: max(10, n / 10)
    max_pairs: int = 200  # side-by-side pages written at most (the highest first)

    def lists(self, code: Overlap, text: Overlap) -> bool:
        """A pair is listed when its code or its written answers reach the threshold, and the shared part is at
        least one guaranteed run long on both sides (a few shared tokens in a notebook with little code of its
        own outside common passages are not a pair to look at)."""
        return any(o.similarity >= self.threshold and min(o.shared_a, o.shared_b) >= p.guarantee
                   for o, p in ((code, self.code), (text, self.text)))

    def common_limit(self, n: int) -> int:
        return self.common if self.common is not None else max(10, math.ceil(n / 10))


@dataclass(frozen=True)
class SectionShare:
    section: str
    shared_a: int
    own_a: int
    shared_b: int
    own_b: int


@dataclass(frozen=True)
class Pair:
    a: Submission
    b: Submission
    code: Overlap
    text: Overlap
    sections: tuple[SectionShare, ...]  # passages and sections are worked out for listed pairs only


@dataclass(frozen=True)
class Result:
    assignment: Assignment
    settings: Settings
    submissions: list[Submission]
    pairs: list[Pair]  # every pair sharing anything countable, highest code similarity first
    common_limit: int
    common_code: int  # distinct code k-grams set aside as common
    candidates: int  # pairs the index proposed (out of n (n - 1) / 2)
    documents: dict[str, tuple[Document, Document]]  # name -> (code, written answers)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def listed(self) -> list[Pair]:
        return [p for p in self.pairs if self.settings.lists(p.code, p.text)]

    @property
    def unreadable(self) -> list[Submission]:
        return [s for s in self.submissions if s.error]


def _reference_bindings(template: Template) -> Bindings:
    found = bindings(template.solution_source)
    for cell in template.cells:
        if cell.kind == "code":
            found.update(bindings(cell.source))
    return found


def _student_text(cell: Cell, template_text: set[str]) -> bool:
    return cell.kind == "markdown" and cell.source.strip() not in template_text


def documents(sub: Submission, reference: Bindings, template_text: set[str], template_code: set[str],
              settings: Settings) -> tuple[Document, Document]:
    """The submission's code and written answers as documents. A cell left exactly as the template has it
    holds nothing of the student's and is not even tokenized."""
    bound = Bindings(set(reference.names), set(reference.attrs))
    code_cells = [c for c in sub.cells if c.kind == "code" and c.source.strip() not in template_code]
    for c in code_cells:
        bound.update(bindings(c.source))
    code = build_document(sub.name, [(c.index, code_tokens(c.source, bound)) for c in code_cells], settings.code)
    text = build_document(sub.name, [(c.index, word_tokens(c.source)) for c in sub.cells
                                     if _student_text(c, template_text)], settings.text)
    return code, text


def compare(paths: list[Path], assignment: Assignment, settings: Settings | None = None) -> Result:
    settings = settings or Settings()
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    template = load_template(assignment)
    submissions = load_submissions(sorted(paths), template)
    seconds["read"] = time.perf_counter() - clock

    clock = time.perf_counter()
    reference = _reference_bindings(template)
    template_text = {c.source.strip() for c in template.cells if c.kind == "markdown"}
    template_code = np.concatenate([np.zeros(0, np.int64)] + [
        kgram_hashes(code_tokens(c.source, reference), settings.code.k) for c in template.cells if c.kind == "code"])
    template_words = np.concatenate([np.zeros(0, np.int64)] + [
        kgram_hashes(word_tokens(c.source), settings.text.k) for c in template.cells if c.kind == "markdown"])
    readable = [s for s in submissions if not s.error]
    template_sources = {c.source.strip() for c in template.cells if c.kind == "code"}
    docs = [documents(s, reference, template_text, template_sources, settings) for s in readable]
    seconds["fingerprint"] = time.perf_counter() - clock

    clock = time.perf_counter()
    limit = settings.common_limit(len(readable))
    code_corpus = index_corpus([d[0] for d in docs], template_code, limit)
    text_corpus = index_corpus([d[1] for d in docs], template_words, limit)
    candidates = set(code_corpus.candidates) | set(text_corpus.candidates)
    seconds["index"] = time.perf_counter() - clock

    clock = time.perf_counter()
    pairs = []
    for i, j in candidates:
        code = measure(docs[i][0], docs[j][0])
        text = measure(docs[i][1], docs[j][1])
        if code.shared_a + code.shared_b + text.shared_a + text.shared_b == 0:
            continue
        sections: tuple[SectionShare, ...] = ()
        if settings.lists(code, text):  # listed: passages for the pages
            code, text = overlap(docs[i][0], docs[j][0]), overlap(docs[i][1], docs[j][1])
            sections = _sections(readable[i], readable[j], docs[i][0], docs[j][0], code)
        pairs.append(Pair(readable[i], readable[j], code, text, sections))
    pairs.sort(key=lambda p: (-p.code.similarity, -p.text.similarity, p.a.name, p.b.name))
    seconds["compare"] = time.perf_counter() - clock
    own = {s.name: d for s, d in zip(readable, docs, strict=True)}
    return Result(assignment, settings, submissions, pairs, limit, code_corpus.common_hashes, len(candidates),
                  own, seconds)


def _sections(a: Submission, b: Submission, doc_a: Document, doc_b: Document, code: Overlap) -> tuple[SectionShare,
                                                                                                       ...]:
    """Shared and own code tokens per question, in the template's order."""
    rows: dict[str, list[float]] = {}
    for sub, doc, shared, side in ((a, doc_a, code.per_cell_a, 0), (b, doc_b, code.per_cell_b, 2)):
        by_index = {c.index: c for c in sub.cells}
        for cell, own in doc.own_cells.items():
            c = by_index[cell]
            row = rows.setdefault(c.section, [0, 0, 0, 0, c.order])
            row[side] += shared.get(cell, 0)
            row[side + 1] += own
            row[4] = min(row[4], c.order)
    ordered = sorted(rows.items(), key=lambda kv: kv[1][4])
    return tuple(SectionShare(name, int(r[0]), int(r[1]), int(r[2]), int(r[3])) for name, r in ordered
                 if r[1] or r[3])
