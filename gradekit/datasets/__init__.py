"""Datasets for the course's assignments.

``sentiment``: a deterministic, generated movie-review corpus for the RNN sentiment assignment (no machine
here can download IMDB), whose labels depend on negation and word order, plus loaders for real IMDB (an
``aclImdb`` folder or the 50k-review CSV) when ``--data`` points at it.

``images``: a deterministic, generated ten-class 28x28 grayscale image set shaped like FashionMNIST for the
Vision Transformer assignment (no machine here can download FashionMNIST either), whose classes a small ViT
learns in a few seconds and a linear classifier on the pixels does not, plus a loader for real FashionMNIST
(torchvision's raw layout) when ``--data`` points at it, and a plain .npz format for sandboxed notebooks.
"""

from gradekit.datasets.images import (
    CLASSES,
    ImageSet,
    ImageSplits,
    bundled_images,
    fresh_images,
    generate_images,
    load_fashion_mnist,
    read_npz,
    to_float,
    write_npz,
)
from gradekit.datasets.sentiment import (
    DataError,
    Review,
    SentimentSplits,
    bundled_splits,
    fresh_reviews,
    generate_corpus,
    load_imdb,
    read_csv,
    split_sizes,
    write_csv,
)

__all__ = [
    "CLASSES",
    "DataError",
    "ImageSet",
    "ImageSplits",
    "Review",
    "SentimentSplits",
    "bundled_images",
    "bundled_splits",
    "fresh_images",
    "fresh_reviews",
    "generate_corpus",
    "generate_images",
    "load_fashion_mnist",
    "load_imdb",
    "read_csv",
    "read_npz",
    "split_sizes",
    "to_float",
    "write_csv",
    "write_npz",
]
