"""Q1 split_data: 7:1:2 (the seed's 35,000 / 5,000 / 10,000 for 50,000 reviews), every review once with its own
label, shuffled by the seed and the same for the same seed. Stratified or not: both are accepted."""

import pytest

from gradekit import checks

Q = "split_data"
WHAT = "split_data(reviews, labels, seed)"

SIZES = """
reviews = [f"review {i}" for i in range(n)]
labels = ["positive" if i % 2 else "negative" for i in range(n)]
out = split_data(reviews, labels, seed)
try:
    result = [[len(part) for part in pair] for pair in out]
except TypeError:
    result = None
"""

UNCHANGED = """
before = (list(reviews), list(labels))
split_data(reviews, labels, seed)
result = (reviews, labels) == before
"""


def parts(value):
    """((x_train, y_train), (x_valid, y_valid), (x_test, y_test)) as lists, or a failed check."""
    ok = isinstance(value, (tuple, list)) and len(value) == 3 and all(
        isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(p, (list, tuple)) for p in pair)
        for pair in value)
    if not ok:
        pytest.fail(f"{WHAT} should return three (reviews, labels) pairs, "
                    f"((x_train, y_train), (x_valid, y_valid), (x_test, y_test)), each a list; it returned "
                    f"{checks.describe_value(value)}")
    for (x, y), name in zip(value, ("train", "valid", "test"), strict=True):
        assert len(x) == len(y), f"{WHAT}: the {name} part has {len(x)} reviews but {len(y)} labels"
    return [(list(x), list(y)) for x, y in value]


def inputs(pyrng, n):
    reviews = [f"review {pyrng.getrandbits(40):x} {i}" for i in range(n)]
    labels = [pyrng.choice(["positive", "negative"]) for _ in range(n)]
    return reviews, labels


def sizes_ok(got, n):
    want = (0.7 * n, 0.1 * n, 0.2 * n)
    return sum(got) == n and all(abs(g - w) <= 2 for g, w in zip(got, want, strict=True))


@pytest.mark.question(Q, points=1)
def test_seed_sizes_for_50000(submission, seed):
    """50,000 reviews give 35,000 / 5,000 / 10,000"""
    got = submission.run(SIZES, what="split_data()", name="split_data", n=50_000, seed=seed % 1000)
    if got is None or len(got) != 3:
        pytest.fail(f"{WHAT} should return three (reviews, labels) pairs, "
                    "((x_train, y_train), (x_valid, y_valid), (x_test, y_test))")
    assert [pair[0] for pair in got] == [35_000, 5_000, 10_000], (
        f"{WHAT} split 50,000 reviews into {' / '.join(f'{p[0]:,}' for p in got)}; 7:1:2 is 35,000 / 5,000 / 10,000")


@pytest.mark.question(Q, points=0.5)
def test_sizes_7_1_2(submission, pyrng):
    """Any number of reviews is cut 7:1:2 (within two reviews of rounding)"""
    n = pyrng.randint(150, 1200)
    reviews, labels = inputs(pyrng, n)
    got = [len(x) for x, _ in parts(submission.call("split_data", reviews, labels, pyrng.randint(0, 999)))]
    assert sizes_ok(got, n), f"{WHAT} split {n} reviews into {' / '.join(map(str, got))}; 7:1:2 is about " \
                             f"{0.7 * n:.0f} / {0.1 * n:.0f} / {0.2 * n:.0f}"


@pytest.mark.question(Q, points=0.5)
def test_every_review_once_with_its_label(submission, pyrng):
    """Every review is in exactly one part, next to its own label"""
    reviews, labels = inputs(pyrng, 300)
    out = parts(submission.call("split_data", reviews, labels, pyrng.randint(0, 999)))
    pairs = sorted((x, y) for xs, ys in out for x, y in zip(xs, ys, strict=True))
    assert len(pairs) == len(reviews), f"{WHAT} returned {len(pairs)} reviews in all for {len(reviews)}"
    assert pairs == sorted(zip(reviews, labels, strict=True)), (
        f"{WHAT}: some reviews are missing, repeated, or no longer next to their own label; shuffle the positions "
        "once and take reviews and labels at the same positions")


@pytest.mark.question(Q, points=0.5)
def test_shuffled_by_the_seed(submission, pyrng):
    """The same seed gives the same split; another seed another one; the order is shuffled"""
    reviews, labels = inputs(pyrng, 200)
    seed = pyrng.randint(0, 999)
    first = parts(submission.call("split_data", reviews, labels, seed))
    again = parts(submission.call("split_data", reviews, labels, seed))
    other = parts(submission.call("split_data", reviews, labels, seed + 1))
    assert first == again, f"{WHAT} gave two different splits for seed {seed}: seed the generator you shuffle with"
    assert first != other, f"{WHAT} gave the same split for seeds {seed} and {seed + 1}: shuffle with the seed"
    assert first[0][0] != reviews[: len(first[0][0])], (
        f"{WHAT}: the training part is the first reviews in their original order; shuffle before cutting")


@pytest.mark.question(Q, points=0.5, hidden=True)
def test_inputs_unchanged(submission, pyrng):
    """The lists passed in are left as they were"""
    reviews, labels = inputs(pyrng, 100)
    assert submission.run(UNCHANGED, what="split_data()", name="split_data", reviews=reviews, labels=labels, seed=3), (
        f"{WHAT} changed the lists it was given (shuffle a list of positions, or a copy)")
