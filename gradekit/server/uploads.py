"""What the server accepts as an upload, decided before anything is stored: a notebook (read by the engine's own
loader, so the sentence is the one `grade check` would say), at most the course's size, and for the assignment
whose page it was sent from. A body past the size is refused as it streams in, never read whole into memory."""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gradekit.notebook import NotebookLoadError, load_notebook, notebook_assignment
from gradekit.server.course import Offering


class UploadRefused(Exception):
    """An upload that is not stored; the message is the sentence the student reads."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Accepted:
    data: bytes
    filename: str
    sha256: str


def too_large(limit: int) -> UploadRefused:
    return UploadRefused(f"The file is larger than {limit >> 20} MB, the most this server takes. Clear the notebook's "
                         "outputs (Kernel > Restart & Clear Output), save it and upload it again.", status=413)


class BodyLimit:
    """An ASGI `receive` that stops a request body at `limit` bytes: the rest is never read."""

    def __init__(self, receive, limit: int):  # noqa: ANN001 - ASGI's receive callable
        self.receive, self.limit, self.seen = receive, limit, 0

    async def __call__(self) -> dict:
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise too_large(self.limit)
        return message


def shown_name(filename: str) -> str:
    """The uploaded file's own name, without any folder, kept to characters safe in a path and a page."""
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(filename.replace("\\", "/")).name).strip(" .")
    return name[:120] or "notebook.ipynb"


def check_upload(data: bytes, filename: str, offering: Offering, limit: int) -> Accepted:
    name = shown_name(filename)
    if not data:
        raise UploadRefused("No file was chosen: pick your .ipynb notebook, then press Check or Submit.")
    if len(data) > limit:
        raise too_large(limit)
    if not name.lower().endswith(".ipynb"):
        raise UploadRefused(f"{name} is not a notebook: upload the .ipynb file you work in (File > Download as > "
                            "Notebook in Jupyter), not a PDF, a .py or an export.", status=415)
    with tempfile.TemporaryDirectory(prefix="gk-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            nb = load_notebook(path)
        except NotebookLoadError as exc:
            raise UploadRefused(str(exc), status=422) from None
    belongs = notebook_assignment(nb)
    if belongs is not None and belongs != offering.name:
        raise UploadRefused(f"{name} is the notebook of {belongs}, not of {offering.assignment.title} "
                            f"({offering.name}): upload it on {belongs}'s page, or upload this assignment's "
                            "notebook here.", status=422)
    return Accepted(data=data, filename=name, sha256=hashlib.sha256(data).hexdigest())
