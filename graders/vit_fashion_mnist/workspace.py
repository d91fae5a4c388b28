"""What the grading kernel sees for vit_fashion_mnist: training images and the notebook's own test images as
.npz arrays (a data-only format). The images held out for the learning check are drawn per grading run from a
seed the kernel never sees, and stay on the host with their labels: fresh generated images (none of them one the
notebook has) with the bundled data; with real FashionMNIST (--data) a random part of a pool carved out of its
test split, which the notebook's test set leaves out."""

import random
from pathlib import Path

from gradekit.config import load_assignment
from gradekit.datasets.images import ImageSet, bundled_images, fresh_images, load_fashion_mnist, write_npz


def settings() -> dict:
    return load_assignment("vit_fashion_mnist", Path(__file__).resolve().parents[2]).settings


def splits(data: Path | None):
    return load_fashion_mnist(data) if data is not None else bundled_images(n_train=2000, n_test=400)


def pool_size(s) -> int:
    """How many of real data's test images are held out: learn_held_out_pool, or half of a smaller test split (but
    never fewer than one run draws)."""
    n_run, pool = int(settings()["learn_test_images"]), int(settings()["learn_held_out_pool"])
    return min(len(s.test), max(n_run, min(pool, len(s.test) // 2)))


def notebook_test(s, data: Path | None) -> ImageSet:
    """The test images the notebook gets: all of the bundled test split; real data's minus the held-out pool."""
    if data is None:
        return s.test
    n = pool_size(s)
    return ImageSet(s.test.images[n:], s.test.labels[n:])


def held_out(s, data: Path | None, secret: int) -> ImageSet:
    """This run's held-out images; `secret` must never reach the kernel."""
    n = int(settings()["learn_test_images"])
    if data is None:
        return fresh_images(n, secret, exclude=(s.train, s.test))
    picked = sorted(random.Random(secret).sample(range(pool_size(s)), min(n, pool_size(s))))
    return ImageSet(s.test.images[picked], s.test.labels[picked])


def prepare(workdir: Path, data: Path | None) -> None:
    s = splits(data)
    folder = Path(workdir) / "data" / "vit_fashion_mnist"
    folder.mkdir(parents=True, exist_ok=True)
    write_npz(s.train, folder / "train.npz")
    write_npz(notebook_test(s, data), folder / "test.npz")
