"""Each question judged on its own code: the notebook's Transformer is built around the reference's PreNorm,
Attention and FeedForward, and its ViT around the reference's Transformer (the reference's source, run in the
kernel next to the notebook's), so that a mistake in Attention costs Attention and not the Transformer and the ViT
as well. The names are put in the class's own globals (where its __init__ looks them up) while it is built, then
put back. The parameter count and the learning check use the notebook's classes as they are: they are about the
whole model.

Also here: which of a module's parameters are registered under more than one name (layers that share weights).
"""

from __future__ import annotations

import inspect

import pytest

import reference.vit_fashion_mnist as ref
from gradekit.proxy import Remote, Submission

BLOCKS = ("PreNorm", "Attention", "FeedForward")

SOURCE = "\n\n".join(
    ["import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom einops import rearrange\n"
     "from torch import Tensor"]
    + [inspect.getsource(part) for part in (ref.pair, ref.attention_from_weights, ref.Attention, ref.PreNorm,
                                            ref.FeedForward, ref.Transformer)])

BUILD = """
import torch
if class_name not in globals():
    raise NameError(f"name '{class_name}' is not defined")
cls = globals()[class_name]
parts = {}
exec(compile(source, "<gradekit reference blocks>", "exec"), parts)
init = vars(cls).get("__init__") if isinstance(cls, type) else None
space = getattr(init, "__globals__", None)
space = space if isinstance(space, dict) else {}
saved = {name: space[name] for name in swap if name in space}
space.update({name: parts[name] for name in swap})
try:
    torch.manual_seed(0)
    result = cls(*args, **kwargs)
finally:
    for name in swap:
        space.pop(name, None)
    space.update(saved)
"""


def label(class_name: str, args: tuple, kwargs: dict) -> str:
    return f"{class_name}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"


def build(submission: Submission, class_name: str, *args, swap: tuple[str, ...], **kwargs) -> Remote:
    """The notebook's `class_name`, built with the reference's classes named in `swap` in place of its own."""
    what = label(class_name, args, kwargs)
    obj = submission.run(BUILD, what=what, name=class_name, class_name=class_name, args=list(args), kwargs=kwargs,
                         swap=list(swap), source=SOURCE)
    if not isinstance(obj, Remote):
        pytest.fail(f"{what} did not build a module")
    obj.label = what
    return obj


def transformer(submission: Submission, *args, **kwargs) -> Remote:
    """The notebook's Transformer around the reference's blocks."""
    return build(submission, "Transformer", *args, swap=BLOCKS, **kwargs)


def vit(submission: Submission, **kwargs) -> Remote:
    """The notebook's ViT around the reference's Transformer (and blocks, for a ViT that builds them itself)."""
    return build(submission, "ViT", swap=("Transformer", *BLOCKS), **kwargs)


ALIASES = """
params = gk_parameters(module)
listed = {name for name, _ in params}
first = {}
for name, p in params:
    first.setdefault(p.data_ptr(), name)
result = {name: first[t.data_ptr()] for name, t in gk_state_dict(module).items()
          if name not in listed and t.numel() and t.data_ptr() in first}
"""


def aliases(submission: Submission, module: Remote) -> dict[str, str]:
    """{name: the parameter it is}: the state dict's entries that are a parameter already listed under another
    name, as a module appended twice gives (named_parameters lists each tensor once, state_dict under every name)."""
    found = submission.run(ALIASES, what=f"which of {module.label}'s parameters are shared", module=module)
    if not (isinstance(found, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in found.items())):
        pytest.fail(f"the names of {module.label}'s parameters could not be read back")
    return found


def describe_aliases(found: dict[str, str]) -> str:
    first, original = next(iter(found.items()))
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"{first}{more} is the same tensor as {original}"
