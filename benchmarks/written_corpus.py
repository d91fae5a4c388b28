"""How the written-answer checker does on the issue-11 corpus of written forms (tests/test_written_math.py's
FORMS): prints the forms whose verdict is not the one a TA would give, and those whose message does not say
what the corpus asks it to (the mistake named, or the reason a TA must read it), then the two counts.
Asserts nothing. Run: `PYTHONPATH=$PWD python benchmarks/written_corpus.py`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradekit.written.client import MathChecker  # noqa: E402
from reference.theory_rnn_attention import MATH  # noqa: E402
from tests.test_written_math import FORMS  # noqa: E402


def main() -> None:
    wrong_verdicts = unhelpful = 0
    with MathChecker() as checker:
        for form in FORMS:
            kind, spec = MATH[form.question]
            reply = checker.check(kind, spec, form.text)
            if reply["verdict"] != form.verdict:
                wrong_verdicts += 1
                print(f"VERDICT {form.question}: {form.text!r}: {reply['verdict']} for {form.verdict} "
                      f"({form.why}) -- {reply['message']}")
            elif form.says not in reply["message"] or (form.verdict != "correct" and not reply["message"]):
                unhelpful += 1
                print(f"MESSAGE {form.question}: {form.text!r}: lacks {form.says!r} -- {reply['message']}")
    print(f"{len(FORMS)} forms: {wrong_verdicts} wrong verdicts, {unhelpful} unhelpful messages")


if __name__ == "__main__":
    main()
