"""Learning: a fresh ViT trained with the student's train_epoch for a fixed budget must classify held-out images
drawn for this grading run (workspace.held_out), whose labels never leave the host."""

import pytest
import torch

from gradekit.datasets.images import CLASSES
from gradekit.shared_checks import record_held_out_picture

from . import learning, workspace

Q = "accuracy_threshold"


@pytest.mark.question(Q, points=3, builds_on=("prenorm", "feedforward", "attention", "transformer", "vit_forward",
                                              "train_epoch"))
def test_held_out_accuracy(submission, splits, assignment, data_path, held_out_seed, record_property):
    """Trained with your train_epoch, your ViT clears the accuracy threshold on held-out images"""
    s = assignment.settings
    held_out = workspace.held_out(splits, data_path, held_out_seed)
    logits = submission.run(learning.TRAIN_AND_PREDICT, timeout=float(s["learn_timeout"]),
                            what="training ViT with your train_epoch", name="train_epoch",
                            **learning.inputs(splits.train, held_out, s))
    if not isinstance(logits, torch.Tensor) or logits.shape != (len(held_out), 10):
        pytest.fail("the trained ViT did not return 10 scores per held-out image")
    accuracy = learning.accuracy(logits, held_out)
    threshold, how = learning.threshold_for(data_path, splits.train, held_out, s)
    record_property("info", f"held-out accuracy {accuracy:.1%} (threshold {threshold:.0%}: {how})")
    record_held_out_picture(record_property, "Your ViT", held_out.labels.tolist(), logits.argmax(1).tolist(), CLASSES,
                            accuracy, threshold)
    assert accuracy >= threshold, (
        f"after {s['learn_epochs']} epochs of your train_epoch, the ViT classified {accuracy:.1%} of "
        f"{len(held_out)} held-out images correctly; the threshold is {threshold:.0%}")
