"""The verdict corpus: submissions made from an assignment's solution with one change each, each with the exact
per-question score a careful TA would give and the reason in one line (issue 11).

A variant is correct-but-different (full marks: the same answer written another way) or wrong (the question it
breaks loses what the mistake costs, and nothing else). One module per assignment, `tests/variants/<name>.py`,
defines `VARIANTS: list[Variant]`; `tests/test_variants.py` builds every variant from the solution notebook
(exact text edits that must apply once, as tools/make_examples.py does) and grades them all through the batch
path. Edits are text replacements in the finished solution (solution markers removed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import nbformat

Edit = tuple[str, str]  # (old, new): `old` must occur in exactly one cell of the solution


@dataclass(frozen=True)
class Variant:
    name: str  # becomes the student id: <kind>_<what>, e.g. "ok_lstm_one_linear_per_gate"
    reason: str  # one line: why these are the right points
    edits: tuple[Edit, ...] = ()
    # Points per question that differ from full marks; {} for a correct-but-different variant.
    lost: dict[str, float] = field(default_factory=dict)
    # (question, words) the failed question's feedback must contain: the student's own mistake, named.
    says: tuple[tuple[str, str], ...] = ()
    build: Callable[[nbformat.NotebookNode], None] | None = None  # for changes text edits cannot express

    @property
    def correct(self) -> bool:
        return not self.lost


def apply(nb: nbformat.NotebookNode, variant: Variant) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for old, new in variant.edits:
        hits = [c for c in nb.cells if old in c.source]
        if len(hits) != 1:
            raise ValueError(f"{variant.name}: edit applies to {len(hits)} cells, not 1: {old[:70]!r}")
        hits[0].source = hits[0].source.replace(old, new, 1)
    if variant.build is not None:
        variant.build(nb)
    return nb

