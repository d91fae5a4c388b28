"""Q3 collate: ids padded with PAD_INDEX into (batch, longest), each item's own length kept, labels as a tensor."""

import pytest

from gradekit import checks

Q = "collate"
PAD = 0  # the notebook's PAD_INDEX; real ids here are never 0 or 1


@pytest.fixture
def items(pyrng):
    lengths = [pyrng.randint(1, 12) for _ in range(5)]
    lengths[pyrng.randrange(5)] = 14  # one longest item
    return [{"ids": [pyrng.randint(2, 300) for _ in range(n)], "length": n, "label": pyrng.randint(0, 1)}
            for n in lengths]


def collated(submission, items):
    out = submission.call("collate", items)
    if not isinstance(out, dict) or not {"ids", "length", "label"} <= set(out):
        pytest.fail("collate should return a dictionary with the keys 'ids', 'length' and 'label'; it returned "
                    f"{checks.describe_value(out)}")
    return out


@pytest.mark.question(Q, points=1)
def test_ids_padded_with_pad_index(submission, items):
    """'ids' is (batch, longest) with each item's ids, then PAD_INDEX"""
    ids = checks.tensor(collated(submission, items)["ids"], "collate(...)['ids']")
    longest = max(i["length"] for i in items)
    if ids.dim() != 2 or ids.shape[0] != len(items) or ids.shape[1] < longest:
        pytest.fail(f"collate(...)['ids'] has shape {checks.fmt_shape(ids.shape)}; for {len(items)} items of at most "
                    f"{longest} ids it should be ({len(items)}, {longest}): one row per review, batch first")
    assert not ids.is_floating_point(), "collate(...)['ids'] should be a torch.long tensor"
    for row, item in enumerate(items):
        n = item["length"]
        assert ids[row, :n].tolist() == item["ids"], f"row {row} of collate(...)['ids'] does not start with its ids"
        assert (ids[row, n:] == PAD).all(), (
            f"row {row} of collate(...)['ids'] is padded with {ids[row, n:].unique().tolist()}, not PAD_INDEX ({PAD})")


@pytest.mark.question(Q, points=1)
def test_each_review_keeps_its_length(submission, items):
    """'length' holds each item's own length"""
    length = checks.tensor(collated(submission, items)["length"], "collate(...)['length']")
    want = [i["length"] for i in items]
    got = length.reshape(-1).tolist()
    hint = ""
    if len(set(got)) == 1 and got[0] >= max(want):
        hint = ": that is the padded length, for every review; keep each review's own, or the model reads padding"
    assert [int(v) for v in got] == want and length.dim() == 1, (
        f"collate(...)['length'] is {[int(v) for v in got]} for items of lengths {want}{hint}")


@pytest.mark.question(Q, points=0.5)
def test_labels_as_a_tensor(submission, items):
    """'label' is a tensor of the items' integer labels"""
    label = checks.tensor(collated(submission, items)["label"], "collate(...)['label']")
    assert not label.is_floating_point() and label.dim() == 1, (
        f"collate(...)['label'] should be a torch.long tensor of shape ({len(items)},); it is {label.dtype} of "
        f"shape {checks.fmt_shape(label.shape)} (nn.CrossEntropyLoss takes class indices)")
    assert label.tolist() == [i["label"] for i in items], "collate(...)['label'] is not the items' labels in order"


@pytest.mark.question(Q, points=0.5, hidden=True)
def test_batch_of_one(submission, items):
    """A batch of one review has no padding"""
    out = collated(submission, items[:1])
    ids = checks.tensor(out["ids"], "collate([item])['ids']")
    assert ids.shape[0] == 1 and ids[0, : items[0]["length"]].tolist() == items[0]["ids"], (
        f"collate of a single item gave ids of shape {checks.fmt_shape(ids.shape)}")
