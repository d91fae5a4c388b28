"""What the grading kernel sees for vit_fashion_mnist: training images and the notebook's own test images as
.npz arrays (a data-only format). The images held out for the learning check stay on the host with their labels."""

from pathlib import Path

from gradekit.config import load_assignment
from gradekit.datasets.images import ImageSet, bundled_images, load_fashion_mnist, write_npz


def settings() -> dict:
    return load_assignment("vit_fashion_mnist", Path(__file__).resolve().parents[2]).settings


def splits(data: Path | None):
    n_held_out = int(settings()["learn_test_images"])
    return load_fashion_mnist(data) if data is not None else bundled_images(n_train=2000, n_test=n_held_out + 400)


def held_out(s) -> ImageSet:
    n = int(settings()["learn_test_images"])
    return ImageSet(s.test.images[:n], s.test.labels[:n])


def prepare(workdir: Path, data: Path | None) -> None:
    s = splits(data)
    n = int(settings()["learn_test_images"])
    folder = Path(workdir) / "data" / "vit_fashion_mnist"
    folder.mkdir(parents=True, exist_ok=True)
    write_npz(s.train, folder / "train.npz")
    write_npz(ImageSet(s.test.images[n:], s.test.labels[n:]), folder / "test.npz")
