"""Assertions graders share, each failing with a sentence a student can act on.

They take what came back from the kernel (already plain data) and the host's expectation, and never trust
the type of the former: a student function may return a list, None or a handle where a tensor was due.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


# -- what a module holds ------------------------------------------------------------------------------------
#
# The kernel's agent reads a module from the storage its tree keeps (not through named_parameters(),
# state_dict() or any other method a notebook can replace, on its class or on nn.Module itself) and sends,
# next to it, what the module's own state_dict() and parameters() report. The two are compared here, on the
# host: a module that reports something other than what it holds fails, with a message saying what differs.


def _fields(value: Any, what: str, **kinds: type) -> dict:
    if not (isinstance(value, dict) and all(isinstance(value.get(k), t) for k, t in kinds.items())):
        pytest.fail(f"the grading helper's reply about {what} was malformed; run your notebook from the top and "
                    "check that it does not change torch or IPython")
    return value


def parameter_rows(rows: Any, label: str) -> list[dict]:
    """Rows [{name, shape, requires_grad}] that came back from the kernel (gk_rows), checked to be just that."""
    return _parameter_rows(rows, f"{label}'s parameters")


def _parameter_rows(rows: Any, what: str) -> list[dict]:
    if not isinstance(rows, list):
        _fields(None, what)
    for row in rows:
        _fields(row, what, name=str, shape=list, requires_grad=bool)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in row["shape"]):
            _fields(None, what)
    return rows


def disagreement(audit: Any, label: str, stored: dict[str, torch.Tensor] | None = None) -> str:
    """Why `label`'s own state_dict() and parameters() do not report what its storage holds (see
    agent.audit), for the student; "" when they do. `stored` (name -> tensor) lets entries that are copies
    rather than views be compared by value."""
    audit = _fields(audit, f"{label}'s parameters", stored_keys=dict, stored_parameters=list)
    fix = ("; nothing that reads the model (an optimizer, torch.save, a parameter count) then sees it as it is. "
           "Remove any override of state_dict, parameters or named_parameters, on your class or on nn.Module")
    if audit.get("error") is not None:
        return f"{label}.state_dict() or .parameters() raised {str(audit['error'])[:300]}{fix}"
    keys, other, reported = audit.get("state_dict_keys"), audit.get("state_dict_other"), audit.get("parameters")
    if not (isinstance(keys, list) and isinstance(other, dict) and isinstance(reported, list)):
        _fields(None, f"{label}'s parameters")
    held = audit["stored_keys"]
    problems = []
    left_out = [k for k in held if k not in keys]
    if left_out:
        problems.append(f"state_dict() leaves out {_names(left_out)}")
    invented = [k for k in keys if k not in held]
    if invented:
        problems.append(f"state_dict() reports {_names(invented)}, which the module does not hold")
    changed = []
    for key, value in other.items():
        if key not in held:
            continue
        if isinstance(value, torch.Tensor):
            same = stored is not None and key in stored and value.shape == stored[key].shape \
                and torch.equal(value, stored[key])
        else:  # a shape: a meta tensor's, or when the values were not asked for
            same = isinstance(value, list) and value == held[key]
        if not same:
            changed.append(key)
    if changed:
        problems.append(f"state_dict() reports other values for {_names(changed)} than the module holds")
    if any(r is None for r in reported):
        problems.append(f"parameters() returns {sum(r is None for r in reported)} tensor(s) the module does not "
                        "hold")
    hidden = [n for n in audit["stored_parameters"] if n not in reported]
    if hidden:
        problems.append(f"parameters() leaves out {_names(hidden)}")
    return f"{label} does not report what it holds: {'; '.join(problems)}{fix}" if problems else ""


def agrees_with_storage(audit: Any, label: str, stored: dict[str, torch.Tensor] | None = None) -> None:
    """Fail with `disagreement`'s message unless the module reports what it holds."""
    why = disagreement(audit, label, stored)
    if why:
        pytest.fail(why)


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@dataclass(frozen=True)
class ModuleReading:
    """What a kernel module holds, read from its storage: parameter rows (named_parameters' order and names),
    the state dict, and `disagreement`, why its own state_dict() / parameters() report otherwise ("" if not)."""

    label: str
    rows: list[dict]
    state: dict[str, torch.Tensor]
    disagreement: str

    def assert_agrees(self) -> None:
        if self.disagreement:
            pytest.fail(self.disagreement)

    def parameters(self, values: bool = False) -> list[dict]:
        """The rows, with each parameter's tensor under "value" when asked."""
        return [{**row, "value": self.state[row["name"]]} if values else dict(row) for row in self.rows]


def read_module(module: Remote) -> ModuleReading:
    """What `module` holds and whether it says so (one request). A check that counts or reports on parameters
    calls `assert_agrees()` after its own assertion; one that only loads weights into what the module holds
    need not."""
    what = f"{module.label}'s parameters"
    reply = _fields(module.state_dict(), what, parameters=list, state=dict, audit=dict)
    rows = _parameter_rows(reply["parameters"], what)
    state = reply["state"]
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        _fields(None, what)
    if not all(row["name"] in state and list(state[row["name"]].shape) == row["shape"] for row in rows):
        _fields(None, what)
    return ModuleReading(module.label, rows, state, disagreement(reply["audit"], module.label, state))


def module_state(module: Remote) -> dict[str, torch.Tensor]:
    """The module's state dict as its tree holds it; fails if its own state_dict() or parameters() disagree."""
    reading = read_module(module)
    reading.assert_agrees()
    return reading.state


def module_parameters(module: Remote, values: bool = False) -> list[dict]:
    """[{name, shape, requires_grad[, value]}] of the parameters the module holds, as named_parameters() would
    list them; fails if its own state_dict() or parameters() disagree."""
    reading = read_module(module)
    reading.assert_agrees()
    return reading.parameters(values)


def trainable_count(rows: list[dict]) -> int:
    return sum(math.prod(row["shape"]) for row in rows if row["requires_grad"])


# -- weights the host draws ---------------------------------------------------------------------------------
#
# A check of what a module computes runs it with weights drawn on the host for this grading run, loaded into
# the student's module in the kernel (in the student's own layout, by name), and judges its outputs against the
# reference equations with those same weights. With its own weights a module could choose values (all zeros,
# say) for which a wrong or empty computation gives the right answer.


def draw_like(shapes: dict[str, list[int] | tuple[int, ...]], gen: torch.Generator) -> dict[str, torch.Tensor]:
    """name -> a tensor of that shape from N(0, 1 / fan_in) (the last dimension; N(0, 0.25) for vectors), drawn
    from the per-run generator: far from any value a module could pick in advance, and of the size an
    initialised layer has, so that deep stacks stay in range."""
    drawn = {}
    for name, shape in shapes.items():
        shape = tuple(int(d) for d in shape)
        std = shape[-1] ** -0.5 if len(shape) >= 2 and shape[-1] > 0 else 0.5
        drawn[name] = torch.randn(shape, generator=gen) * std
    return drawn


def load_weights(submission: Any, module: Remote, values: dict[str, torch.Tensor]) -> None:
    """Copy `values` (name -> tensor) into the parameters and buffers of that name in the kernel's module."""
    submission.run("gk_load(module, values)", what=f"loading the graders' weights into {module.label}",
                   module=module, values=values)


def load_drawn_weights(submission: Any, module: Remote, gen: torch.Generator,
                       adjust: Any = None) -> dict[str, torch.Tensor]:
    """Draw every parameter of `module` (see `draw_like`), optionally `adjust(drawn)` in place (a padding row
    kept at zero, say), load them into the kernel's module and return them, name -> tensor."""
    rows = read_module(module).rows  # what it holds: whatever it reports, these are the weights it computes with
    drawn = draw_like({row["name"]: row["shape"] for row in rows}, gen)
    if adjust is not None:
        adjust(drawn)
    load_weights(submission, module, drawn)
    return drawn
