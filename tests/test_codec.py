"""Unit tests for the data-only codec in gradekit.codec, as the host uses it (register=None).

Values cross the trust boundary as a JSON tree plus a safetensors blob; `roundtrip` sends them through strict
JSON text and real safetensors bytes, as the wire does. The last tests guard the boundary itself: nothing in
gradekit/ may unpickle.
"""

from __future__ import annotations

import ast
import io
import json
import math
import pickletools
import tokenize
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_sequence

from gradekit import codec
from gradekit.codec import CodecError, RemoteRef, decode, encode, tensors_from_bytes, tensors_to_bytes

GRADEKIT = Path(codec.__file__).resolve().parent


def roundtrip(value):
    tree, tensors = encode(value)
    wire = json.loads(json.dumps(tree, allow_nan=False))  # strict JSON: nan and inf must travel tagged
    return decode(wire, tensors_from_bytes(tensors_to_bytes(tensors)))


def same(a, b) -> bool:
    """Deep equality that also compares types (tuple is not list, bool is not int), tensors and nan."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


# ------------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("value", [
    None, True, False, 0, 1, -7, 2**62, 2**63 - 1, -(2**63), 2**63, 2**64, -(2**100), 10**30,
], ids=repr)
def test_none_bools_and_ints_round_trip(value):
    assert same(roundtrip(value), value)


@pytest.mark.parametrize("value", [0.0, -0.0, 0.5, -3.25, 1e308, 5e-324, float("inf"), float("-inf")], ids=repr)
def test_floats_round_trip(value):
    assert same(roundtrip(value), value)


def test_nan_round_trips():
    out = roundtrip(float("nan"))
    assert isinstance(out, float) and math.isnan(out)


@pytest.mark.parametrize("value", ["", "hello", "héllo ✓ 日本", 'quotes " and \\ and \n newlines', "__tensor__",
                                   "x" * 10_000], ids=["empty", "ascii", "unicode", "escapes", "tag-like", "long"])
def test_strings_round_trip(value):
    assert same(roundtrip(value), value)


@pytest.mark.parametrize("value", [
    [], [1, "a", None], [[1, [2, [3]]]], (), (1,), (1, "a", None, 2.5), ([1], (2,)),
], ids=["empty-list", "list", "nested-lists", "empty-tuple", "one-tuple", "tuple", "list-in-tuple"])
def test_lists_and_tuples_round_trip_with_their_types(value):
    assert same(roundtrip(value), value)


@pytest.mark.parametrize("value", [
    {}, {"a": 1, "b": [2]}, {1: "one", 2.5: "two and a half", None: "none", (1, 2): "pair", "s": "str"},
    {False: 0, "x": {"inner": (1, 2)}},
], ids=["empty", "str-keys", "non-str-keys", "bool-key-nested"])
def test_dicts_round_trip_with_key_types_and_order(value):
    assert same(roundtrip(value), value)


def test_dict_with_tag_like_string_key_round_trips():
    value = {"__tensor__": "t0", "__remote__": 1}
    assert same(roundtrip(value), value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8,
                                   torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool], ids=str)
def test_tensor_dtypes_round_trip(dtype):
    t = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    assert same(roundtrip(t), t)


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (5,), (2, 3), (2, 1, 4), (1, 1, 1, 1)], ids=str)
def test_tensor_shapes_round_trip_including_0_dim_and_empty(shape):
    t = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    assert same(roundtrip(t), t)


def test_non_contiguous_tensor_round_trips():
    t = torch.arange(6.0).reshape(2, 3).T
    assert not t.is_contiguous()
    assert same(roundtrip(t), t)


def test_tensor_with_grad_comes_back_as_plain_data():
    t = nn.Parameter(torch.ones(2, 2))
    out = roundtrip(t)
    assert type(out) is torch.Tensor
    assert not out.requires_grad
    assert torch.equal(out, torch.ones(2, 2))


def test_same_tensor_twice_round_trips_twice():
    t = torch.tensor([1.0, 2.0])
    out = roundtrip([t, t])
    assert same(out, [t, t])


def test_torch_size_round_trips_as_an_equal_tuple():
    out = roundtrip(torch.Size([2, 3, 0]))
    assert isinstance(out, tuple)
    assert out == torch.Size([2, 3, 0])


@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
def test_packed_sequence_round_trips(enforce_sorted):
    seqs = [torch.randn(3, 2), torch.randn(1, 2), torch.randn(2, 2)]
    if enforce_sorted:
        seqs.sort(key=len, reverse=True)
    packed = pack_sequence(seqs, enforce_sorted=enforce_sorted)
    out = roundtrip(packed)
    assert isinstance(out, PackedSequence)
    assert same(tuple(out), tuple(packed))


def test_nested_structure_with_tensors_round_trips():
    value = {"output": (torch.ones(2, 3), torch.zeros(1, 2, 3)), "grads": {"w": torch.eye(3), "b": torch.zeros(3)},
             "meta": [{"name": "w", "shape": [3, 3]}, None, float("inf")], 7: torch.Size([4])}
    out = roundtrip(value)
    assert same(out["output"], value["output"])
    assert same(out["grads"], value["grads"])
    assert same(out["meta"], value["meta"])
    assert out[7] == (4,)


def test_no_tensors_make_an_empty_blob():
    tree, tensors = encode([1, 2])
    assert tensors_to_bytes(tensors) == b""
    assert tensors_from_bytes(b"") == {}


# ---------------------------------------------------------------------------------- what encode refuses


class Opaque:
    pass


@pytest.mark.parametrize("value", [Opaque(), lambda x: x, nn.Linear(2, 2), [1, {2: Opaque()}], {1, 2}, b"bytes"],
                         ids=["object", "lambda", "module", "nested-object", "set", "bytes"])
def test_encode_of_non_data_with_register_none_raises_codec_error(value):
    with pytest.raises(CodecError):
        encode(value)


def test_encode_of_complex_tensor_raises_codec_error():
    with pytest.raises(CodecError):
        encode(torch.zeros(2, dtype=torch.complex64))


def test_encode_with_register_returns_a_remote_handle():
    seen = []

    def register(obj):
        seen.append(obj)
        return 41 + len(seen)

    module = nn.Linear(2, 2)
    tree, tensors = encode([1, module], register)
    assert tree == [1, {"__remote__": 42, "type": "Linear"}]
    assert seen == [module]
    assert tensors == {}


def test_remote_ref_encodes_as_a_ref_and_decodes_through_resolve():
    tree, _ = encode(RemoteRef(5))
    assert tree == {"__ref__": 5}
    assert decode(tree, {}, lambda id, type_name: ("resolved", id)) == ("resolved", 5)


def test_encode_rejects_too_deep_nesting():
    value: list = []
    for _ in range(codec.MAX_DEPTH * 2):
        value = [value]
    with pytest.raises(CodecError):
        encode(value)


# ------------------------------------------------------------------------------ what decode refuses


def nested_lists(depth: int) -> list:
    value: list = [0]
    for _ in range(depth - 1):
        value = [value]
    return value




@pytest.mark.parametrize("tree", [
    {"__nope__": 1},
    {"__tensor__": "t9"},
    {"a": 1, "b": 2, "c": 3},
    {"__float__": "1e5"},
    {"__float__": 1.0},
    {"__bigint__": "1" * 500},
    {"__bigint__": 12},
    {"__tuple__": "abc"},
    {"__dict__": [[1]]},
    {"__dict__": [[[1], 2]]},
    {"__dict__": "x"},
    {"__packed__": [1, 2]},
    {"__remote__": 1, "type": "Linear"},
    {"__ref__": 1},
    [1, {"__nope__": 2}],
    {"__tensor__": ["t0"]},
    {"__bigint__": "abc"},
    {"__packed__": [1, 2, 3, 4]},
    {"__packed__": [None, None, None, None]},
    {"__dict__": [[{"__tuple__": [[1]]}, 1]]},
], ids=repr)
def test_decode_rejects_malformed_trees_with_codec_error(tree):
    with pytest.raises(CodecError):
        decode(tree, {"t0": torch.zeros(1)})


def test_decode_rejects_a_tensor_key_missing_from_the_blob():
    tree, tensors = encode([torch.ones(2), torch.zeros(2)])
    tensors.pop("t1")
    with pytest.raises(CodecError, match="tensor"):
        decode(tree, tensors)


def test_decode_rejects_remote_handles_without_resolve():
    with pytest.raises(CodecError):
        decode({"__remote__": 3, "type": "LSTM"}, {})


def test_decode_rejects_non_integer_remote_handles_even_with_resolve():
    with pytest.raises(CodecError):
        decode({"__remote__": "3", "type": "LSTM"}, {}, lambda id, type_name: id)


def test_decode_accepts_moderate_nesting():
    assert decode(nested_lists(codec.MAX_DEPTH // 2), {}) == nested_lists(codec.MAX_DEPTH // 2)


@pytest.mark.parametrize("depth", [codec.MAX_DEPTH * 2, 50_000], ids=["twice-the-limit", "50000"])
def test_decode_rejects_too_deep_nesting(depth):
    with pytest.raises(CodecError):  # a CodecError, not a RecursionError
        decode(nested_lists(depth), {})


def test_decode_rejects_too_many_nodes():
    with pytest.raises(CodecError):
        decode([0] * (codec.MAX_NODES + 1), {})


@pytest.mark.parametrize("tree", [
    "x" * (codec.MAX_STR + 1),
    ["ok", "x" * (codec.MAX_STR + 1)],
    {"__dict__": [["x" * (codec.MAX_STR + 1), 1]]},
], ids=["string", "in-list", "dict-key"])
def test_decode_rejects_over_long_strings(tree):
    with pytest.raises(CodecError):
        decode(tree, {})


# ------------------------------------------------------------------------------------------ blobs


def test_blob_over_the_limit_is_rejected(monkeypatch):
    blob = tensors_to_bytes({"t0": torch.zeros(1024)})
    monkeypatch.setattr(codec, "MAX_BLOB_BYTES", len(blob) - 1)
    with pytest.raises(CodecError, match="limit"):
        tensors_from_bytes(blob)


def test_blob_at_the_limit_is_read(monkeypatch):
    blob = tensors_to_bytes({"t0": torch.zeros(1024)})
    monkeypatch.setattr(codec, "MAX_BLOB_BYTES", len(blob))
    assert torch.equal(tensors_from_bytes(blob)["t0"], torch.zeros(1024))


def pickle_payload(marker: Path) -> bytes:
    """A protocol-0 pickle that, if anything unpickled it, would create `marker`."""
    code = f"open({str(marker)!r}, 'w').close()"
    return b"cbuiltins\nexec\n(S" + repr(code).encode() + b"\ntR."


def torch_save_bytes() -> bytes:
    buf = io.BytesIO()
    torch.save({"t0": torch.ones(2)}, buf)
    return buf.getvalue()


def test_pickle_payload_used_below_is_well_formed(tmp_path):
    ops = [op.name for op, _, _ in pickletools.genops(pickle_payload(tmp_path / "m"))]
    assert ops == ["GLOBAL", "MARK", "STRING", "TUPLE", "REDUCE", "STOP"]


GARBAGE = {
    "text": lambda marker: b"this is not a safetensors file",
    "zeros": lambda marker: b"\x00" * 64,
    "huge-header-length": lambda marker: b"\xff" * 8 + b"{}",
    "header-not-json": lambda marker: (12).to_bytes(8, "little") + b"not json!!!!",
    "offsets-past-end": lambda marker: (len(h := json.dumps(
        {"t0": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode())).to_bytes(8, "little") + h,
    "truncated": lambda marker: tensors_to_bytes({"t0": torch.ones(100)})[:-17],
    "pickle": pickle_payload,
    "torch-save-zip": lambda marker: torch_save_bytes(),
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_blob_raises_and_executes_nothing(tmp_path, kind):
    marker = tmp_path / "executed"
    with pytest.raises(Exception):  # noqa: B017 - safetensors raises its own error type; any Exception is fine
        tensors_from_bytes(GARBAGE[kind](marker))
    assert not marker.exists()


# ------------------------------------------------------------------------- the trust boundary, in the source

PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve", "marshal", "joblib"}


def unsafe_deserialisation(source: str) -> list[str]:
    """Uses of pickle-based loading in Python source. Comments and docstrings ("never pickle") do not count."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string == "allow_pickle":
            continue  # judged below: only an explicit allow_pickle=False is safe
        if tok.type == tokenize.NAME and ("pickle" in tok.string.lower() or tok.string in PICKLE_MODULES):
            found.append(f"line {tok.start[0]}: name {tok.string}")
        if tok.type == tokenize.STRING and tok.string.strip("'\"") in PICKLE_MODULES:
            found.append(f"line {tok.start[0]}: string {tok.string}")
    tree = ast.parse(source)
    calls = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append(f"line {node.value.lineno}: allow_pickle other than False")
        is_torch_load = (isinstance(node, ast.Attribute) and node.attr == "load"
                         and isinstance(node.value, ast.Name) and node.value.id == "torch")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("torch"):
            if any(alias.name == "load" for alias in node.names):
                found.append(f"line {node.lineno}: from {node.module} import load")
        if is_torch_load:
            call = calls.get(id(node))
            safe = call is not None and any(
                kw.arg == "weights_only" and isinstance(kw.value, ast.Constant) and kw.value.value is True
                for kw in call.keywords)
            if not safe:
                found.append(f"line {node.lineno}: torch.load without weights_only=True")
    return found


@pytest.mark.parametrize("source", [
    "import pickle\n",
    "from pickle import loads\n",
    "import importlib\nm = importlib.import_module('pickle')\n",
    "import numpy as np\nx = np.load(f, allow_pickle=True)\n",
    "import torch\nx = torch.load(f)\n",
    "import torch\nx = torch.load(f, weights_only=False)\n",
    "import torch\nload = torch.load\n",
    "from torch import load\n",
], ids=["import", "from-import", "import-module", "allow-pickle", "torch-load", "weights-only-false",
        "torch-load-alias", "from-torch-import-load"])
def test_guard_detects_unsafe_deserialisation(source):
    assert unsafe_deserialisation(source)


@pytest.mark.parametrize("source", [
    '"""Replies are data only, never pickle."""\n',
    "# nothing is unpickled here\n",
    "import numpy as np\nx = np.load(f, allow_pickle=False)\n",
    "import torch\nx = torch.load(f, weights_only=True)\n",
], ids=["docstring", "comment", "allow-pickle-false", "weights-only-true"])
def test_guard_accepts_safe_source(source):
    assert unsafe_deserialisation(source) == []


@pytest.mark.parametrize("path", sorted(GRADEKIT.rglob("*.py")), ids=lambda p: str(p.relative_to(GRADEKIT)))
def test_gradekit_never_unpickles(path):
    assert unsafe_deserialisation(path.read_text(encoding="utf-8")) == []


def test_gradekit_source_is_scanned():
    names = {p.name for p in GRADEKIT.rglob("*.py")}
    assert {"codec.py", "agent.py", "proxy.py", "kernel.py", "runner.py"} <= names


def test_the_agent_as_injected_replies_with_data_when_a_request_fails(monkeypatch):
    """In the kernel the codec and the agent share one fresh module named __gk__ (no __file__, no gradekit
    package): a failing request must still come back as a reply, with the student's frames only."""
    import types

    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell

    from gradekit import proxy

    module = types.ModuleType("__gk__")
    exec(compile(proxy.CODEC_SOURCE, "<gradekit codec>", "exec"), module.__dict__)
    exec(compile(proxy.AGENT_SOURCE, "<gradekit agent>", "exec"), module.__dict__)
    agent = module.install(InteractiveShell.instance())
    published = []
    monkeypatch.setattr(IPython.display, "publish_display_data", published.append)
    params, _ = encode({"name": "tokenize"})
    agent.handle(json.dumps({"op": "get", "params": params}), None)
    reply = published[0][codec.REPLY_MIME]
    assert reply["ok"] is False and reply["error"]["type"] == "NameError", reply
    assert all(not f["file"].startswith("<gradekit") for f in reply["error"]["frames"])
