"""Q2 IMDBDataset: item i is {'ids': its token ids cut to max_length, 'length': how many, 'label': 1 or 0}."""

import pytest
import torch

from gradekit import checks
from gradekit.proxy import NotImplementedByStudent

Q = "dataset"


@pytest.fixture
def case(submission, pool, ref_vocab, pyrng):
    """A dataset of fresh reviews with a max_length shorter than most of them; and what its items should be."""
    reviews = pyrng.sample(pool, 12)
    x = [r.text for r in reviews]
    y = ["positive" if r.label else "negative" for r in reviews]
    max_length = pyrng.randint(3, 7)
    dataset = submission.new("IMDBDataset", x, y, ref_vocab, max_length)
    return dataset, x, y, max_length


def item(dataset, i):
    try:
        got = dataset.method("__getitem__", i)
    except NotImplementedByStudent:
        raise NotImplementedByStudent("IMDBDataset.__getitem__") from None
    if not isinstance(got, dict) or not {"ids", "length", "label"} <= set(got):
        keys = sorted(map(str, got)) if isinstance(got, dict) else None
        pytest.fail(f"IMDBDataset[{i}] should be a dictionary with the keys 'ids', 'length' and 'label'; it is "
                    + (f"a dictionary with {keys}" if keys is not None else checks.describe_value(got)))
    return got


def as_ints(value, what):
    if isinstance(value, torch.Tensor) and value.dim() <= 1 and not value.is_floating_point():
        return [int(v) for v in value.reshape(-1)]
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    pytest.fail(f"{what} should be a list of integer ids; it is {checks.describe_value(value)}")


@pytest.mark.question(Q, points=1)
def test_ids_are_the_tokens_cut_to_max_length(case, reference, ref_vocab):
    """'ids' are the review's token ids, cut to max_length"""
    dataset, x, _, max_length = case
    for i, text in enumerate(x):
        want = reference.tokenize(ref_vocab, reference.HyperParams, text)[:max_length]
        got = as_ints(item(dataset, i)["ids"], f"IMDBDataset[{i}]['ids']")
        hint = f"; cut them to the first max_length={max_length}" if len(got) > max_length else ""
        assert got == want, f"IMDBDataset[{i}]['ids'] is {got}; tokenize gives {want}{hint}"


@pytest.mark.question(Q, points=1)
def test_length_is_the_number_of_ids(case):
    """'length' is the number of ids"""
    dataset, x, _, _ = case
    for i in range(len(x)):
        got = item(dataset, i)
        n = len(as_ints(got["ids"], f"IMDBDataset[{i}]['ids']"))
        length = checks.number(got["length"], f"IMDBDataset[{i}]['length']")
        assert length == n, f"IMDBDataset[{i}]['length'] is {length:g} but 'ids' holds {n} ids"


@pytest.mark.question(Q, points=1)
def test_label_is_one_for_positive(case):
    """'label' is the integer 1 for a positive review and 0 for a negative one"""
    dataset, _, y, _ = case
    for i, sentiment in enumerate(y):
        label = item(dataset, i)["label"]
        if isinstance(label, str):
            pytest.fail(f"IMDBDataset[{i}]['label'] is the string {label!r}: return 1 for \"positive\" and 0 for "
                        "\"negative\" (a loss needs a number)")
        if isinstance(label, torch.Tensor) and label.numel() == 1 and not label.is_floating_point():
            label = int(label)
        assert isinstance(label, int) and not isinstance(label, bool), (
            f"IMDBDataset[{i}]['label'] should be the integer 1 or 0; it is {checks.describe_value(label)}")
        assert label == (1 if sentiment == "positive" else 0), (
            f"IMDBDataset[{i}]['label'] is {label} for a {sentiment} review; 1 is positive, 0 negative")
