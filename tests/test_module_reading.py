"""What the kernel's agent reads about a module (gradekit.agent), and how the host compares it with what the
module reports (gradekit.checks.disagreement), run in-process against modules and patches a notebook could make.

The agent is plain Python, so it runs here on the test's own torch; each patch is undone by monkeypatch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradekit import agent, checks
from gradekit.agent import Agent, UnreadableModule


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.norm = nn.BatchNorm1d(4)
        self.out = nn.Linear(4, 1)
        self.register_buffer("scratch", torch.zeros(3), persistent=False)

    def forward(self, ids):
        return self.out(self.norm(self.embedding(ids).mean(1)))


def with_extra() -> Classifier:
    model = Classifier()
    model.extra = nn.Linear(100, 100)  # 10,100 parameters nobody should be able to hide
    return model


def names(rows) -> list[str]:
    return [row["name"] for row in rows]


def reply(module) -> dict:
    return Agent({}).op_state_dict(module)


def why(module) -> str:
    out = reply(module)
    return checks.disagreement(out["audit"], "the model", out["state"])


# -- what the storage holds ---------------------------------------------------------------------------------


def test_rows_and_state_match_torch_for_an_honest_module():
    model = Classifier()
    rows = Agent({}).op_parameters(model)
    assert names(rows) == [n for n, _ in model.named_parameters()]
    assert [row["shape"] for row in rows] == [list(p.shape) for p in model.parameters()]
    state = reply(model)["state"]
    assert list(state) == list(model.state_dict())  # the non-persistent buffer is left out, as torch does
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert why(model) == ""


def test_a_shared_parameter_is_listed_once_and_stored_under_each_name():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].weight = model[0].weight
    assert names(Agent({}).op_parameters(model)) == [n for n, _ in model.named_parameters()]
    assert list(reply(model)["state"]) == list(model.state_dict())
    assert why(model) == ""


def test_patched_nn_module_methods_change_nothing_read_and_are_reported(monkeypatch):
    expected = sum(p.numel() for p in with_extra().parameters())
    honest = nn.Module.named_parameters
    monkeypatch.setattr(nn.Module, "named_parameters", lambda self, *a, **k: (
        (n, p) for n, p in honest(self, *a, **k) if "extra" not in n))
    monkeypatch.setattr(nn.Module, "parameters", lambda self, recurse=True: (p for _, p in self.named_parameters()))
    monkeypatch.setattr(nn.Module, "modules", lambda self: iter([self]))
    model = with_extra()
    assert sum(p.numel() for p in model.parameters()) == expected - 10_100  # what the patch tells anyone asking
    assert checks.trainable_count(Agent({}).op_parameters(model)) == expected
    assert "parameters() leaves out 'extra.weight', 'extra.bias'" in why(model)


def test_overrides_on_the_class_change_nothing_read():
    class Liar(Classifier):
        def named_parameters(self, *args, **kwargs):
            return iter([])

        def state_dict(self, *args, **kwargs):
            return {"out.weight": torch.zeros(1, 4)}

    model = Liar()
    assert names(Agent({}).op_parameters(model)) == [n for n, _ in Classifier().named_parameters()]
    message = why(model)
    assert "state_dict() leaves out 'embedding.weight'" in message
    assert "state_dict() reports other values for 'out.weight'" in message


def test_a_dict_that_hides_a_submodule_hides_it_from_nobody():
    class Quiet(dict):
        def items(self):
            return [(k, v) for k, v in super().items() if k != "extra"]

        def __iter__(self):
            return iter(k for k, _ in self.items())

    model = with_extra()
    model._modules = Quiet(model._modules)
    assert "extra.weight" not in dict(nn.Module.named_parameters(model))  # what torch itself is told
    assert "extra.weight" in names(Agent({}).op_parameters(model))
    assert "leaves out 'extra.weight'" in why(model)


def test_a_property_named_dict_does_not_hide_the_storage():
    class Masked(Classifier):
        @property
        def __dict__(self):
            return {}

    model = Classifier()
    model.__class__ = Masked  # after __init__, which needs the real __dict__
    assert vars(model) == {}
    assert names(Agent({}).op_parameters(model)) == names(Agent({}).op_parameters(Classifier()))


def test_storage_that_is_not_a_dict_is_refused_with_a_reason():
    model = Classifier()
    object.__setattr__(model, "_parameters", [1, 2])
    with pytest.raises(UnreadableModule, match="_parameters is a list, not a dict"):
        Agent({}).op_parameters(model)
    with pytest.raises(UnreadableModule, match="not an nn.Module"):
        Agent({}).op_parameters(object())


def test_a_rebound_tensor_base_is_refused(monkeypatch):
    monkeypatch.setattr(agent, "_API", [])
    monkeypatch.setattr(torch._C, "TensorBase", type("TensorBase", (), {}))
    with pytest.raises(UnreadableModule, match="TensorBase was replaced"):
        Agent({}).op_parameters(Classifier())


def test_a_patched_tensor_shape_changes_nothing_read(monkeypatch):
    monkeypatch.setattr(torch.Tensor, "shape", property(lambda self: torch.Size([1])), raising=False)
    rows = Agent({}).op_parameters(with_extra())
    assert {"name": "extra.weight", "shape": [100, 100], "requires_grad": True} in rows


def test_state_dict_that_raises_is_reported():
    class Broken(Classifier):
        def state_dict(self, *args, **kwargs):
            raise RuntimeError("no")

    assert "state_dict() or .parameters() raised RuntimeError: no" in why(Broken())


def test_a_copy_with_the_same_values_agrees():
    class Cloning(Classifier):
        def state_dict(self, *args, **kwargs):
            return {k: v.clone() for k, v in super().state_dict(*args, **kwargs).items()}

    assert why(Cloning()) == ""


def test_meta_tensors_are_compared_by_shape():
    with torch.device("meta"):
        model = with_extra()
    out = agent.audit(model)
    assert checks.disagreement(out, "the model") == ""
    assert out["stored_keys"]["extra.weight"] == [100, 100]


# -- gradients and loading ----------------------------------------------------------------------------------


def test_forward_backward_reads_gradients_from_storage(monkeypatch):
    monkeypatch.setattr(nn.Module, "named_parameters", lambda self, *a, **k: iter([]))
    model = Classifier().eval()
    grads = Agent({}).op_forward_backward(model, [torch.tensor([[1, 2], [3, 4]])], {}, None)["grads"]
    assert list(grads) == ["embedding.weight", "norm.weight", "norm.bias", "out.weight", "out.bias"]
    assert torch.count_nonzero(grads["embedding.weight"][1]) > 0
    assert torch.count_nonzero(grads["embedding.weight"][9]) == 0


def test_load_values_copies_into_what_the_tree_holds_whatever_it_reports(monkeypatch):
    monkeypatch.setattr(nn.Module, "named_parameters", lambda self, *a, **k: iter([]))
    model = Classifier()
    values = {"out.weight": torch.full((1, 4), 2.0), "norm.running_mean": torch.ones(4)}
    Agent({}).op_run("gk_load(m, values)", {"m": model, "values": values})
    assert torch.equal(model.out.weight.detach(), values["out.weight"]) and model.out.weight.requires_grad
    assert torch.equal(model.norm.running_mean, torch.ones(4))
    with pytest.raises(UnreadableModule, match="holds no tensor named 'nope'"):
        agent.load_values(model, {"nope": torch.zeros(1)})
    with pytest.raises(UnreadableModule, match="has shape"):
        agent.load_values(model, {"out.weight": torch.zeros(2)})


def test_grader_snippets_get_the_readers():
    model = with_extra()
    out = Agent({}).op_run("result = [n for n, _ in gk_parameters(m)], list(gk_state_dict(m)), "
                           "[p for p, _ in gk_modules(m)], gk_rows(m)[-1]", {"m": model})
    assert out[0] == [n for n, _ in model.named_parameters()]
    assert out[1] == list(model.state_dict())
    assert out[2] == [n for n, _ in model.named_modules()]
    assert out[3] == {"name": "extra.bias", "shape": [100], "requires_grad": True}


# -- the host side ------------------------------------------------------------------------------------------


def test_malformed_audits_fail_with_a_message():
    with pytest.raises(pytest.fail.Exception, match="malformed"):
        checks.disagreement({"stored_keys": []}, "the model")


def test_draw_like_draws_every_shape_from_the_generator():
    gen = torch.Generator().manual_seed(0)
    drawn = checks.draw_like({"w": [400, 100], "b": [400], "s": []}, gen)
    assert {k: tuple(v.shape) for k, v in drawn.items()} == {"w": (400, 100), "b": (400,), "s": ()}
    assert abs(drawn["w"].std().item() - 0.1) < 0.01 and abs(drawn["b"].std().item() - 0.5) < 0.1
    again = checks.draw_like({"w": [400, 100]}, torch.Generator().manual_seed(0))
    assert torch.equal(again["w"], drawn["w"])
