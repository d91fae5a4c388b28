"""What the grading kernel's scratch folder holds for rnn_experiments: one CSV of reviews in the 50k IMDB layout
(`review,sentiment`), which the notebook splits 7:1:2 itself. The held-out reviews of the learning check are
not in it; their texts are sent in by that check and their labels never leave the host.

With --data (real IMDB) the CSV holds the first `data_reviews` of its train and validation reviews, so that the
notebook's own study, and the graders' re-run of it, stay within the grading budget."""

from pathlib import Path

from gradekit.config import load_assignment
from gradekit.datasets.sentiment import Review, SentimentSplits, bundled_splits, load_imdb, write_csv


def settings() -> dict:
    return load_assignment("rnn_experiments", Path(__file__).resolve().parents[2]).settings


def splits(data: Path | None) -> SentimentSplits:
    return load_imdb(data) if data is not None else bundled_splits()


def pool(s: SentimentSplits) -> list[Review]:
    """The reviews the notebook reads (and splits into its own train, validation and test)."""
    return (s.train + s.valid)[: int(settings()["data_reviews"])]


def held_out(s: SentimentSplits) -> list[Review]:
    """Reviews the notebook never sees, for the learning check."""
    return s.test[: int(settings()["learn_test_reviews"])]


def prepare(workdir: Path, data: Path | None) -> None:
    folder = Path(workdir) / "data" / "rnn_experiments"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(pool(splits(data)), folder / "reviews.csv")
