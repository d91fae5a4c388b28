"""The data-only format between the host and a student's kernel: a JSON tree plus a safetensors blob.

Both sides use this file. The host imports it as an ordinary module; the kernel gets its source, with
gradekit/agent.py's, injected after the notebook has run. Nothing here executes code it is handed: a value is
data (numbers, strings, lists, dicts, tensors) or a handle to an object that stays in the kernel, and decoding
checks sizes, depth and tags before it builds anything. The kernel's copy being patched by a student changes
nothing on the host: the host decodes with its own copy and judges only the data it gets back.

This file must stay self-contained (stdlib, torch, safetensors): the sandbox cannot see the gradekit package.
"""

from __future__ import annotations

import math
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
