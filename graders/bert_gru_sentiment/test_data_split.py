"""Q1b: a 70/30 train/validation split of the whole training pool, disjoint, and the test set untouched."""

import pytest

from gradekit.datasets.sentiment import split_sizes

Q = "data_split"

SIZES = """
pool = [text for text, _ in full_train_reviews]
result = {
    "train": len(train_data), "valid": len(valid_data), "test": len(test_data), "pool": len(pool),
    "overlap": len({t for t, _ in train_data} & {t for t, _ in valid_data}),
    "covered": len({t for t, _ in train_data} | {t for t, _ in valid_data}) == len(set(pool)),
    "test_is_test": [t for t, _ in test_data] == [t for t, _ in test_reviews],
}
"""


@pytest.fixture(scope="module")
def sizes(submission):
    return submission.run(SIZES, what="the sizes of train_data, valid_data and test_data", name="train_data")


@pytest.mark.question(Q, points=1)
def test_split_sizes(sizes):
    """train_data and valid_data are 70% and 30% of the training pool"""
    n_train, n_valid = split_sizes(sizes["pool"])
    assert (sizes["train"], sizes["valid"]) == (n_train, n_valid), (
        f"train_data has {sizes['train']:,} reviews and valid_data {sizes['valid']:,}; a 70/30 split of the "
        f"{sizes['pool']:,} training reviews gives {n_train:,} and {n_valid:,}")


@pytest.mark.question(Q, points=1)
def test_split_is_a_partition(sizes):
    """No review is in both train_data and valid_data, and none is lost"""
    assert sizes["overlap"] == 0, f"{sizes['overlap']} reviews are in both train_data and valid_data"
    assert sizes["covered"], "some training reviews are in neither train_data nor valid_data"


@pytest.mark.question(Q, points=0.5)
def test_test_data_is_the_test_split(sizes):
    """test_data is the test split"""
    assert sizes["test_is_test"], "test_data should be test_reviews, unchanged"
