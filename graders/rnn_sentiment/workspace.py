"""What the grading kernel's scratch folder holds for rnn_sentiment: the training and validation reviews the
notebook reads. The held-out test reviews stay on the host; their texts are sent in by the learning check and
their labels never leave the host."""

from pathlib import Path

from gradekit.datasets.sentiment import bundled_splits, load_imdb, write_csv


def splits(data: Path | None):
    return load_imdb(data) if data is not None else bundled_splits()


def prepare(workdir: Path, data: Path | None) -> None:
    s = splits(data)
    folder = Path(workdir) / "data" / "rnn_sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(s.train, folder / "train.csv")
    write_csv(s.valid, folder / "valid.csv")
