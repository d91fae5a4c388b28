"""Q8 learning: a fresh LSTMClassifier and GRUClassifier, trained by the graders' own loop for a fixed budget, must
classify held-out reviews. Their texts go into the kernel as ids; their labels never leave the host.

The training seed is fixed by the assignment: a TA who grades again must get the same verdict."""

import pytest
import torch

from gradekit.shared_checks import SENTIMENT_CLASSES, record_held_out_picture, record_loss_picture

from . import learning

Q = "learning"


@pytest.mark.parametrize("name", ["LSTMClassifier", "GRUClassifier"])
@pytest.mark.question(Q, points=2, builds_on=("lstm_classifier", "gru_classifier"))
def test_held_out_accuracy(submission, name, pool, held_out, assignment, data_path, record_property):
    """Trained by the graders' loop, your classifier clears the accuracy threshold on held-out reviews"""
    s = assignment.settings
    reply = submission.run(learning.TRAIN_AND_PREDICT, timeout=float(s["learn_timeout"]), name=name,
                           what=f"training {name} with the graders' loop", **learning.inputs(name, pool, held_out, s))
    logits = reply.get("logits") if isinstance(reply, dict) else None
    record_loss_picture(record_property, f"your {name}", reply)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (len(held_out), 2):
        pytest.fail(f"the trained {name} did not return two logits per held-out review")
    accuracy = learning.accuracy(logits, held_out)
    threshold, how = learning.threshold_for(data_path, name, pool, held_out, s)
    record_property("info", f"held-out accuracy {accuracy:.1%} (threshold {threshold:.0%}: {how})")
    record_held_out_picture(record_property, f"Your {name}", [r.label for r in held_out],
                            logits.argmax(dim=-1).tolist(), SENTIMENT_CLASSES, accuracy, threshold)
    assert accuracy >= threshold, (
        f"after {s['learn_epochs']} epochs on {min(len(pool), int(s['learn_train_reviews'])):,} reviews, {name} "
        f"classified {accuracy:.1%} of {len(held_out)} held-out reviews correctly; the threshold is {threshold:.0%}")
