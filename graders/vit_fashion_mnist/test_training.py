"""train_epoch and evaluate, by behaviour: the weights move in one and not in the other, and evaluate reports
the loss and accuracy of the model's own predictions. The images, labels and the model's initial weights are
drawn per grading run, so the numbers evaluate must report cannot be known in advance; the weights are read
from the model's storage (gk_state_dict), not through methods a notebook can patch."""

import pytest
import torch
import torch.nn.functional as F

from gradekit import checks, shared_checks

RUN = """
import torch
torch.manual_seed(seed)
model = ViT(image_size=28, patch_size=7, num_classes=10, channels=1, dim=16, depth=1, heads=2, mlp_dim=32, dim_head=8)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=20, shuffle=False)
before = {k: v.clone() for k, v in gk_state_dict(model).items()}
modes = []
hook = model.register_forward_hook(lambda m, i, o: modes.append([m.training, torch.is_grad_enabled()]))
history = []
if which == "train":
    model.eval()
    returned = train_epoch(model, torch.optim.Adam(model.parameters(), lr=0.01), loader, history)
else:
    model.train()
    returned = evaluate(model, loader, history)
hook.remove()
after = {k: v.clone() for k, v in gk_state_dict(model).items()}
model.eval()
with torch.no_grad():
    logits = model(images)
result = {"returned": returned, "before": before, "after": after, "modes": modes, "history": history,
          "logits": logits}
"""


@pytest.fixture(scope="module")
def data(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(60, 1, 28, 28, generator=g), torch.randint(0, 10, (60,), generator=g), seed % 1_000_003


def run(submission, which, data):
    images, labels, seed = data
    what = f"{which}(model, {'optimizer, ' if which == 'train_epoch' else ''}data_loader, loss_history)"
    out = submission.run(RUN, what=what, name=which, which="train" if which == "train_epoch" else "eval",
                         images=images, labels=labels, seed=seed)
    out["changed"] = shared_checks.changed_weights(out)
    return out


@pytest.fixture(scope="module")
def trained(submission, data):
    return run(submission, "train_epoch", data)


@pytest.fixture(scope="module")
def evaluated(submission, data):
    return run(submission, "evaluate", data)


@pytest.mark.question("train_epoch", points=1)
def test_train_epoch_updates_the_weights(trained):
    """train_epoch changes the model's weights"""
    assert trained["changed"], "train_epoch: no weight changed; call loss.backward() and optimizer.step() per batch"


@pytest.mark.question("train_epoch", points=1)
def test_train_epoch_in_training_mode_and_records_the_loss(trained):
    """train_epoch trains in training mode and appends to loss_history"""
    assert trained["modes"] and all(training for training, _ in trained["modes"]), "train_epoch: call model.train()"
    assert trained["history"], "train_epoch should append the loss of batch 0 (and every 100th) to loss_history"


@pytest.mark.question("evaluate", points=1)
def test_evaluate_changes_nothing_and_needs_no_gradient(evaluated):
    """evaluate leaves the weights unchanged, in eval mode, without gradients"""
    assert not evaluated["changed"], f"evaluate changed weights: {evaluated['changed'][:3]}"
    assert evaluated["modes"] and not any(t for t, _ in evaluated["modes"]), "evaluate: call model.eval() first"
    assert not any(g for _, g in evaluated["modes"]), "evaluate: wrap the loop in `with torch.no_grad():`"


@pytest.mark.question("evaluate", points=1.5)
def test_evaluate_reports_loss_and_accuracy(evaluated, data):
    """evaluate returns the average loss and the accuracy of the model's predictions"""
    _, labels, _ = data
    returned = evaluated["returned"]
    if not (isinstance(returned, tuple) and len(returned) == 2):
        pytest.fail(f"evaluate should return (average loss, accuracy); it returned {checks.describe_value(returned)}")
    loss, acc = (checks.number(v, f"evaluate's {k}") for k, v in zip(("loss", "accuracy"), returned, strict=True))
    logits = checks.tensor(evaluated["logits"], "the model's predictions")
    want_loss = F.nll_loss(F.log_softmax(logits, dim=1), labels).item()
    want_acc = (logits.argmax(1) == labels).float().mean().item()
    assert abs(loss - want_loss) < 1e-4, f"evaluate returned an average loss of {loss:.4f}; it is {want_loss:.4f}"
    assert abs(acc - want_acc) < 1e-6, (
        f"evaluate returned accuracy {acc:.4f}; the predictions' accuracy is {want_acc:.4f} (a fraction between 0 "
        "and 1)")
