"""What the grading kernel sees for bert_gru_sentiment, and which local BERT it loads.

The notebook's `full_train_reviews` is the training pool (train + validation of the data set, so that its
70/30 split gives 17,500 / 7,500 on real IMDB), and `test_reviews` is the test split minus the reviews held
out for the learning check, whose labels never leave the host.
"""

from pathlib import Path

from gradekit.config import load_assignment
from gradekit.datasets.sentiment import bundled_splits, load_imdb, write_csv
from gradekit.offline import bert_path


def settings() -> dict:
    return load_assignment("bert_gru_sentiment", Path(__file__).resolve().parents[2]).settings


def splits(data: Path | None):
    return load_imdb(data) if data is not None else bundled_splits()


def held_out(s) -> list:
    return s.test[: int(settings()["learn_test_reviews"])]


def prepare(workdir: Path, data: Path | None) -> None:
    s = splits(data)
    folder = Path(workdir) / "data" / "bert_gru_sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(s.train + s.valid, folder / "train.csv")
    write_csv(s.test[len(held_out(s)):], folder / "test.csv")


def setup_values(data: Path | None) -> dict:
    return {"GRADING_BERT_PATH": str(bert_path(settings()["bert"]))}


def readable(data: Path | None) -> list[Path]:
    """What the kernel must read beyond the interpreter: the BERT it loads. A Hugging Face cache snapshot is a
    folder of symlinks into the model's `blobs/`, so the model's whole cache folder is mounted."""
    path = bert_path(settings()["bert"])
    repo = path.parents[1] if path.parent.name == "snapshots" else path
    return [repo]
