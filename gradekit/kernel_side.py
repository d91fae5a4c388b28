"""Code that runs inside the student's kernel, and the data-only codec both sides share.

The host injects this file's source into the kernel *after* the notebook has run, as a fresh module object
(`__gk__`). It answers the host's requests (call a function, build an object, run a forward pass, read
parameters) and replies with a JSON tree plus a safetensors blob: data only, never pickle.

The host imports this same file as an ordinary module for `encode`/`decode`, so the kernel's copy being
patched by a student changes nothing on the host: the host judges only the data it gets back.

This file must stay self-contained (stdlib, torch, safetensors): the sandbox cannot see the gradekit package.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import traceback
from typing import Any

REPLY_MIME = "application/vnd.gradekit.reply+json"

# Limits the host enforces when it decodes a reply (the kernel side respects them too, to fail early).
MAX_BLOB_BYTES = 64 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_STR = 1_000_000


class CodecError(ValueError):
    """A value could not be encoded or a reply could not be decoded: always a data problem, never code."""


# --------------------------------------------------------------------------------------------------------
# the codec: Python value <-> (JSON tree, {key: tensor})


def encode(value: Any, register: Any = None) -> tuple[Any, dict]:
    """Turn a value into a JSON tree and a dict of tensors (to be stored as safetensors).

    `register(obj) -> int` is called for objects that are not data (modules, student classes): they stay
    in the kernel and the tree holds a handle. On the host `register` is None and such values are an error.
    """
    import torch
    from torch.nn.utils.rnn import PackedSequence

    tensors: dict[str, Any] = {}
    count = [0]
    total = [0]

    def enc(v: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise CodecError("value too large or too deeply nested to send")
        if isinstance(v, str) and len(v) > MAX_STR:
            raise CodecError(f"a string of {len(v):,} characters is too long to send")
        if v is None or isinstance(v, (bool, int, str)):
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**63:
                if v.bit_length() > 1300:
                    raise CodecError("an integer too large to send")
                return {"__bigint__": str(v)}
            return v
        if isinstance(v, float):
            if math.isnan(v) or math.isinf(v):
                return {"__float__": repr(v)}
            return v
        if isinstance(v, PackedSequence):
            return {"__packed__": [enc(x, depth + 1) for x in tuple(v)]}
        if isinstance(v, torch.Tensor):
            key = f"t{len(tensors)}"
            t = v.detach()
            if t.is_sparse or t.is_complex() or t.is_quantized:
                raise CodecError(f"cannot send a {t.dtype} / sparse tensor")
            # Checked before copying: an expanded view of 10**10 elements must not be materialised to find out.
            total[0] += t.numel() * t.element_size()
            if total[0] > MAX_BLOB_BYTES:
                raise CodecError(f"a tensor of shape {tuple(t.shape)} is too large to send back "
                                 f"({total[0] / 2**20:,.0f} MiB; the limit is {MAX_BLOB_BYTES >> 20} MiB)")
            tensors[key] = t.cpu().contiguous().clone()
            return {"__tensor__": key}
        if isinstance(v, torch.Size):
            return {"__tuple__": [int(x) for x in v]}
        if isinstance(v, tuple):
            return {"__tuple__": [enc(x, depth + 1) for x in v]}
        if isinstance(v, list):
            return [enc(x, depth + 1) for x in v]
        if isinstance(v, dict):
            return {"__dict__": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, RemoteRef):
            return {"__ref__": v.id}
        # numpy scalars and arrays, without importing numpy on the host side
        if type(v).__module__ == "numpy":
            if hasattr(v, "shape") and getattr(v, "shape", ()) != ():
                return enc(torch.as_tensor(v), depth)
            return enc(v.item(), depth)
        if register is not None:
            return {"__remote__": register(v), "type": type(v).__name__}
        raise CodecError(f"cannot send a value of type {type(v).__name__}")

    return enc(value, 0), tensors


def decode(tree: Any, tensors: dict, resolve: Any = None) -> Any:
    """Inverse of `encode`. `resolve(id)` maps handles to objects (kernel) or proxies (host)."""
    from torch.nn.utils.rnn import PackedSequence

    count = [0]

    def dec(v: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise CodecError("reply too large or too deeply nested")
        if v is None or isinstance(v, (bool, int, float)):
            return v
        if isinstance(v, str):
            if len(v) > MAX_STR:
                raise CodecError("string in reply too long")
            return v
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) not in (1, 2):
            raise CodecError("malformed value in reply")
        (tag, body), *rest = v.items()
        if tag == "__tensor__":
            if body not in tensors:
                raise CodecError("reply names a tensor it does not contain")
            return tensors[body]
        if tag == "__tuple__" and isinstance(body, list):
            return tuple(dec(x, depth + 1) for x in body)
        if tag == "__dict__" and isinstance(body, list):
            out = {}
            for pair in body:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise CodecError("malformed dict in reply")
                key = dec(pair[0], depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise CodecError("unhashable dict key in reply")
                out[key] = dec(pair[1], depth + 1)
            return out
        if tag == "__float__" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "__bigint__" and isinstance(body, str) and len(body) < 400:
            return int(body)
        if tag == "__packed__" and isinstance(body, list) and len(body) == 4:
            parts = [dec(x, depth + 1) for x in body]
            return PackedSequence(*parts)
        if tag in ("__ref__", "__remote__") and isinstance(body, int) and resolve is not None:
            return resolve(body, v.get("type", ""))
        raise CodecError(f"unexpected {tag!r} in reply")

    try:
        return dec(tree, 0)
    except CodecError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed tree can fail anywhere, torch included
        raise CodecError(f"malformed value in reply ({type(exc).__name__})") from None


def tensors_to_bytes(tensors: dict) -> bytes:
    from safetensors.torch import save

    return save(tensors) if tensors else b""


def tensors_from_bytes(blob: bytes) -> dict:
    """safetensors is a data-only format: a header of shapes and dtypes and raw buffers, no code."""
    from safetensors.torch import load

    if len(blob) > MAX_BLOB_BYTES:
        raise CodecError(f"reply of {len(blob) / 2**20:.0f} MiB is over the {MAX_BLOB_BYTES >> 20} MiB limit")
    return load(blob) if blob else {}


class RemoteRef:
    """The host's name for an object that lives in the kernel."""

    def __init__(self, id: int):
        self.id = id


# --------------------------------------------------------------------------------------------------------
# the kernel side: requests in, replies out


class Agent:
    """Answers one request at a time; objects the host holds handles to live in `self.objects`."""

    def __init__(self, user_ns: dict):
        self.user_ns = user_ns
        self.objects: dict[int, Any] = {}

    def register(self, obj: Any) -> int:
        key = len(self.objects) + 1
        self.objects[key] = obj
        return key

    def resolve(self, key: int, _type: str = "") -> Any:
        if key not in self.objects:
            raise LookupError(f"unknown object handle {key}")
        return self.objects[key]

    # -- operations ---------------------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        if name not in self.user_ns:
            raise NameError(f"name '{name}' is not defined")
        return self.user_ns[name]

    def op_call(self, target: Any, args: list, kwargs: dict, seed: int | None = None,
                no_grad: bool = False) -> Any:
        import torch

        fn = self.lookup(target) if isinstance(target, str) else target
        if seed is not None:
            torch.manual_seed(seed)
        if no_grad:
            with torch.no_grad():
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)

    def op_method(self, obj: Any, method: str, args: list, kwargs: dict, no_grad: bool = False) -> Any:
        import torch

        fn = getattr(obj, method)
        if no_grad:
            with torch.no_grad():
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)

    def op_get(self, name: str) -> Any:
        return self.lookup(name)

    def op_parameters(self, module: Any, values: bool = False) -> list:
        """Named parameters as nn.Module itself enumerates them: a student class that overrides
        `parameters()` or `named_parameters()` to report fewer cannot change the count."""
        out = []
        for name, p in _named_parameters(module):
            row = {"name": name, "shape": list(p.shape), "requires_grad": bool(p.requires_grad)}
            if values:
                row["value"] = p
            out.append(row)
        return out

    def op_state_dict(self, module: Any) -> dict:
        import torch

        return dict(torch.nn.Module.state_dict(module)) if isinstance(module, torch.nn.Module) \
            else dict(module.state_dict())

    def op_forward_backward(self, module: Any, args: list, kwargs: dict, grad_output: Any,
                            method: str = "__call__") -> dict:
        """Run forward, backpropagate `grad_output` (or `sum()` when None), return output and grads."""
        import torch

        module.zero_grad(set_to_none=True) if hasattr(module, "zero_grad") else None
        out = getattr(module, method)(*args, **kwargs)
        first = out[0] if isinstance(out, tuple) else out
        if grad_output is None:
            first.sum().backward()
        else:
            first.backward(grad_output)
        grads = {}
        for name, p in _named_parameters(module):
            grads[name] = p.grad if p.grad is not None else torch.zeros_like(p)
        return {"output": out, "grads": grads}

    def op_ping(self, nonce: str) -> str:
        """The host checks, once, that requests reach this agent and its reply comes back unchanged."""
        return nonce

    def op_run(self, code: str, inputs: dict) -> Any:
        """Run grader-authored code with the student's namespace visible; it sets `result`."""
        scope = dict(self.user_ns)
        scope.update(inputs)
        scope["result"] = None
        exec(compile(code, "<gradekit snippet>", "exec"), scope)
        return scope["result"]

    # -- dispatch -------------------------------------------------------------------------------------------

    def handle(self, request_json: str, blob_path: str | None) -> None:
        from IPython.display import publish_display_data

        try:
            request = json.loads(request_json)
            blob = b""
            if blob_path:
                with open(blob_path, "rb") as f:
                    blob = f.read()
            params = decode(request["params"], tensors_from_bytes(blob), self.resolve)
            value = getattr(self, "op_" + request["op"])(**params)
            tree, tensors = encode(value, self.register)
            reply = {"ok": True, "value": tree,
                     "blob": base64.b64encode(tensors_to_bytes(tensors)).decode("ascii")}
        except BaseException as exc:  # noqa: BLE001 - every student failure becomes data for the host
            reply = {"ok": False, "error": describe(exc)}
        publish_display_data({REPLY_MIME: reply})


def _named_parameters(module: Any) -> Any:
    """nn.Module's own enumeration, not an override on the student's class; other objects answer for
    themselves."""
    import torch

    if isinstance(module, torch.nn.Module):
        return torch.nn.Module.named_parameters(module)
    return module.named_parameters()


def describe(exc: BaseException) -> dict:
    """The exception as data: type, message, and the frames that belong to student code."""
    frames = []
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename == __file__ or fs.filename.startswith("<gradekit"):
            continue
        if "site-packages" in fs.filename or fs.filename.startswith(sys.prefix):
            continue
        frames.append({"file": fs.filename, "line": fs.lineno, "name": fs.name, "code": (fs.line or "")[:300]})
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "frames": frames[-5:]}
