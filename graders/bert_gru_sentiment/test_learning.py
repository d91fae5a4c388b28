"""Learning: the student's BERTGRUSentiment head, frozen with their freeze_bert and trained with their train
on frozen BERT features, must classify held-out reviews drawn for this grading run (see learning.py), whose
labels never leave the host."""

import pytest
import torch

from gradekit.proxy import StudentCodeError
from gradekit.shared_checks import SENTIMENT_CLASSES, record_held_out_picture, record_loss_picture

from . import learning, workspace

Q = "accuracy_threshold"


@pytest.fixture(scope="module")
def budget(bert_dir, tokenizer, splits, settings, data_path, held_out_seed):
    pool = workspace.held_out_pool(splits, data_path, learning.pool_secret())
    return learning.Budget(bert_dir, tokenizer, splits, pool, held_out_seed, settings)


@pytest.mark.question(Q, points=3, builds_on=("model_init", "train"))
def test_held_out_accuracy(submission, budget, data_path, settings, record_property):
    """Trained with your train, your model clears the accuracy threshold on held-out reviews"""
    try:
        reply = submission.run(learning.TRAIN_AND_PREDICT, timeout=float(settings["learn_timeout"]),
                               what="training BERTGRUSentiment with your train", name="train", **budget.inputs())
    except StudentCodeError as exc:
        if exc.type != learning.GraderStandInError.__name__:
            raise
        # The graders' object failed, not the student's code: the check's own error, never the student's.
        raise RuntimeError(f"the graders' stand-in for BERT could not run your model: {exc.detail}") from None
    logits = reply.get("logits") if isinstance(reply, dict) else None
    record_loss_picture(record_property, "your train", reply)
    if not isinstance(logits, torch.Tensor) or logits.shape != (len(budget.held_out),):
        pytest.fail("the trained BERTGRUSentiment did not return one logit per held-out review")
    accuracy = budget.accuracy(logits)
    threshold, how = learning.threshold_for(data_path, budget)
    record_property("info", f"held-out accuracy {accuracy:.1%} (threshold {threshold:.0%}: {how})")
    record_held_out_picture(record_property, "Your BERTGRUSentiment", [r.label for r in budget.held_out],
                            (logits > 0).long().tolist(), SENTIMENT_CLASSES, accuracy, threshold)
    assert accuracy >= threshold, (
        f"after {settings['learn_epochs']} epochs of your train, BERTGRUSentiment classified {accuracy:.1%} of "
        f"{len(budget.held_out)} held-out reviews correctly; the threshold is {threshold:.0%}")
