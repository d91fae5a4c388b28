"""The only code of ours that runs inside a student's kernel: the agent that answers the host's requests.

The host injects gradekit/codec.py's source and then this file's into a fresh module object (`__gk__`), after
the notebook's cells have run, and calls `install`. The agent calls a function, builds an object, runs a forward
pass or reads a module's parameters when the host asks, and replies with the codec's data: never pickle. Every
line here is the student's to patch once it is in their kernel, so the host trusts none of it; it judges the
data that comes back.

This file must stay self-contained (stdlib, torch, safetensors, and the codec's names, which the injection puts
in the same namespace): the sandbox cannot see the gradekit package.
"""

from __future__ import annotations

import base64
import json
import sys
import traceback
from typing import Any

if __name__ != "__gk__":  # on the host (tests): an ordinary module; in the kernel the codec shares our namespace
    from gradekit.codec import MAX_DEPTH, REPLY_MIME, decode, encode, tensors_from_bytes, tensors_to_bytes


def install(shell: Any) -> Agent:
    """Ready the kernel for the host's requests, once, after the notebook's cells ran.

    It removes the notebook's IPython input and AST transformers (nbgrader's exploit: a transformer that
    blanks the cells after it) so they cannot rewrite the requests, reaps processes the notebook left as
    zombies (they count against the process limit), and frees the last failed cell's frames (a memory bomb's
    list would otherwise stay alive)."""
    import gc
    import os

    for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        getattr(shell, name, []).clear()
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
    sys.last_type = sys.last_value = sys.last_traceback = None
    if hasattr(shell.InteractiveTB, "tb"):
        shell.InteractiveTB.tb = None
    gc.collect()
    return Agent(shell.user_ns)


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
        """Named parameters as the module tree holds them (see `stored_parameters`): neither an override on
        the student's class nor a patched nn.Module.named_parameters changes what the host is told."""
        return parameter_rows(module, values)

    def op_state_dict(self, module: Any) -> dict:
        """What the module holds, read from its own storage, and what its own `state_dict()` and
        `parameters()` say, for the host to compare (`audit`): {"parameters": rows, "state": {name: tensor},
        "audit": {...}}."""
        return {"parameters": parameter_rows(module, False), "state": stored_state(module),
                "audit": audit(module, values=True)}

    def op_forward_backward(self, module: Any, args: list, kwargs: dict, grad_output: Any,
                            method: str = "__call__") -> dict:
        """Run forward, backpropagate `grad_output` (or `sum()` when None), return output and the gradients
        of the parameters the module tree holds."""
        import torch

        params = stored_parameters(module)
        tb = _tensor_api()
        for _, p in params:
            tb.grad.__set__(p, None)
        out = getattr(module, method)(*args, **kwargs)
        first = out[0] if isinstance(out, tuple) else out
        if grad_output is None:
            first.sum().backward()
        else:
            first.backward(grad_output)
        grads = {}
        for name, p in params:
            grad = tb.grad.__get__(p)
            grads[name] = grad if grad is not None else torch.zeros(tuple(tb.shape.__get__(p)))
        return {"output": out, "grads": grads}

    def op_ping(self, nonce: str) -> str:
        """The host checks, once, that requests reach this agent and its reply comes back unchanged."""
        return nonce

    def op_run(self, code: str, inputs: dict) -> Any:
        """Run grader-authored code with the student's namespace visible; it sets `result`."""
        scope = dict(self.user_ns)
        scope.update(inputs)
        # Grader code reads modules the way the agent does, never through methods the notebook can replace.
        scope.update(gk_parameters=stored_parameters, gk_state_dict=stored_state, gk_load=load_values,
                     gk_audit=audit, gk_modules=stored_modules, gk_rows=lambda m: parameter_rows(m, False))
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


# --------------------------------------------------------------------------------------------------------
# reading a module tree from its own storage
#
# Everything in the kernel is the notebook's to change: methods on its own classes, nn.Module's methods
# (named_parameters, parameters, state_dict, modules, __getattr__ ...), torch.Tensor's, and names such as
# builtins.type or torch.nn.Module. So what the host is told about a module is read from the storage each
# module instance keeps in its __dict__ (`_parameters`, `_buffers`, `_modules`, plain dicts), reached through
# C-level descriptors of types no Python code can change (type, dict, and torch's C tensor base), which are
# found from literals and checked by identity, never looked up through builtins or attribute access a class
# can intercept. What the module's own state_dict() and parameters() report is collected too (`audit`), for
# the host to compare: a module that reports something other than what it holds fails with a message.
# Not covered: editing memory through ctypes or a C extension.

_TYPE = ().__class__.__class__  # type
_DICT = {}.__class__
_SET = {0}.__class__
_STR = "".__class__
_LIST = [].__class__
_BUILTIN = [].append.__class__  # builtin_function_or_method
_GETSET = _TYPE.__dict__["__dict__"].__class__  # getset_descriptor
_class_namespace = _TYPE.__dict__["__dict__"].__get__
_class_base = _TYPE.__dict__["__base__"].__get__
_class_flags = _TYPE.__dict__["__flags__"].__get__
_class_name = _TYPE.__dict__["__name__"].__get__
_class_module = _TYPE.__dict__["__module__"].__get__
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: set on every class made by Python code, unset on C's static types


class UnreadableModule(Exception):
    """What a module holds could not be read from its own storage; the message says why."""


class _TensorAPI:
    """torch's C tensor base and its own descriptors (shape, requires_grad, grad, ...), found and checked once."""

    def __init__(self) -> None:
        import torch

        # A notebook can rebind torch._C.TensorBase, but not make a static (C) type of that name.
        base = _c_type(torch._C.TensorBase, "TensorBase")
        ns = _class_namespace(base)
        self.base = base
        self.shape, self.requires_grad, self.grad = ns["shape"], ns["requires_grad"], ns["grad"]
        self.dtype, self.device, self.is_meta = ns["dtype"], ns["device"], ns["is_meta"]
        self.numel, self.data_ptr, self.stride = ns["numel"], ns["data_ptr"], ns["stride"]
        self.storage_offset, self.detach, self.copy_ = ns["storage_offset"], ns["detach"], ns["copy_"]
        self.no_torch_function = _c_type(torch._C.DisableTorchFunction, "DisableTorchFunction")
        self.dispatch_depth = _c_function(torch._C._len_torch_dispatch_stack, "_len_torch_dispatch_stack")
        self.grad_mode = _c_function(torch._C._set_grad_enabled, "_set_grad_enabled")
        self.grad_enabled = _c_function(torch._C.is_grad_enabled, "is_grad_enabled")

    def dims(self, t: Any) -> list:
        return _LIST(self.shape.__get__(t))

    def is_tensor(self, value: Any) -> bool:
        return _derives(_TYPE(value), self.base)

    def same_view(self, a: Any, b: Any) -> bool:
        """Whether two tensors show the same memory in the same way (a parameter and its detach())."""
        if not (self.is_tensor(a) and self.is_tensor(b)):
            return False
        if (self.dtype.__get__(a) != self.dtype.__get__(b) or self.device.__get__(a) != self.device.__get__(b)
                or self.dims(a) != self.dims(b)):
            return False
        if self.is_meta.__get__(a):
            return True  # no memory to compare; shapes are all a meta tensor has
        return (self.data_ptr(a) == self.data_ptr(b) and self.stride(a) == self.stride(b)
                and self.storage_offset(a) == self.storage_offset(b))


def _c_type(value: Any, name: str) -> Any:
    """`value` when it is torch's static (C-defined) type of that name: Python code cannot make one."""
    meta = _TYPE(value)  # always a class; `value` is one when `meta` derives from type
    if not (_derives(meta, _TYPE) and not _class_flags(meta) & _HEAPTYPE and not _class_flags(value) & _HEAPTYPE
            and _class_name(value) == name and _class_module(value) == "torch._C"):
        raise UnreadableModule(f"torch._C.{name} was replaced in your kernel; restart it without that")
    return value


def _derives(cls: Any, base: Any) -> bool:
    """Whether `base` is on the class's own chain of bases (what decides its layout), whatever its MRO says."""
    while cls is not None:
        if cls is base:
            return True
        cls = _class_base(cls)
    return False


def _c_function(value: Any, name: str) -> Any:
    if not (_TYPE(value) is _BUILTIN and value.__name__ == name):
        raise UnreadableModule(f"torch._C.{name} was replaced in your kernel; restart it without that")
    return value


_API: list = []


def _tensor_api() -> _TensorAPI:
    if not _API:
        _API.append(_TensorAPI())
    api = _API[0]
    if api.dispatch_depth():
        raise UnreadableModule("a TorchDispatchMode is active in your kernel, so your module's tensors cannot be "
                               "read as they are; leave no mode entered at the end of a cell")
    return api


def _instance_dict(obj: Any) -> dict:
    """obj.__dict__ through the descriptor of the class that gave instances their dict (nn.Module), whatever a
    subclass or metaclass defines under that name."""
    descriptor, cls = None, _TYPE(obj)
    while cls is not None:
        candidate = _class_namespace(cls).get("__dict__")
        if _TYPE(candidate) is _GETSET:
            descriptor = candidate  # the last one found is the base's, closest to object
        cls = _class_base(cls)
    found = descriptor.__get__(obj) if descriptor is not None else None
    if _TYPE(found) is not _DICT:
        raise UnreadableModule(f"a {_class_name(_TYPE(obj))} object has no attribute storage to read; it is "
                               "not an nn.Module")
    return found


def _storage(module: Any) -> tuple[dict, dict, dict, Any]:
    """(parameters, buffers, submodules, names of non-persistent buffers) as this one module stores them."""
    own = _instance_dict(module)
    parts = []
    for key in ("_parameters", "_buffers", "_modules"):
        part = _DICT.get(own, key)
        if not _derives(_TYPE(part), _DICT):  # a dict subclass is read with dict's own methods: it hides nothing
            what = "missing" if part is None else f"a {_class_name(_TYPE(part))}, not a dict"
            raise UnreadableModule(f"a {_class_name(_TYPE(module))}'s {key} is {what}: is it an nn.Module "
                                   "built with super().__init__(), and does your code replace its storage?")
        for name in _DICT.keys(part):
            if _TYPE(name) is not _STR:
                raise UnreadableModule(f"a {_class_name(_TYPE(module))}'s {key} has a key that is not a string")
        parts.append(part)
    transient = _DICT.get(own, "_non_persistent_buffers_set", _SET())
    if not _derives(_TYPE(transient), _SET):
        raise UnreadableModule(f"a {_class_name(_TYPE(module))}'s _non_persistent_buffers_set is not a set")
    return parts[0], parts[1], parts[2], transient


def _holds(items: list, obj: Any) -> bool:
    """Whether `obj` itself (by identity) is in `items`, without builtins a notebook could rebind."""
    for item in items:
        if item is obj:
            return True
    return False


def _check_tensor(api: _TensorAPI, value: Any, name: str) -> Any:
    if not api.is_tensor(value):
        raise UnreadableModule(f"{name} is a {_class_name(_TYPE(value))}, not a tensor")
    return value


def _walk(module: Any, prefix: str, path: list, out: list, unique: bool) -> None:
    """Pre-order (prefix, module, storage) over the tree, as named_modules (unique) or state_dict (not) do."""
    if unique and _holds([m for _, m, _ in out], module):
        return
    if _holds(path, module) or path[MAX_DEPTH:]:
        raise UnreadableModule(f"the module tree loops back on itself at {prefix or 'the top'}")
    storage = _storage(module)
    out.append((prefix, module, storage))
    for name, child in _DICT.items(storage[2]):
        if child is not None:
            _walk(child, prefix + ("." if prefix else "") + name, [*path, module], out, unique)


def stored_modules(module: Any) -> list:
    """[(prefix, module)] as nn.Module.named_modules() would list them, read from storage."""
    out: list = []
    _walk(module, "", [], out, True)
    return [(prefix, m) for prefix, m, _ in out]


def stored_parameters(module: Any) -> list:
    """[(name, parameter)] as nn.Module.named_parameters() would list them (each tensor once), from storage."""
    api = _tensor_api()
    tree: list = []
    _walk(module, "", [], tree, True)
    out: list = []
    for prefix, _, (params, _, _, _) in tree:
        for name, p in _DICT.items(params):
            if p is None or _holds([q for _, q in out], p):
                continue
            full = prefix + ("." if prefix else "") + name
            out.append((full, _check_tensor(api, p, full)))
    return out


def stored_state(module: Any) -> dict:
    """{name: tensor} as nn.Module.state_dict() would give it (detached; shared tensors under each name,
    non-persistent buffers left out), from storage."""
    api = _tensor_api()
    tree: list = []
    _walk(module, "", [], tree, False)
    state = {}
    with api.no_torch_function():
        for prefix, _, (params, buffers, _, transient) in tree:
            dot = prefix + ("." if prefix else "")
            for name, p in _DICT.items(params):
                if p is not None:
                    state[dot + name] = api.detach(_check_tensor(api, p, dot + name))
            for name, b in _DICT.items(buffers):
                if b is not None and not _SET.__contains__(transient, name):
                    state[dot + name] = api.detach(_check_tensor(api, b, dot + name))
    return state


def parameter_rows(module: Any, values: bool) -> list:
    """[{name, shape, requires_grad[, value]}] of the parameters the tree holds."""
    api = _tensor_api()
    rows = []
    with api.no_torch_function():
        for name, p in stored_parameters(module):
            row = {"name": name, "shape": api.dims(p), "requires_grad": api.requires_grad.__get__(p)}
            if values:
                row["value"] = api.detach(p)
            rows.append(row)
    return rows


def audit(module: Any, values: bool = False) -> dict:
    """What the module's own state_dict() and parameters() report, next to what its storage holds, for the host
    to compare (gradekit.checks.agrees_with_storage): the stored names and shapes; the reported keys; each
    reported entry that is not a view of the stored tensor of that name (the tensor itself when `values`, else
    its shape); and for each tensor parameters() yields, the stored name of that very tensor (or None)."""
    api = _tensor_api()
    stored = stored_state(module)
    named = stored_parameters(module)
    out: dict = {"stored_keys": {k: api.dims(v) for k, v in stored.items()},
                 "stored_parameters": [name for name, _ in named],
                 "state_dict_keys": None, "state_dict_other": {}, "parameters": None, "error": None}
    try:
        reported = module.state_dict()
        keys = _LIST(reported.keys())
        other = {}
        for key in keys:
            value = reported[key]
            if _TYPE(key) is _STR and key in stored and api.same_view(value, stored[key]):
                continue
            if not api.is_tensor(value):
                other[str(key)] = f"a {_class_name(_TYPE(value))}"
            elif values and not api.is_meta.__get__(value):
                other[str(key)] = value
            else:
                other[str(key)] = api.dims(value)
        out["state_dict_keys"] = [str(k) for k in keys]
        out["state_dict_other"] = other
        found = []
        for p in module.parameters():
            match = None
            for name, q in named:
                if q is p:
                    match = name
            found.append(match)
        out["parameters"] = found
    except Exception as exc:  # noqa: BLE001 - an override that raises is itself something to report
        out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return out


def load_values(module: Any, values: dict) -> None:
    """Copy host-drawn tensors into the parameters and buffers the tree holds under these names."""
    api = _tensor_api()
    state = {}
    tree: list = []
    _walk(module, "", [], tree, False)
    for prefix, _, (params, buffers, _, _) in tree:
        dot = prefix + ("." if prefix else "")
        for part in (params, buffers):
            for name, t in _DICT.items(part):
                if t is not None:
                    state[dot + name] = _check_tensor(api, t, dot + name)
    missing = [name for name in values if name not in state]
    if missing:
        raise UnreadableModule(f"the module holds no tensor named {missing[0]!r}")
    previous = api.grad_enabled()
    api.grad_mode(False)
    try:
        with api.no_torch_function():
            for name, value in values.items():
                target = state[name]
                if not api.is_tensor(value) or api.dims(target) != api.dims(value):
                    raise UnreadableModule(f"{name} has shape {api.dims(target)}, which the values sent do not "
                                           "have")
                api.copy_(target, value)
    finally:
        api.grad_mode(previous)


def describe(exc: BaseException) -> dict:
    """The exception as data: type, message, and the frames that belong to student code."""
    frames = []
    for fs in traceback.extract_tb(exc.__traceback__):
        # ours: "<gradekit agent>" and "<gradekit codec>" in the kernel, the files themselves in the host's tests
        if fs.filename.startswith("<gradekit") or fs.filename.endswith(("gradekit/agent.py", "gradekit/codec.py")):
            continue
        if "site-packages" in fs.filename or fs.filename.startswith(sys.prefix):
            continue
        frames.append({"file": fs.filename, "line": fs.lineno, "name": fs.name, "code": (fs.line or "")[:300]})
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "frames": frames[-5:]}
