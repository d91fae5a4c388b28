"""What the grading kernel sees for bert_gru_sentiment, and which local BERT it loads.

The notebook's `full_train_reviews` is the training pool (train + validation of the data set, so that its
70/30 split gives 17,500 / 7,500 on real IMDB), and `test_reviews` is the test split. The learning check's
held-out reviews come from a pool the notebook never gets (`held_out_pool`): with the bundled data, reviews
generated from a secret kept on the grading machine, none of them one the notebook has; with real IMDB the first
`learn_test_reviews` of its test split, which `test_reviews` then leaves out. Their labels never leave the host.
"""

from pathlib import Path

from gradekit.config import load_assignment
from gradekit.datasets.sentiment import Review, bundled_splits, fresh_reviews, load_imdb, write_csv
from gradekit.offline import bert_path


def settings() -> dict:
    return load_assignment("bert_gru_sentiment", Path(__file__).resolve().parents[2]).settings


def splits(data: Path | None):
    return load_imdb(data) if data is not None else bundled_splits()


def training_pool(s) -> list[Review]:
    """`full_train_reviews` as the notebook gets it, in this order (the data split's check reproduces its shuffle)."""
    return s.train + s.valid


def notebook_test(s, data: Path | None) -> list[Review]:
    return s.test if data is None else s.test[int(settings()["learn_test_reviews"]):]


def held_out_pool(s, data: Path | None, secret: int) -> list[Review]:
    """Reviews the notebook never gets, from which each grading run draws its held-out set. Real IMDB's test
    reviews are public, so a secret pool would protect nothing there; its reviews are also ten times longer, and
    their BERT features cached on disk as many times larger: its pool is just the part cut off `test_reviews`."""
    if data is None:
        return fresh_reviews(int(settings()["learn_held_out_pool"]), secret,
                             exclude=[*s.train, *s.valid, *s.test])
    return s.test[: int(settings()["learn_test_reviews"])]


def prepare(workdir: Path, data: Path | None) -> None:
    s = splits(data)
    folder = Path(workdir) / "data" / "bert_gru_sentiment"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(training_pool(s), folder / "train.csv")
    write_csv(notebook_test(s, data), folder / "test.csv")


def setup_values(data: Path | None) -> dict:
    return {"GRADING_BERT_PATH": str(bert_path(settings()["bert"]))}


def readable(data: Path | None) -> list[Path]:
    """What the kernel must read beyond the interpreter: the BERT it loads. A Hugging Face cache snapshot is a
    folder of symlinks into the model's `blobs/`, so the model's whole cache folder is mounted."""
    path = bert_path(settings()["bert"])
    repo = path.parents[1] if path.parent.name == "snapshots" else path
    return [repo]
