"""What the host accepts from a kernel: the jupyter_client and nbclient adapters a KernelSession is built from.

Inside the kernel the student holds the session's signing key, so nothing a kernel sends is trusted: a message
that cannot be read is dropped and counted (`TolerantChannel`), zeromq refuses one over MAX_MESSAGE_BYTES before
allocating it (`LimitedKernelClient`), every message counts against the cell's output budget by its full size
and the grader's reply type is kept only while a grader's request runs (`CappedClient`), and the kernel's own
stdout and stderr keep only a short tail (`Tail`). `SandboxedKernelManager` starts the kernel inside the sandbox.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import threading
import time
import uuid
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from traitlets import Type, default

from gradekit.codec import MAX_BLOB_BYTES, REPLY_MIME
from gradekit.sandbox import Sandbox

# The largest message the host accepts from a kernel: a grading reply (its blob base64-encoded) fits.
MAX_MESSAGE_BYTES = 2 * MAX_BLOB_BYTES + (16 << 20)
# What a grader's request may bring back in all: its reply (a base64 blob and its JSON) and a little else.
REQUEST_OUTPUT_BYTES = MAX_MESSAGE_BYTES
STDIO_TAIL_BYTES = 64 << 10  # what the host keeps of the kernel's own stdout and stderr


class TolerantChannel(AsyncZMQSocketChannel):
    """A channel that drops a message it cannot read instead of failing the whole grading.

    Inside the kernel the student holds the session's signing key, so a message can be validly signed and
    still be junk: frames that are not JSON, JSON nested too deep to decode (RecursionError), a header that is
    not a dict. Each such message costs itself only; `dropped` counts them."""

    dropped = 0

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = None if deadline is None else int(max(0.0, deadline - time.monotonic()) * 1000)
            if not await self.socket.poll(wait):
                raise Empty
            frames = await self.socket.recv_multipart()
            try:
                _, message = self.session.feed_identities(frames)
                msg = self.session.deserialize(message)
                if _well_formed(msg):
                    return msg
            except Exception:  # noqa: BLE001 - whatever a forged message breaks, it is only that message
                pass
            self.dropped += 1


def _well_formed(msg: Any) -> bool:
    """The fields nbclient reads have the types it expects."""
    return (isinstance(msg, dict) and isinstance(msg.get("msg_type"), str)
            and all(isinstance(msg.get(k), dict) for k in ("header", "parent_header", "content", "metadata")))


class LimitedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse messages over MAX_MESSAGE_BYTES (zeromq drops them before
    allocating), and which counts iopub disconnections: that is how zeromq reports a dropped oversize message."""

    shell_channel_class = Type(TolerantChannel)
    iopub_channel_class = Type(TolerantChannel)
    stdin_channel_class = Type(TolerantChannel)
    control_channel_class = Type(TolerantChannel)

    def unreadable_messages(self) -> int:
        """How many messages were dropped as unreadable since the last call."""
        count = 0
        for channel in (self._shell_channel, self._iopub_channel, self._stdin_channel, self._control_channel):
            if isinstance(channel, TolerantChannel):
                count += channel.dropped
                channel.dropped = 0
        return count

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context

    def connect_iopub(self, identity: bytes | None = None) -> zmq.Socket:
        sock = super().connect_iopub(identity)
        address = f"inproc://gk-iopub-monitor-{uuid.uuid4().hex}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)
        self._monitor = zmq.Context.shadow(self.context.underlying).socket(zmq.PAIR)
        self._monitor.connect(address)
        return sock

    _monitor: zmq.Socket | None = None  # made by connect_iopub

    def close_monitor(self) -> None:
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None

    def stop_channels(self) -> None:
        """jupyter_client's own ends in `context.term()`, which waits for every socket on the context, the monitor's
        included (made on a shadow of it, which `destroy()` does not see): closed first, or a kernel that died
        while starting left its cleanup, and the grading, waiting forever."""
        self.close_monitor()
        super().stop_channels()

    expression: str | None = None

    def execute(self, code: str, silent: bool = False, store_history: bool = True,  # type: ignore[override]
                user_expressions: dict | None = None, allow_stdin: bool | None = None,
                stop_on_error: bool = True, **kwargs: Any) -> Any:
        """nbclient's execute, except that a pending `expression` is sent as a user expression of an empty
        cell: IPython evaluates those with plain `eval`, past the input transformers a notebook may have
        registered to rewrite (or blank) every later cell."""
        if self.expression is not None:
            code, user_expressions, store_history = "", {"gk": self.expression}, False
            self.expression = None
        return super().execute(code, silent, store_history, user_expressions, allow_stdin, stop_on_error,
                               **kwargs)

    def dropped_messages(self) -> int:
        """How many times the kernel was cut off for an oversize message since the last call. zeromq does not
        reconnect after that, so the iopub channel is opened afresh."""
        count = 0
        monitor = getattr(self, "_monitor", None)
        while monitor is not None:
            try:
                monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            count += 1
        if count and self._iopub_channel is not None:
            old, self._iopub_channel = self._iopub_channel, None
            old.close()
            monitor.close(linger=0)
            self.iopub_channel.start()
        return count


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose command line is wrapped by the sandbox (bubblewrap and/or resource limits)."""

    sandbox: Sandbox | None = None
    client_factory = Type(LimitedKernelClient, klass=AsyncKernelClient)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        cmd[0] = sys.executable if cmd[0].endswith(("python", "python3")) else cmd[0]
        return self.sandbox.wrap(cmd) if self.sandbox else cmd


class CappedClient(NotebookClient):
    """NotebookClient that keeps at most a byte budget of what a cell sends back (a cell printing a gigabyte
    is cut, noted, and grading goes on). Every message counts by its full size, metadata and buffers included;
    widget state is not kept at all; the grader's reply type is kept only while a grader's request runs."""

    max_output_bytes: int = 2 * 1024 * 1024
    store_widget_state = False

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.output_bytes: dict[int, int] = {}
        self.truncated: set[int] = set()
        self.timed_out = False
        self.accept_replies = False  # True while one of the host's requests runs
        self.unreadable = 0

    on_timeout: Any = None

    async def _async_handle_timeout(self, timeout, cell=None):  # type: ignore[override]
        """Before the interrupt: processes the cell started (a fork bomb's copies) would get it too, and
        copies of the kernel answering on its inherited sockets garble the session."""
        self.timed_out = True
        if self.on_timeout is not None:
            self.on_timeout()
        return await super()._async_handle_timeout(timeout, cell)

    def process_message(self, msg, cell, cell_index):  # type: ignore[override]
        msg_type = msg["msg_type"]
        content = msg["content"]
        if msg_type == "status" or msg_type.startswith("comm"):
            # Completion is all a status is for; comms (widgets) are never graded, and their state is not kept.
            if msg_type == "status" and content.get("execution_state") == "idle":
                raise CellExecutionComplete()
            return None
        data = content.get("data")
        reply = isinstance(data, dict) and REPLY_MIME in data
        if reply and not self.accept_replies:
            return None  # a notebook's cell publishing the grader's reply type: never accepted as output
        budget = REQUEST_OUTPUT_BYTES if self.accept_replies else self.max_output_bytes
        used = self.output_bytes.get(cell_index, 0) + message_size(msg)
        self.output_bytes[cell_index] = used
        if msg_type == "error":
            msg = {**msg, "content": trimmed_error(content)}  # always kept (it says why the cell failed), cut
        elif used > budget:
            if msg_type in ("stream", "display_data", "execute_result", "update_display_data", "clear_output"):
                self.truncated.add(cell_index)
            return None
        try:
            return super().process_message(msg, cell, cell_index)
        except CellExecutionComplete:
            raise
        except Exception:  # noqa: BLE001 - a well-signed message nbclient cannot digest costs only itself
            self.unreadable += 1
            return None


def message_size(msg: dict) -> int:
    """Bytes of every string, number and buffer in a message's content and metadata (walked without
    recursion, so no nesting depth can break it)."""
    total = sum(len(b) for b in msg.get("buffers") or [] if isinstance(b, (bytes, bytearray, memoryview)))
    todo: list[Any] = [msg.get("content"), msg.get("metadata")]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            total += len(value)
            for key, item in value.items():
                total += len(key) if isinstance(key, str) else 8
                todo.append(item)
        elif isinstance(value, (list, tuple)):
            total += len(value)
            todo.extend(value)
        else:
            total += 8
    return total


def trimmed_error(content: dict) -> dict:
    """An error output cut to what a report can use: its name, the start of its message, the last frames."""
    def text(value: Any, limit: int) -> str:
        return value[:limit] if isinstance(value, str) else str(type(value).__name__)
    frames = content.get("traceback")
    frames = [text(f, 4000) for f in frames[-20:]] if isinstance(frames, list) else []
    return {"ename": text(content.get("ename", "Error"), 200), "evalue": text(content.get("evalue", ""), 4000),
            "traceback": frames}


class Tail:
    """Drains a pipe on a thread of its own and keeps only the last `limit` bytes: where the kernel's own
    stdout and stderr go, so that what a cell writes to file descriptor 1 never piles up in the host."""

    def __init__(self, fd: int, limit: int = STDIO_TAIL_BYTES):
        self._fd = fd
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._limit = limit
        self.total = 0
        self._thread = threading.Thread(target=self._drain, daemon=True, name="gk-kernel-stdio")
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, 1 << 16):
                self.total += len(chunk)
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._chunks[0]) >= self._limit:
                    self._size -= len(self._chunks.popleft())
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def text(self) -> str:
        return b"".join(self._chunks)[-self._limit:].decode(errors="replace")
