"""gradekit's similarity against the alternatives, on the same generated notebooks (prints a table).

The tools other than gradekit read Python files, so each notebook is converted the way a TA would do it by
hand (every code cell, in order, into one .py file; `jupyter nbconvert --to script` gives the same code), and
the template is converted likewise and given to each tool as its boilerplate / ignore file.

- copydetect (PyPI): its CopyDetector as shipped (pygments tokens, winnowing, boilerplate removal, all pairs).
- pycode_similar (PyPI): AST normalisation and a diff of each function against the other file's functions.
- Dolos (npm, @dodona/dolos-lib; needs node): tree-sitter tokens, winnowing, a fingerprint index. Run only
  when DOLOS_DIR names a folder where `npm install @dodona/dolos-lib` was done (it is no dependency of gradekit).

Two corpora: the named pairs of the tests (a disguised copy, independent solutions, templates, notebooks that
share only the template), and a class of 60 generated notebooks (benchmarks/bench_similarity.py) with 11
planted disguised copies, scored by how many planted pairs each tool ranks in its top 11.

    .venv/bin/python benchmarks/compare_similarity_tools.py
    DOLOS_DIR=/tmp/dolos .venv/bin/python benchmarks/compare_similarity_tools.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import bench_similarity  # noqa: E402
import similarity_corpus as corpus  # noqa: E402

from gradekit.config import load_assignment  # noqa: E402
from gradekit.similarity import compare  # noqa: E402

Scores = dict[frozenset[str], float]


def to_script(notebook: Path, out: Path) -> Path:
    nb = nbformat.read(notebook, as_version=4)
    code = "\n\n".join("\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("!", "%")))
                       for c in nb.cells if c.cell_type == "code")
    out.write_text(code + "\n", encoding="utf-8")
    return out


def scripts(folder: Path, work: Path) -> tuple[list[Path], Path]:
    (work / "py").mkdir(parents=True)
    (work / "template").mkdir()
    files = [to_script(p, work / "py" / f"{p.stem}.py") for p in sorted(folder.glob("*.ipynb"))]
    template = to_script(corpus.TEMPLATE, work / "template" / "template.py")
    return files, template


def run_gradekit(folder: Path, work: Path) -> Scores:
    result = compare(sorted(folder.glob("*.ipynb")), load_assignment("rnn_sentiment", ROOT))
    return {frozenset((p.a.name, p.b.name)): p.code.similarity for p in result.pairs}


def run_copydetect(folder: Path, work: Path) -> Scores:
    from copydetect import CopyDetector

    files, template = scripts(folder, work)
    detector = CopyDetector(test_dirs=[str(work / "py")], boilerplate_dirs=[str(template.parent)],
                            extensions=["py"], display_t=0.0, silent=True, autoopen=False)
    detector.run()
    names = [Path(f).stem for f in detector.test_files]
    scores = {}
    for i, j in combinations(range(len(names)), 2):
        sim = detector.similarity_matrix[i, j]
        scores[frozenset((names[i], names[j]))] = max(0.0, float(sim.mean()))
    return scores


def run_pycode_similar(folder: Path, work: Path) -> Scores:
    import pycode_similar

    files, _ = scripts(folder, work)
    code = {f.stem: f.read_text() for f in files}
    scores = {}
    for a, b in combinations(sorted(code), 2):
        both = []
        for ref, cand in ((a, b), (b, a)):
            try:
                result = pycode_similar.detect([code[ref], code[cand]], diff_method=pycode_similar.UnifiedDiff)
                both.append(pycode_similar.summarize(result[0][1])[0])
            except Exception:  # noqa: BLE001 - a file it cannot parse (SyntaxError, no function) scores 0
                both.append(0.0)
        scores[frozenset((a, b))] = sum(both) / 2
    return scores


DOLOS_SCRIPT = """
import { Dolos } from "@dodona/dolos-lib";
const [files, ignore] = JSON.parse(process.argv[2]);
const report = await new Dolos({ language: "python" }).analyzePaths(files, ignore);
console.log(JSON.stringify(report.allPairs().map(p => [p.leftFile.path, p.rightFile.path, p.similarity])));
"""


def run_dolos(folder: Path, work: Path) -> Scores:
    files, template = scripts(folder, work)
    script = Path(os.environ["DOLOS_DIR"]) / "gradekit_compare.mjs"
    script.write_text(DOLOS_SCRIPT)
    out = subprocess.run(["node", str(script), json.dumps([[str(f) for f in files], str(template)])],
                         capture_output=True, text=True, check=True, cwd=script.parent, timeout=600)
    return {frozenset((Path(a).stem, Path(b).stem)): s for a, b, s in json.loads(out.stdout.splitlines()[-1])}


TOOLS: dict[str, Callable[[Path, Path], Scores]] = {
    "gradekit": run_gradekit, "copydetect": run_copydetect, "pycode_similar": run_pycode_similar,
}
if os.environ.get("DOLOS_DIR"):
    TOOLS["dolos"] = run_dolos

NAMED = [("source", "copy"), ("source", "copy_pasted"), ("source", "independent_gates"),
         ("source", "independent_slices"), ("independent_gates", "independent_slices"),
         ("template_a", "template_b"), ("only_first_questions", "only_last_questions")]


def named_corpus(folder: Path) -> None:
    corpus.write(corpus.example("solution"), folder / "source.ipynb")
    corpus.write(corpus.disguise(corpus.example("solution"), seed=1), folder / "copy.ipynb")
    corpus.write(corpus.disguise(corpus.example("solution"), seed=2, new_ids=True), folder / "copy_pasted.ipynb")
    corpus.write(corpus.fill_template(corpus.INDEPENDENT_GATES), folder / "independent_gates.ipynb")
    corpus.write(corpus.fill_template(corpus.INDEPENDENT_SLICES), folder / "independent_slices.ipynb")
    corpus.write(corpus.template(), folder / "template_a.ipynb")
    corpus.write(corpus.template(), folder / "template_b.ipynb")
    first = {k: v for k, v in corpus.INDEPENDENT_GATES.items() if k in ("build_vocab", "tokenize", "Embedding")}
    last = {k: v for k, v in corpus.INDEPENDENT_SLICES.items() if k in ("binary_accuracy", "train", "model")}
    corpus.write(corpus.fill_template(first), folder / "only_first_questions.ipynb")
    corpus.write(corpus.fill_template(last), folder / "only_last_questions.ipynb")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        named = tmp / "named"
        named_corpus(named)
        klass = tmp / "class"
        planted = {frozenset(p) for p in bench_similarity.generate(60, klass, seed=1, copy_every=5)}
        print("Named pairs (similarity, 0-1):")
        print(f"{'pair':<45}" + "".join(f"{t:>15}" for t in TOOLS))
        results = {t: run(named, tmp / f"{t}-named") for t, run in TOOLS.items()}
        for a, b in NAMED:
            print(f"{a + ' · ' + b:<45}" + "".join(f"{results[t].get(frozenset((a, b)), 0.0):>15.3f}" for t in TOOLS))
        print(f"\nA class of 60 generated notebooks with {len(planted)} planted disguised copies:")
        print(f"{'tool':<16}{'top-' + str(len(planted)) + ' planted':>14}{'lowest planted':>16}"
              f"{'highest other':>15}{'seconds':>10}")
        for t, run in TOOLS.items():
            clock = time.perf_counter()
            scores = run(klass, tmp / f"{t}-class")
            seconds = time.perf_counter() - clock
            ranked = sorted(scores, key=lambda p: -scores[p])
            hits = sum(p in planted for p in ranked[: len(planted)])
            low = min(scores.get(p, 0.0) for p in planted)
            high = max((s for p, s in scores.items() if p not in planted), default=0.0)
            print(f"{t:<16}{hits:>10}/{len(planted):<3}{low:>16.3f}{high:>15.3f}{seconds:>10.1f}")


if __name__ == "__main__":
    main()
