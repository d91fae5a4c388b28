"""Assertions graders share, each failing with a sentence a student can act on.

They take what came back from the kernel (already plain data) and the host's expectation, and never trust
the type of the former: a student function may return a list, None or a handle where a tensor was due.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from gradekit.proxy import Remote


def fmt_shape(shape: Any) -> str:
    dims = tuple(int(d) for d in shape)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def describe_value(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {fmt_shape(value.shape)}"
    if isinstance(value, Remote):
        return f"a {value.type_name} object"
    if value is None:
        return "None (did you forget a return statement?)"
    return f"a {type(value).__name__}"


def tensor(value: Any, what: str) -> torch.Tensor:
    """`value` as a tensor, or a failed check saying what came back instead."""
    if not isinstance(value, torch.Tensor):
        pytest.fail(f"{what} should be a tensor, but it is {describe_value(value)}")
    return value


def number(value: Any, what: str) -> float:
    """A Python number or a one-element tensor, as float."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.reshape(()).item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    pytest.fail(f"{what} should be a single number, but it is {describe_value(value)}")


def shape(value: Any, expected: tuple[int, ...], what: str) -> torch.Tensor:
    t = tensor(value, what)
    if tuple(t.shape) != tuple(expected):
        pytest.fail(f"{what} has shape {fmt_shape(t.shape)}, expected {fmt_shape(expected)}")
    return t


def close(actual: Any, expected: torch.Tensor, what: str, *, atol: float = 1e-5, rtol: float = 1e-4,
          hint: str = "") -> None:
    """Shape first (a clearer message than a broadcasting error), then values, naming the worst element."""
    t = shape(actual, tuple(expected.shape), what)
    t = t.to(torch.float64)
    e = expected.detach().to(torch.float64)
    if torch.isnan(t).any() and not torch.isnan(e).any():
        pytest.fail(f"{what} contains NaN values" + (f": {hint}" if hint else ""))
    if torch.allclose(t, e, atol=atol, rtol=rtol, equal_nan=True):
        return
    diff = (t - e).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, math.inf), diff)
    worst = int(diff.reshape(-1).argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), t.shape)) if t.dim() else ()
    got, want = t.reshape(-1)[worst].item(), e.reshape(-1)[worst].item()
    where = f" at index {index}" if index else ""
    message = f"{what} differs from the expected values{where}: got {got:.6g}, expected {want:.6g}"
    pytest.fail(message + (f". {hint[:1].upper()}{hint[1:]}" if hint else ""))
