"""The one narrow door between graders (host) and a student's kernel.

Graders ask for things ("call binary_accuracy on these tensors", "build LSTM(8, 16) and run it") and get
back plain data: tensors, numbers, strings, lists, dicts, or a handle to an object that stays in the kernel.
Requests go in as JSON plus a safetensors file in a folder the kernel can only read; replies come back as
a display message of our own mime type holding JSON and base64 safetensors. Nothing is unpickled, imported
or evaluated on the host.

Everything in the kernel is the student's to change (torch, builtins, IPython, even this agent once it is
there), so the host takes nothing on trust: a reply is data to be checked like any other answer, and a
missing, doubled, malformed or oversize reply fails the check with a message.

A call that kills the kernel (or hangs it past an interrupt) fails the check that made it, and a fresh
kernel re-runs the notebook so that the checks after it go on: a crash costs the question it happened in,
not the rest of the grading. Handles to the old kernel's objects are rebuilt in the new one by replaying the
request that made them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradekit import agent, codec
from gradekit.codec import CodecError, RemoteRef
from gradekit.kernel import CUDA_HINT, TIMEOUT_ENAME, KernelDied, KernelSession
from gradekit.results import Cause

CODEC_SOURCE = Path(codec.__file__).read_text()
AGENT_SOURCE = Path(agent.__file__).read_text()
TAMPERED = (". Does your notebook change how IPython runs code (an input transformer, a patched run_cell, "
            "replaced builtins or torch functions)? Remove that and resubmit; nothing else could be checked")


class SubmissionError(Exception):
    """Base of everything a check can fail with that is about the submission, not the grader.

    `str(exc)` is written for the student. `cause` names the mistake behind it the same way whichever check met
    it (what the reports say once); None when the failure is this check's own.
    """

    def __init__(self, message: str = "", cause: Cause | None = None):
        super().__init__(message)
        self.cause = cause


class NotImplementedByStudent(SubmissionError):
    """The student has not written `what` yet (it still raises NotImplementedError, or is still None).
    Reports roll every missing piece of a question into one line, by `what`."""

    def __init__(self, what: str, detail: str = "it still raises NotImplementedError"):
        self.what = what
        super().__init__(f"{what}: not implemented yet ({detail})")


@dataclass(frozen=True)
class Missing:
    """Why a name the graders asked for is not what the notebook meant it to be."""

    unwritten: bool  # not written yet (directly, or because a piece it needs is not)
    why: str  # e.g. "cell 27, which defines it, raised RuntimeError: ..."
    defining_cell_raised: bool = False


class MissingName(SubmissionError):
    def __init__(self, name: str, why: str):
        super().__init__(f"{name} is not defined in your notebook: {why}",
                         cause=Cause(f"{name} is not defined in your notebook", why))


class StudentCodeError(SubmissionError):
    """The student's code raised. Carries the exception type and where in their notebook it happened."""

    def __init__(self, what: str, error: dict, where: str = ""):
        self.what = what
        self.type = str(error.get("type", "Exception"))
        self.detail = str(error.get("message", ""))
        self.where = where
        text = f"{what} raised {self.type}: {self.detail}".rstrip(": ")
        if where:
            text += f"\n  {where}"
        # The same error at the same place is one mistake, whichever check's call reached it.
        super().__init__(text, cause=Cause(f"{self.type}: {self.detail}".rstrip(": ")[:300], where))


class SubmissionTimeout(SubmissionError):
    pass


class KernelCrashed(SubmissionError):
    """The student's code killed (or hung) the kernel during this check; a fresh kernel took over."""


class Unavailable(SubmissionError):
    """The kernel is gone (died, hung) or the notebook could not be run at all: every check after it fails for
    this one reason."""

    def __init__(self, message: str):
        super().__init__(message, cause=Cause(message))


class BadReply(SubmissionError):
    """The kernel answered with something that is not a well-formed, in-limits reply."""


class Remote(RemoteRef):
    """A handle to an object living in the kernel (a module, a student class instance). Passing it back as
    an argument passes the kernel's object."""

    def __init__(self, submission: Submission, id: int, type_name: str, label: str):
        super().__init__(id)
        self._sub = submission
        self.type_name = type_name
        self.label = label  # how messages name it, e.g. "LSTM(8, 16)"
        self.generation = submission.generation  # which kernel the object lives in
        self.recipe: tuple[str, dict] | None = None  # the request that made it, to rebuild it in a new kernel

    def __call__(self, *args: Any, no_grad: bool = False, timeout: float | None = None, **kwargs: Any) -> Any:
        return self._sub._request(
            "method", {"obj": self, "method": "__call__", "args": list(args), "kwargs": kwargs,
                       "no_grad": no_grad},
            what=f"{self.label}.forward", timeout=timeout)

    def method(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return self._sub._request(
            "method", {"obj": self, "method": name, "args": list(args), "kwargs": kwargs},
            what=f"{self.label}.{name}", timeout=timeout)

    def parameters(self, values: bool = False) -> list[dict]:
        """[{name, shape, requires_grad[, value]}] as the module reports them."""
        return self._sub._request("parameters", {"module": self, "values": values},
                                  what=f"{self.label}.named_parameters()")

    def state_dict(self) -> dict:
        return self._sub._request("state_dict", {"module": self},
                                  what=f"{self.label}.state_dict()")

    def forward_backward(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> dict:
        return self._sub._request(
            "forward_backward", {"module": self, "args": list(args), "kwargs": kwargs,
                                 "grad_output": grad_output},
            what=f"{self.label} forward and backward")

    def __repr__(self) -> str:
        return f"<remote {self.type_name} {self.label}>"


class Submission:
    """What graders see of a student's notebook: its names, callable from the host through the kernel."""

    # A notebook whose calls keep killing the kernel gets this many fresh kernels, then its remaining checks
    # say so: each costs a re-run of the whole notebook.
    MAX_REVIVALS = 8

    def __init__(self, session: KernelSession | None, *, unavailable: str | None = None,
                 locate: Any = None, explain_missing: Callable[[str], Missing] | None = None,
                 default_timeout: float = 60):
        self._session = session
        self._unavailable = unavailable
        self._locate = locate  # maps a traceback frame's code line to "cell N, line M: `code`"
        self._explain_missing = explain_missing  # name -> why it is not defined, e.g. its cell raised
        self.default_timeout = default_timeout
        self._installed = False
        self.revivals = 0

    @property
    def generation(self) -> int:
        return self._session.generation if self._session is not None else 0

    # -- public API for graders -----------------------------------------------------------------------------

    def cell_error_for(self, name: str) -> str:
        """Why `name` is not what the notebook meant it to be, when the cell that defines it raised (e.g.
        "cell 27, which defines it, raised RuntimeError: ..."); "" otherwise."""
        if self._explain_missing is None:
            return ""
        missing = self._explain_missing(name)
        return missing.why if missing.defining_cell_raised else ""

    def call(self, name: str, *args: Any, seed: int | None = None, timeout: float | None = None,
             no_grad: bool = False, **kwargs: Any) -> Any:
        """Call the student's function `name`. Raises a SubmissionError subclass written for the student."""
        return self._request("call", {"target": name, "args": list(args), "kwargs": kwargs, "seed": seed,
                                      "no_grad": no_grad},
                             what=f"{name}()", timeout=timeout, name=name)

    def new(self, class_name: str, *args: Any, seed: int | None = 0, **kwargs: Any) -> Remote:
        """Build an instance of the student's class; torch is seeded first so inits are reproducible."""
        label = _call_label(class_name, args, kwargs)
        params = {"target": class_name, "args": list(args), "kwargs": kwargs, "seed": seed}
        obj = self._request("call", params, what=label, name=class_name)
        if not isinstance(obj, Remote):
            raise SubmissionError(f"{label} returned a {type(obj).__name__}, not an object")
        obj.label = label
        obj.recipe = ("call", params)
        return obj

    def get(self, name: str) -> Any:
        """The value of a global variable of the notebook (data comes back as data, objects as handles)."""
        return _remember(self._request("get", {"name": name}, what=name, name=name), ("get", {"name": name}))

    def run(self, code: str, timeout: float | None = None, what: str = "grading code", name: str | None = None,
            **inputs: Any) -> Any:
        """Run grader-authored code in the kernel, with the student's names visible; it sets `result`.

        `name` is the student name the code is mostly about, so a NameError on it reads as "not defined"."""
        params = {"code": code, "inputs": inputs}
        return _remember(self._request("run", params, what=what, timeout=timeout, name=name), ("run", params))

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _install(self) -> None:
        """Load the codec and the agent as a fresh module, after the notebook ran (so no cell could touch it);
        `agent.install` readies the kernel (see there). A ping with a fresh nonce then proves that requests
        reach the agent: when they do not (the kernel was rewired some other way), every check says so instead
        of guessing."""
        assert self._session is not None
        # The module is named "__gk__" so that agent.py takes the codec from its own namespace (see its imports).
        code = (
            "import types as _t\n"
            "__gk__ = _t.ModuleType('__gk__')\n"
            "del _t\n"
            f"exec(compile({CODEC_SOURCE!r}, '<gradekit codec>', 'exec'), __gk__.__dict__)\n"
            f"exec(compile({AGENT_SOURCE!r}, '<gradekit agent>', 'exec'), __gk__.__dict__)\n"
            "__gk__.agent = __gk__.install(get_ipython())\n"
        )
        # One expression, evaluated in the notebook's namespace past the input transformers.
        expression = f"exec(compile({code!r}, '<gradekit install>', 'exec'), globals())"
        _, err = self._session.execute(expression, timeout=60, expression=True)
        if err is not None:
            raise Unavailable(f"could not start the grading helper in your kernel: {err['ename']}: {err['evalue']}"
                              f"{TAMPERED}")
        self._installed = True
        # Twice: an interrupt the kernel received late (a cell that ran past its limit on a busy machine) may
        # still land on the first request after it. A kernel rewired to answer wrongly fails both.
        for _ in range(2):
            nonce = uuid.uuid4().hex
            try:
                answer = self._request("ping", {"nonce": nonce}, what="the grading helper")
            except Unavailable:
                raise
            except SubmissionError as exc:
                answer = exc
            if answer == nonce:
                return
        self._unavailable = ("the graders could not talk to your kernel: their requests did not come back "
                             f"unchanged{TAMPERED}")
        raise Unavailable(self._unavailable)

    def _request(self, op: str, params: dict, *, what: str, timeout: float | None = None,
                 name: str | None = None) -> Any:
        if self._unavailable:
            raise Unavailable(self._unavailable)
        assert self._session is not None
        blob_path = ""
        try:
            if not self._installed:
                self._install()
            self._rebuild_handles(params)
            tree, tensors = codec.encode(params)
            if tensors:
                path = self._session.inbox / f"in-{uuid.uuid4().hex}.safetensors"
                path.write_bytes(codec.tensors_to_bytes(tensors))
                blob_path = str(path)
            request = json.dumps({"op": op, "params": tree})
            code = f"__gk__.agent.handle({request!r}, {blob_path!r})"
            outputs, err = self._session.execute(code, timeout=timeout or self.default_timeout, expression=True)
        except KernelDied as exc:
            raise self._revive(what, str(exc)) from None
        finally:
            if blob_path:
                Path(blob_path).unlink(missing_ok=True)
        if err is not None:
            if err["ename"] == TIMEOUT_ENAME:
                limit = f"{timeout or self.default_timeout:.0f} s"
                if not self._session.recover():
                    raise self._revive(what, f"{what} ran past its {limit} limit and did not stop when "
                                             "interrupted") from None
                raise SubmissionTimeout(f"{what} ran past its {limit} limit")
            if err["ename"] == "OversizeMessage":
                raise BadReply(f"the reply to {what} was too large to accept ({err['evalue']}); return smaller "
                               "values")
            raise BadReply(f"the grading request for {what} failed in your kernel: {err['ename']}: {err['evalue']}")
        reply = _find_reply(outputs, what)
        if not reply.get("ok"):
            raise self._student_error(what, reply.get("error") or {}, name)
        try:
            tensors = codec.tensors_from_bytes(base64.b64decode(reply.get("blob", ""), validate=True))
            return codec.decode(reply.get("value"), tensors, self._resolve)
        except (CodecError, binascii.Error, ValueError, TypeError, KeyError) as exc:
            raise BadReply(f"the reply to {what} could not be read: {exc}") from None

    def _revive(self, what: str, reason: str) -> SubmissionError:
        """The kernel died or hung during `what`: a fresh kernel re-runs the notebook for the checks after this
        one, and this check fails with the reason (Unavailable, for every check after, when that fails)."""
        assert self._session is not None
        if self.revivals >= self.MAX_REVIVALS:
            self._unavailable = (f"{reason}; your code crashed the kernel {self.revivals + 1} times, so the "
                                 "remaining checks were not run")
            return Unavailable(self._unavailable)
        self.revivals += 1
        self._session.dead = self._session.dead or reason
        if not self._session.revive():
            self._unavailable = f"{self._session.dead}; nothing more could be checked"
            return Unavailable(self._unavailable)
        self._installed = False
        return KernelCrashed(f"{reason}. Calling {what} stopped your kernel; a fresh kernel re-ran your notebook "
                             "so that the other checks could go on")

    def _rebuild_handles(self, params: Any) -> None:
        """Handles in `params` to objects of an earlier kernel are rebuilt in this one by replaying the request
        that made them (a fixture's `HyperParams()`, say). State the old object gained since is lost."""
        for remote in _remotes_in(params):
            if remote.generation == self.generation:
                continue
            if remote.recipe is None:
                raise SubmissionError(f"{remote.label} was lost when your kernel was restarted after a crash")
            op, recipe = remote.recipe
            fresh = self._request(op, recipe, what=remote.label)
            if not isinstance(fresh, Remote):
                raise SubmissionError(f"{remote.label} could not be rebuilt after your kernel was restarted")
            remote.id, remote.generation = fresh.id, fresh.generation

    def _resolve(self, id: int, type_name: str) -> Remote:
        return Remote(self, id, type_name, type_name)

    def _student_error(self, what: str, error: dict, name: str | None) -> SubmissionError:
        etype = str(error.get("type", ""))
        message = str(error.get("message", ""))
        missing_forward = re.search(r'Module \[(\w+)\] is missing the required "forward" function', message)
        if etype == "NotImplementedError" and missing_forward:
            # torch's words for a module whose `def forward` is not at class level (often indented into
            # __init__, where it is only a local function): not the same as an unwritten answer.
            cause = missing_forward_cause(missing_forward.group(1))
            return SubmissionError(f"{what} failed: {cause.summary}. {cause.fix}", cause=cause)
        if etype == "NotImplementedError":
            return NotImplementedByStudent(what)
        if etype == "NameError" and name and f"'{name}'" in message and not error.get("frames"):
            missing = self._explain_missing(name) if self._explain_missing else Missing(False, "")
            if missing.unwritten:
                return NotImplementedByStudent(f"`{name}`", missing.why)
            return MissingName(f"`{name}`", missing.why or "check that the cell defining it runs without an error")
        if etype == "KeyboardInterrupt":
            return SubmissionTimeout(f"{what} was interrupted (it ran past its time limit)")
        if etype == "CodecError":
            return BadReply(f"{what} returned something the graders cannot accept: {message}")
        if "CUDA" in message or "NVIDIA" in message:
            error = {**error, "message": f"{message} ({CUDA_HINT})"}
        elif etype == "MemoryError":
            error = {**error, "message": f"{message or 'out of memory'} (your code ran out of memory)"}
        where = ""
        frames = error.get("frames") or []
        if frames and self._locate is not None:
            where = self._locate(frames[-1])
        return StudentCodeError(what, error, where)


def missing_forward_cause(module: str) -> Cause:
    """A module class whose `def forward` is not at class level (often indented into `__init__`, where it is only a
    local function): torch says forward is missing, which is not an unwritten answer."""
    return Cause(f"{module} has no forward method",
                 "Is `def forward` indented inside `__init__`? It must be at the class's level, like `__init__` itself")


def _remember(value: Any, recipe: tuple[str, dict]) -> Any:
    if isinstance(value, Remote):
        value.recipe = recipe
    return value


def _remotes_in(value: Any) -> list[Remote]:
    """The Remote handles anywhere in a request's parameters (lists, tuples and dicts walked)."""
    found: list[Remote] = []
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, Remote):
            found.append(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return found


def _find_reply(outputs: list[dict], what: str = "the grading request") -> dict:
    replies = [o for o in outputs if o.get("output_type") == "display_data"
               and codec.REPLY_MIME in o.get("data", {})]
    if len(replies) != 1:
        how = "no reply" if not replies else f"{len(replies)} replies, one of them not from the graders"
        raise BadReply(f"your kernel did not answer the grading request for {what} ({how}); code that prints "
                       "or publishes output from a background thread, or that replaces IPython's display "
                       "functions, gets in the way")
    reply = replies[0]["data"][codec.REPLY_MIME]
    if not isinstance(reply, dict):
        raise BadReply("your kernel answered the grading request with something that is not a reply")
    return reply


def _call_label(name: str, args: tuple, kwargs: dict) -> str:
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _short(value: Any) -> str:
    if isinstance(value, Remote):
        return value.type_name
    text = repr(value) if isinstance(value, (int, float, bool, str, type(None))) else type(value).__name__
    return text if len(text) <= 30 else text[:27] + "..."
