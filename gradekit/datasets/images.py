"""A deterministic ten-class 28x28 image set for the Vision Transformer assignment, and a loader for the real
FashionMNIST.

No machine the course grades on can download FashionMNIST, so the ViT assignment trains and is graded on
images this module draws from a fixed seed; ``--data`` can point :func:`load_fashion_mnist` at a real
FashionMNIST folder (torchvision's raw layout) instead. The generated set has FashionMNIST's shape: uint8
grayscale 28x28 images, bright on a dark background, int64 labels 0-9 named like FashionMNIST's
(:data:`CLASSES`). The names are labels only: the pictures are procedural shapes, not clothes.

Why the images are drawn the way they are. The grader trains the student's small ViT (patch size 4, dim 64,
depth 2-6, 4 heads) for a few seconds of CPU, about 2 epochs over 2,000 images, and scores it on held-out
images, so the set has to do two things at once:

* be learnable in 40 optimiser steps. Early in training a ViT behaves much like a classifier on the average
  of its patch tokens, so every class has its own *local* signature, visible in single 4x4 patches: strokes
  in one of four orientations (three parallel strokes: horizontal, vertical, falling "\\" and rising "/"),
  two concentric rings (curved strokes), a 3x3 lattice of dots, a diamond outline (both diagonals, meeting
  at corners), a filled ellipse (flat bright areas), a checkerboard (fine texture) and a hash sign
  (horizontal and vertical strokes crossing). Each class is also a distinct global shape, so a TA can tell
  them apart at a glance. Closed outlines are the hardest pair: a single ring was often taken for the
  diamond, two rings much less.
* make a patch-based model worth having: a linear classifier on raw pixels must do clearly worse. Every
  shape is moved by up to 5 pixels in each direction (about a stroke spacing, so no fixed pixel template
  matches), tilted by up to about 11 degrees and scaled by 0.85-1.15, with random stroke thickness (1.6-3
  pixels), brightness, pixel noise, and a faint distractor stroke in about a third of the images. On the
  bundled splits the small ViT (depth 2) reaches about 0.9 test accuracy after 2 epochs of Adam, logistic
  regression on the pixels, trained to convergence, under 0.5 (tests/test_datasets_images.py measures both).

Determinism. All randomness comes from one ``numpy.random.default_rng(seed)`` (PCG64) and only from its
``random()`` doubles, which NumPy produces the same way on every platform; drawing uses only operations IEEE
754 rounds exactly (+, -, *, /, sqrt, floor, min/max), never exp/sin/cos, whose last bit varies between
math libraries. So an (n, seed) pair gives the same bytes on every machine; a pinned digest in the tests
says when that breaks.

torch is imported inside the functions that need it: ``gradekit.datasets`` is also imported by graders and
tools that never touch images, and importing torch costs over a second.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gradekit.datasets.sentiment import DataError

if TYPE_CHECKING:
    import torch

__all__ = [
    "CLASSES",
    "ImageSet",
    "ImageSplits",
    "bundled_images",
    "fresh_images",
    "generate_images",
    "load_fashion_mnist",
    "read_npz",
    "to_float",
    "write_npz",
]

# FashionMNIST's names, as labels only. Generated, they are drawn as: T-shirt/top three horizontal strokes,
# Trouser three vertical strokes, Pullover two concentric rings, Dress three strokes like a backslash, Coat
# three like a slash, Sandal a 3x3 lattice of dots, Shirt a diamond outline, Sneaker a filled ellipse, Bag a
# checkerboard square, Ankle boot a hash sign.
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")

_SIZE = 28
_MEAN, _STD = 0.1307, 0.3081  # the seed notebook's transforms.Normalize((0.1307,), (0.3081,))


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8 (N, 28, 28), 0 = black
    labels: torch.Tensor  # int64 (N,), 0-9, indices into CLASSES

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class ImageSplits:
    train: ImageSet
    test: ImageSet


# --------------------------------------------------------------------------------------------------------
# Drawing. Every function works on a batch: per-image parameters have shape (m, 1, 1) and broadcast against
# the (28, 28) pixel grid. A shape is drawn in its own coordinates (u, v): the image's pixel coordinates
# moved to the shape's centre, tilted and divided by its scale, so distances come out in the shape's units
# and ``* scale`` turns them back into pixels.

_ROW, _COL = np.mgrid[0:_SIZE, 0:_SIZE].astype(np.float64)  # pixel centres
_HALF = np.sqrt(0.5)  # cos 45 degrees; sqrt is correctly rounded, so the same bits everywhere
_TURN = {"horizontal": (1.0, 0.0), "vertical": (0.0, 1.0), "falling": (_HALF, _HALF), "rising": (_HALF, -_HALF)}

_Params = dict[str, np.ndarray]


def _stroke(distance: np.ndarray, p: _Params) -> np.ndarray:
    """Ink (0-1) of a stroke of the image's thickness, given the distance (shape units) to its centre line;
    one pixel of anti-aliasing at the edge."""
    return np.clip(p["thickness"] / 2 - distance * p["scale"] + 0.5, 0.0, 1.0)


def _fill(inside: np.ndarray, p: _Params) -> np.ndarray:
    """Ink of a filled region, given a signed distance (shape units) to its edge, positive inside."""
    return np.clip(inside * p["scale"] + 0.5, 0.0, 1.0)


def _bar(u: np.ndarray, v: np.ndarray, half_length: np.ndarray, offset: np.ndarray | float) -> np.ndarray:
    """Distance to the horizontal segment from (-half_length, offset) to (half_length, offset)."""
    du = np.maximum(np.abs(u) - half_length, 0.0)
    dv = v - offset
    return np.sqrt(du * du + dv * dv)


def _bars(u: np.ndarray, v: np.ndarray, p: _Params, direction: str, count: int, length: float = 1.0) -> np.ndarray:
    """``count`` parallel strokes, ``p["gap"]`` apart, turned to ``direction``."""
    c, s = _TURN[direction]
    a, b = c * u + s * v, c * v - s * u
    ink = np.zeros(np.broadcast_shapes(u.shape, v.shape))
    for i in range(count):
        ink = np.maximum(ink, _stroke(_bar(a, b, p["length"] * length, (i - (count - 1) / 2) * p["gap"]), p))
    return ink


def _rings(u: np.ndarray, v: np.ndarray, p: _Params) -> np.ndarray:
    r = np.sqrt(u * u + v * v)
    return np.maximum(_stroke(np.abs(r - p["radius"]), p), _stroke(np.abs(r - p["radius"] * p["inner"]), p))


def _dots(u: np.ndarray, v: np.ndarray, p: _Params) -> np.ndarray:
    ink = np.zeros(u.shape)
    for i in range(9):
        du = u - ((i % 3 - 1) * p["spacing"] + p[f"du{i}"])
        dv = v - ((i // 3 - 1) * p["spacing"] + p[f"dv{i}"])
        ink = np.maximum(ink, _fill(p["dot"] - np.sqrt(du * du + dv * dv), p))
    return ink


def _diamond(u: np.ndarray, v: np.ndarray, p: _Params) -> np.ndarray:
    return _stroke(np.abs(np.abs(u) + np.abs(v) - p["size"]) * _HALF, p)


def _ellipse(u: np.ndarray, v: np.ndarray, p: _Params) -> np.ndarray:
    a, b = u / p["rx"], v / p["ry"]
    return _fill((1.0 - np.sqrt(a * a + b * b)) * np.minimum(p["rx"], p["ry"]), p)


def _checkerboard(u: np.ndarray, v: np.ndarray, p: _Params) -> np.ndarray:
    cells = np.floor(u / p["cell"]) + np.floor(v / p["cell"])
    white = cells - 2.0 * np.floor(cells / 2.0)  # 0 or 1, alternating
    return white * _fill(p["size"] - np.maximum(np.abs(u), np.abs(v)), p)


def _hash(u: np.ndarray, v: np.ndarray, p: _Params) -> np.ndarray:
    return np.maximum(_bars(u, v, p, "horizontal", 2), _bars(u, v, p, "vertical", 2))


@dataclass(frozen=True)
class _Shape:
    params: tuple[tuple[str, float, float], ...]  # (name, low, high), drawn uniformly per image, in order
    draw: Callable[[np.ndarray, np.ndarray, _Params], np.ndarray]


_STROKES = (("length", 7.0, 10.0), ("gap", 4.0, 5.5))
_DOT_JITTER = tuple((f"{axis}{i}", -0.7, 0.7) for i in range(9) for axis in ("du", "dv"))

# One per class, in CLASSES order.
_SHAPES = (
    _Shape(_STROKES, lambda u, v, p: _bars(u, v, p, "horizontal", 3)),  # three horizontal strokes
    _Shape(_STROKES, lambda u, v, p: _bars(u, v, p, "vertical", 3)),  # three vertical strokes
    _Shape((("radius", 6.5, 9.5), ("inner", 0.4, 0.5)), _rings),  # two concentric rings
    _Shape(_STROKES, lambda u, v, p: _bars(u, v, p, "falling", 3, 0.85)),  # three strokes like a backslash
    _Shape(_STROKES, lambda u, v, p: _bars(u, v, p, "rising", 3, 0.85)),  # three strokes like a slash
    _Shape((("spacing", 5.0, 6.5), ("dot", 1.5, 2.3)) + _DOT_JITTER, _dots),  # a 3x3 lattice of dots
    _Shape((("size", 6.0, 9.5),), _diamond),  # a diamond outline
    _Shape((("rx", 4.5, 9.0), ("ry", 4.5, 9.0)), _ellipse),  # a filled ellipse
    _Shape((("size", 5.5, 9.0), ("cell", 2.0, 3.0)), _checkerboard),  # a checkerboard square
    _Shape(_STROKES, _hash),  # a hash sign: two horizontal and two vertical strokes
)

# Drawn for every image, before its shape's own parameters.
_COMMON = (
    ("dx", -5.0, 5.0), ("dy", -5.0, 5.0),  # shift of the centre, pixels
    ("tilt", -0.2, 0.2),  # tangent of the tilt angle: up to about 11 degrees
    ("scale", 0.85, 1.15),
    ("thickness", 1.6, 3.0),  # pixels
    ("brightness", 0.55, 1.0),
    ("noise", 0.03, 0.15),  # amplitude of the pixel noise
    ("distractor", 0.0, 1.0),  # below _DISTRACTOR_P: the image gets a faint stray stroke
    ("x0", 2.0, 26.0), ("y0", 2.0, 26.0), ("x1", -7.0, 7.0), ("y1", -7.0, 7.0),  # its start, its offset
    ("faint", 0.3, 0.7),  # its brightness
)
_DISTRACTOR_P = 0.3
_CHUNK = 512  # images drawn at once: bounds memory for large n


def _draw_params(rng: np.random.Generator, names: tuple[tuple[str, float, float], ...], m: int) -> _Params:
    return {name: (low + (high - low) * rng.random(m))[:, None, None] for name, low, high in names}


def _render(shape: _Shape, p: _Params, rng: np.random.Generator) -> np.ndarray:
    """The images (m, 28, 28), floats in [0, 1], for one class's parameters ``p``."""
    m = len(p["dx"])
    t = p["tilt"]
    c = 1.0 / np.sqrt(1.0 + t * t)
    s = t * c
    x = _COL - (_SIZE - 1) / 2 - p["dx"]
    y = _ROW - (_SIZE - 1) / 2 - p["dy"]
    u, v = (c * x + s * y) / p["scale"], (c * y - s * x) / p["scale"]
    ink = shape.draw(u, v, p) * p["brightness"]

    stray = {"thickness": np.full((m, 1, 1), 1.2), "scale": np.ones((m, 1, 1))}
    sx, sy = p["x1"], p["y1"]
    along = np.clip(((_COL - p["x0"]) * sx + (_ROW - p["y0"]) * sy) / np.maximum(sx * sx + sy * sy, 1e-9), 0.0, 1.0)
    du, dv = _COL - p["x0"] - along * sx, _ROW - p["y0"] - along * sy
    distractor = _stroke(np.sqrt(du * du + dv * dv), stray) * p["faint"] * (p["distractor"] < _DISTRACTOR_P)
    ink = np.maximum(ink, distractor)

    noise = rng.random((2, m, _SIZE, _SIZE))
    return np.clip(ink + (noise[0] + noise[1] - 1.0) * p["noise"], 0.0, 1.0)


def generate_images(n: int, seed: int = 0) -> ImageSet:
    """``n`` generated images in random order, balanced: ``n // 10`` per class, and one more for each of the
    first ``n % 10`` classes. The same bytes for the same (n, seed) on any machine; the global random state
    of numpy and torch is neither used nor changed."""
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)
    counts = [n // 10 + (k < n % 10) for k in range(10)]
    labels = np.repeat(np.arange(10, dtype=np.int64), counts)[np.argsort(rng.random(n), kind="stable")]
    images = np.zeros((n, _SIZE, _SIZE), dtype=np.uint8)
    for k, shape in enumerate(_SHAPES):
        where = np.flatnonzero(labels == k)
        p = _draw_params(rng, _COMMON + shape.params, len(where))
        for start in range(0, len(where), _CHUNK):
            part = {name: value[start:start + _CHUNK] for name, value in p.items()}
            images[where[start:start + _CHUNK]] = np.floor(_render(shape, part, rng) * 255.0 + 0.5)
    return ImageSet(images=torch.from_numpy(images), labels=torch.from_numpy(labels))


def bundled_images(n_train: int = 2000, n_test: int = 600, seed: int = 0) -> ImageSplits:
    """The default grading data: a train and a test set drawn with different seeds (``2 * seed`` and
    ``2 * seed + 1``, so no two bundles share a set either)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return ImageSplits(train=generate_images(n_train, 2 * seed), test=generate_images(n_test, 2 * seed + 1))


def fresh_images(n: int, seed: int, exclude: tuple[ImageSet, ...] = ()) -> ImageSet:
    """``n`` generated images (balanced as :func:`generate_images`) none of which is, byte for byte, one of
    ``exclude``'s. For held-out sets drawn per grading run from a seed the student's kernel never sees (pixel
    noise makes a repeat all but impossible; should one occur, the next seed is drawn)."""
    seen = {bytes(image.numpy().tobytes()) for split in exclude for image in split.images}
    while True:
        drawn = generate_images(n, seed)
        if not any(image.numpy().tobytes() in seen for image in drawn.images):
            return drawn
        seed += 1


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, 28, 28) as the model input the seed notebook builds: float32 (N, 1, 28, 28), scaled to
    [0, 1] and normalised with mean 0.1307 and std 0.3081, as ``ToTensor()`` then ``Normalize((0.1307,),
    (0.3081,))`` do image by image."""
    import torch

    if not isinstance(images, torch.Tensor):
        raise ValueError(f"to_float expects a uint8 tensor (N, H, W), got a {type(images).__name__}")
    if images.dtype != torch.uint8 or images.dim() != 3:
        raise ValueError(f"to_float expects a uint8 tensor (N, H, W), got a {images.dtype} tensor of shape "
                         f"{tuple(images.shape)}")
    mean = torch.tensor(_MEAN, dtype=torch.float32)
    std = torch.tensor(_STD, dtype=torch.float32)
    return images.to(torch.float32).div(255).sub(mean).div(std).unsqueeze(1)


# --------------------------------------------------------------------------------------------------------
# .npz: what a sandboxed notebook reads. Plain arrays only, so reading never unpickles anything.


def write_npz(split: ImageSet, path: str | Path) -> None:
    """Write ``split`` to ``path`` (exactly that name: no ``.npz`` is appended) as arrays ``images`` (uint8
    (N, H, W)) and ``labels`` (int64 (N,))."""
    images = split.images.detach().cpu().numpy()
    labels = split.labels.detach().cpu().numpy()
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"images must be uint8 (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"labels must be (N,) with N = {len(images)}, got shape {labels.shape}")
    with open(path, "wb") as f:
        np.savez(f, images=images, labels=labels.astype(np.int64))


def read_npz(path: str | Path) -> ImageSet:
    """Read what :func:`write_npz` wrote. Never unpickles: a file holding Python objects is refused. Raises
    :class:`DataError` naming the file and what was expected when it is not such a file."""
    import torch

    path = Path(path)
    expected = "an .npz with arrays 'images' (uint8, N x H x W) and 'labels' (integers 0-9, N), as write_npz writes"
    refused = f"{path} holds pickled Python objects, which are not loaded (allow_pickle=False); expected {expected}"
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"image file not found: {path}; expected {expected}") from None
    except OSError as e:
        raise DataError(f"{path} could not be read ({e.strerror or e}); expected {expected}") from None
    except (ValueError, EOFError, zipfile.BadZipFile) as e:  # numpy tries pickle last, and allow_pickle=False
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic == b"\x93NUMPY" and "allow_pickle" in str(e):  # a .npy holding an object array
            raise DataError(refused) from None
        if magic.startswith(b"PK"):  # a zip, as .npz files are, but numpy could not open it
            raise DataError(f"{path} is a damaged or truncated .npz file ({e}); write it again") from None
        raise DataError(f"{path} is not an .npz file; expected {expected}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds a single .npy array, not an .npz; expected {expected}")
    with data:
        missing = [name for name in ("images", "labels") if name not in data.files]
        if missing:
            raise DataError(f"{path} has no {' or '.join(repr(m) for m in missing)} array (it has "
                            f"{', '.join(repr(f) for f in data.files) or 'none'}); expected {expected}")
        try:
            images, labels = data["images"], data["labels"]
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise DataError(refused) from None
            raise DataError(f"{path} is damaged ({e}); expected {expected}") from None
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise DataError(f"{path} is damaged ({e}); expected {expected}") from None
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{path}: 'images' is {images.dtype} with shape {images.shape}; expected uint8 (N, H, W)")
    if labels.dtype.kind not in "iu" or labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{path}: 'labels' is {labels.dtype} with shape {labels.shape}; expected {len(images)} "
                        f"integers, one per image")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DataError(f"{path}: 'labels' run from {labels.min()} to {labels.max()}; expected class indices 0-9")
    return ImageSet(images=torch.from_numpy(images), labels=torch.from_numpy(labels.astype(np.int64)))


# --------------------------------------------------------------------------------------------------------
# Real FashionMNIST, in torchvision's raw layout: <root>/FashionMNIST/raw/<the four idx files>.

_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte")
_EXPECTED = ("a folder holding FashionMNIST/raw/ with " + ", ".join(f"{name}[.gz]" for name in _RAW_FILES)
             + " (torchvision's layout: pass the folder that contains FashionMNIST/, or FashionMNIST/ itself)")


def _present(folder: Path) -> dict[str, Path]:
    """The raw files in ``folder``, by name, the unpacked file preferred over the .gz."""
    found = {}
    for name in _RAW_FILES:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                found[name] = candidate
                break
    return found


def _raw_folder(path: Path) -> Path:
    """Where the raw files are: <path>/FashionMNIST/raw, <path>/raw for the FashionMNIST folder itself, or
    ``path`` when it holds the files directly (the raw folder, or a folder of the four .gz downloads)."""
    candidates = [path / "FashionMNIST" / "raw"]
    if path.name == "FashionMNIST":
        candidates.append(path / "raw")
    candidates.append(path)
    for folder in candidates:
        if folder.is_dir() and _present(folder):
            if "MNIST" in (folder.name, folder.parent.name):
                raise DataError(f"{folder} is the MNIST digits folder, not FashionMNIST (both use the same file "
                                f"names); expected {_EXPECTED}")
            return folder
    for folder in candidates[:-1]:
        if folder.is_dir():  # the layout is there but empty, e.g. after a download that failed
            return folder
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    holds = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "") if entries else "nothing"
    hint = ""
    if "MNIST/" in entries:
        hint = " (MNIST/ is the digits set, not FashionMNIST)"
    elif any(e.endswith((".tar.gz", ".tgz", ".zip")) for e in entries):
        hint = " (extract the archive first)"
    raise DataError(f"FashionMNIST data not found at {path}: it holds {holds}{hint}; expected {_EXPECTED}")


def _check_idx(name: str, file: Path) -> None:
    """Raise DataError, naming ``file``, unless it starts with the idx header of unsigned bytes (two zero
    bytes, 0x08, the number of dimensions, then each dimension as a big-endian int32) and, unpacked, is as
    long as that header says. Catches HTML error pages saved as downloads and cut-short files, which torchvision
    reports without saying which file it was reading."""
    dims = 3 if "-images-" in name else 1
    packed = file.name.endswith(".gz")
    try:
        with (gzip.open(file, "rb") if packed else open(file, "rb")) as f:
            header = f.read(4 + 4 * dims)
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"FashionMNIST file {file} could not be read ({e}); download it again") from None
    if len(header) < 4 + 4 * dims or header[:4] != bytes([0, 0, 0x08, dims]):
        raise DataError(f"FashionMNIST file {file} is not an idx file of {dims}-dimensional unsigned bytes (it "
                        f"starts with {header[:8]!r}); a download may have saved an error page: download it again")
    if not packed:
        shape = [int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
        size = 4 + 4 * dims + int(np.prod(shape))
        if file.stat().st_size != size:
            raise DataError(f"FashionMNIST file {file} is {file.stat().st_size} bytes, but its header announces "
                            f"{' x '.join(map(str, shape))} values ({size} bytes): it is truncated or damaged; "
                            f"download it again")


def _load_split(root: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import FashionMNIST

    ds = FashionMNIST(str(root), train=train, download=False)
    return ds.data, ds.targets


def load_fashion_mnist(root: str | Path) -> ImageSplits:
    """Real FashionMNIST: train (60,000) and test (10,000) as uint8 images (N, 28, 28) and int64 labels.

    ``root`` is the folder that contains ``FashionMNIST/raw/`` (what ``torchvision.datasets.FashionMNIST``
    takes), the ``FashionMNIST`` folder itself, or a folder holding the four files directly. The files may be
    unpacked or ``.gz``; .gz files are unpacked into a temporary folder, never next to the originals, and the
    data is read by torchvision with ``download=False``. Raises :class:`DataError`, naming the path and the
    expected files, when the data is not there or cannot be read.
    """
    import torch

    path = Path(root).expanduser()
    if not path.exists():
        raise DataError(f"FashionMNIST data not found at {path}: no such folder; expected {_EXPECTED}")
    if not path.is_dir():
        raise DataError(f"FashionMNIST data at {path} is a file, not a folder; expected {_EXPECTED}")
    raw = _raw_folder(path)
    files = _present(raw)
    missing = [name for name in _RAW_FILES if name not in files]
    if missing:
        raise DataError(f"FashionMNIST folder {raw} is incomplete: missing "
                        f"{', '.join(f'{name}[.gz]' for name in missing)}; expected {_EXPECTED}")
    for name, file in files.items():
        _check_idx(name, file)
    in_place = raw.name == "raw" and raw.parent.name == "FashionMNIST" and not any(
        f.name.endswith(".gz") for f in files.values())
    try:
        if in_place:  # torchvision reads it where it is
            splits = [_load_split(raw.parent.parent, train) for train in (True, False)]
        else:  # stage torchvision's layout elsewhere: never write next to the user's data
            with tempfile.TemporaryDirectory(prefix="gradekit-fashion-mnist-") as tmp:
                staged = Path(tmp) / "FashionMNIST" / "raw"
                staged.mkdir(parents=True)
                for name, file in files.items():
                    if file.name.endswith(".gz"):
                        with gzip.open(file, "rb") as src, open(staged / name, "wb") as dst:
                            shutil.copyfileobj(src, dst)
                    else:
                        try:
                            os.symlink(file.resolve(), staged / name)
                        except OSError:
                            shutil.copyfile(file, staged / name)
                splits = [_load_split(Path(tmp), train) for train in (True, False)]
    except DataError:
        raise
    except Exception as e:  # torchvision asserts on a bad header; gzip, reshape and I/O fail in their own ways
        reason = f"{type(e).__name__}: {str(e) or 'bad header'}"
        raise DataError(f"FashionMNIST files in {raw} could not be read ({reason}); they may be truncated or not "
                        f"idx files: download them again; expected {_EXPECTED}") from e

    out = []
    for (images, labels), part in zip(splits, ("train", "t10k"), strict=True):
        if images.dtype != torch.uint8 or images.dim() != 3 or tuple(images.shape[1:]) != (_SIZE, _SIZE):
            raise DataError(f"FashionMNIST file {raw / f'{part}-images-idx3-ubyte'} holds {images.dtype} images of "
                            f"shape {tuple(images.shape)}; expected uint8 28x28 images")
        if len(labels) != len(images):
            raise DataError(f"FashionMNIST files {part}-images-idx3-ubyte and {part}-labels-idx1-ubyte in {raw} "
                            f"disagree: {len(images)} images but {len(labels)} labels; download them again")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
            raise DataError(f"FashionMNIST file {raw / f'{part}-labels-idx1-ubyte'} has labels outside 0-9 "
                            f"(from {int(labels.min())} to {int(labels.max())})")
        out.append(ImageSet(images=images.contiguous(), labels=labels.to(torch.int64)))
    return ImageSplits(train=out[0], test=out[1])

