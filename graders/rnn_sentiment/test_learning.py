"""Q9 learning: a fresh RNNClassifier trained with the student's `train` for a fixed budget must classify
held-out reviews, drawn for this grading run from a seed the kernel never sees (learning.held_out). Their texts
go into the kernel as ids; their labels never leave the host.

The training seed is fixed by the assignment (not drawn per run): nothing about it helps a student, and a TA
who grades again must get the same verdict."""

import pytest
import torch

from gradekit.shared_checks import SENTIMENT_CLASSES, record_held_out_picture, record_loss_picture

from . import learning

Q = "accuracy_threshold"

@pytest.mark.question(Q, points=3, builds_on=("embedding", "lstm", "rnn_classifier", "train_evaluate"))
def test_held_out_accuracy(submission, ref_vocab, splits, assignment, data_path, held_out_seed, record_property):
    """Trained with your train, the classifier clears the accuracy threshold on held-out reviews"""
    s = assignment.settings
    held_out = learning.held_out(splits, s, held_out_seed, data_path)
    given = learning.inputs(ref_vocab, splits, s, int(s["learn_seed"]), held_out)
    reply = submission.run(learning.TRAIN_AND_PREDICT, timeout=float(s["learn_timeout"]),
                           what="training RNNClassifier with your train", name="train", **given)
    probs = reply.get("probs") if isinstance(reply, dict) else None
    record_loss_picture(record_property, "your train", reply)
    if not isinstance(probs, torch.Tensor) or probs.shape != (len(held_out),):
        pytest.fail("the trained RNNClassifier did not return one probability per held-out review")
    accuracy = learning.accuracy(probs, held_out)
    threshold, how = learning.threshold_for(data_path, ref_vocab, splits, s, held_out)
    record_property("info", f"held-out accuracy {accuracy:.1%} (threshold {threshold:.0%}: {how})")
    record_held_out_picture(record_property, "Your RNNClassifier", [r.label for r in held_out],
                            (probs > 0.5).long().tolist(), SENTIMENT_CLASSES, accuracy, threshold)
    assert accuracy >= threshold, (
        f"after {s['learn_epochs']} epochs of your train on {sum(len(b[2]) for b in given['train_data']):,} "
        f"reviews, RNNClassifier classified {accuracy:.1%} of {len(held_out)} held-out reviews correctly; the "
        f"threshold is {threshold:.0%}")
