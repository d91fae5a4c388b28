"""Datasets for the course's assignments.

``sentiment``: a deterministic, generated movie-review corpus for the RNN sentiment assignment (no machine
here can download IMDB), whose labels depend on negation and word order, plus loaders for real IMDB (an
``aclImdb`` folder or the 50k-review CSV) when ``--data`` points at it.
"""

from gradekit.datasets.sentiment import (
    DataError,
    Review,
    SentimentSplits,
    bundled_splits,
    generate_corpus,
    load_imdb,
    read_csv,
    split_sizes,
    write_csv,
)

__all__ = [
    "DataError",
    "Review",
    "SentimentSplits",
    "bundled_splits",
    "generate_corpus",
    "load_imdb",
    "read_csv",
    "split_sizes",
    "write_csv",
]
