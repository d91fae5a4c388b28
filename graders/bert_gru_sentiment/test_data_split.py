"""Q1b: a 70/30 train/validation split of the whole training pool, disjoint, the test set untouched, and the split
the notebook prescribes: shuffled with random.Random(SEED).

The shuffle is deterministic, so the graders reproduce it on the host from the pool as they wrote it for the kernel
(workspace.training_pool) and compare which reviews went to train_data. Every ordinary way of writing it gives the
same split: shuffling a copy, the list in place, or a list of indices; random.seed(SEED) then random.shuffle;
random.Random(SEED).sample of the whole pool or of the training part; train_data taken from the front of the
shuffled list or from its end. A split that does not shuffle (whose validation set, on IMDB, holds one class) or
shuffles with another seed gives other reviews."""

import hashlib
import math
import random
from collections import Counter

import pytest

from gradekit.datasets.sentiment import split_sizes

from . import workspace

Q = "data_split"

SIZES = """
import hashlib
pool = [text for text, _ in full_train_reviews]
result = {
    "train": len(train_data), "valid": len(valid_data), "test": len(test_data), "pool": len(pool),
    "overlap": len({t for t, _ in train_data} & {t for t, _ in valid_data}),
    "covered": len({t for t, _ in train_data} | {t for t, _ in valid_data}) == len(set(pool)),
    "test_is_test": [t for t, _ in test_data] == [t for t, _ in test_reviews],
    "train_digests": [hashlib.sha256(str(t).encode()).hexdigest()[:16] for t, _ in train_data],
}
"""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prescribed_trains(pool: list[str], seed: int, n_train: int) -> dict[str, Counter]:
    """{how: the multiset of train_data's digests} for every ordinary way of writing the prescribed split."""
    n = len(pool)
    shuffled = list(range(n))
    random.Random(seed).shuffle(shuffled)
    sampled = random.Random(seed).sample(range(n), n)
    ways = {
        "shuffled, the first part": shuffled[:n_train],
        "shuffled, the last part": shuffled[n - n_train:],
        "sampled, the first part": sampled[:n_train],
        "sampled, the last part": sampled[n - n_train:],
        "the training part sampled": random.Random(seed).sample(range(n), n_train),
    }
    return {how: Counter(digest(pool[i]) for i in picked) for how, picked in ways.items()}


@pytest.fixture(scope="module")
def sizes(submission):
    return submission.run(SIZES, what="the sizes of train_data, valid_data and test_data", name="train_data")


@pytest.mark.question(Q, points=1)
def test_split_sizes(sizes):
    """train_data and valid_data are 70% and 30% of the training pool"""
    n_train, n_valid = split_sizes(sizes["pool"])
    # 70% of a pool whose tenth is not whole may be rounded either way (int(0.7 * n) or round(0.7 * n)).
    allowed = {math.floor(7 * sizes["pool"] / 10), math.ceil(7 * sizes["pool"] / 10)}
    assert sizes["train"] in allowed and sizes["train"] + sizes["valid"] == sizes["pool"], (
        f"train_data has {sizes['train']:,} reviews and valid_data {sizes['valid']:,}; a 70/30 split of the "
        f"{sizes['pool']:,} training reviews gives {n_train:,} and {n_valid:,}")


@pytest.mark.question(Q, points=1)
def test_split_is_a_partition(sizes):
    """No review is in both train_data and valid_data, and none is lost"""
    assert sizes["overlap"] == 0, f"{sizes['overlap']} reviews are in both train_data and valid_data"
    assert sizes["covered"], "some training reviews are in neither train_data nor valid_data"


@pytest.mark.question(Q, points=1)
def test_split_is_shuffled_with_the_seed(sizes, splits, settings):
    """train_data holds the reviews that shuffling with random.Random(SEED) puts there"""
    pool = [r.text for r in workspace.training_pool(splits)]
    seed = int(settings["split_seed"])
    digests = sizes["train_digests"]
    if not (isinstance(digests, list) and all(isinstance(d, str) for d in digests)):
        pytest.fail("train_data's reviews could not be read back; it should be a list of (text, label) pairs")
    got = Counter(digests)
    # Judged on train_data's reviews whatever its size (a wrong size is test_split_sizes's to charge).
    if got in prescribed_trains(pool, seed, len(digests)).values():
        return
    n = len(digests)
    if got in (Counter(digest(t) for t in pool[:n]), Counter(digest(t) for t in pool[len(pool) - n:])):
        pytest.fail("train_data is a slice of full_train_reviews in its original order: the reviews are not "
                    "shuffled, so on IMDB (positive reviews first, then negative) valid_data would hold one class. "
                    "Shuffle a copy with random.Random(SEED).shuffle(...) before splitting")
    pytest.fail(f"train_data does not hold the reviews that shuffling with random.Random(SEED) (SEED = {seed}) puts "
                "there: shuffle a copy of full_train_reviews once with random.Random(SEED).shuffle(...), then take "
                "the first 70% for train_data and the rest for valid_data")


@pytest.mark.question(Q, points=0.5)
def test_test_data_is_the_test_split(sizes):
    """test_data is the test split"""
    assert sizes["test_is_test"], "test_data should be test_reviews, unchanged"
