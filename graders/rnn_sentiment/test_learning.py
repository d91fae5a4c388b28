"""Q9 learning: a fresh RNNClassifier trained with the student's `train` for a fixed budget must classify
held-out reviews, drawn for this grading run from a seed the kernel never sees (learning.held_out). Their texts
go into the kernel as ids; their labels never leave the host.

The training seed is fixed by the assignment (not drawn per run): nothing about it helps a student, and a TA
who grades again must get the same verdict."""

import pytest
import torch

from . import learning

Q = "accuracy_threshold"

LEARN = """
import collections
import torch
_Batch = collections.namedtuple("Batch", ["text", "lengths", "label"])
torch.manual_seed(seed)
model = RNNClassifier(vocab_size, embedding_dim, hidden_size)
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
criterion = torch.nn.BCELoss()
batches = [_Batch(*b) for b in train_data]
order = torch.Generator().manual_seed(seed)
for _ in range(epochs):
    train(model, [batches[i] for i in torch.randperm(len(batches), generator=order).tolist()], optimizer,
          criterion)
model.eval()
with torch.no_grad():
    result = torch.cat([model(text, lengths).reshape(-1) for text, lengths in test_data])
"""


@pytest.mark.question(Q, points=3)
def test_held_out_accuracy(submission, ref_vocab, splits, assignment, data_path, held_out_seed, record_property):
    """Trained with your train, the classifier clears the accuracy threshold on held-out reviews"""
    s = assignment.settings
    train_batches = learning.train_batches(ref_vocab, splits, s)
    held_out = learning.held_out(splits, s, held_out_seed, data_path)
    probs = submission.run(
        LEARN, timeout=float(s["learn_timeout"]), what="training RNNClassifier with your train", name="train",
        seed=int(s["learn_seed"]), vocab_size=len(ref_vocab), embedding_dim=int(s["learn_embedding_dim"]),
        hidden_size=int(s["learn_hidden_size"]), lr=float(s["learn_lr"]), epochs=int(s["learn_epochs"]),
        train_data=[(b.text, b.lengths, b.label) for b in train_batches],
        test_data=[(b.text, b.lengths) for b in learning.test_batches(ref_vocab, held_out)])
    if not isinstance(probs, torch.Tensor) or probs.shape != (len(held_out),):
        pytest.fail("the trained RNNClassifier did not return one probability per held-out review")
    accuracy = learning.accuracy(probs, held_out)
    threshold, how = learning.threshold_for(data_path, ref_vocab, splits, s, held_out)
    record_property("info", f"held-out accuracy {accuracy:.1%} (threshold {threshold:.0%}: {how})")
    assert accuracy >= threshold, (
        f"after {s['learn_epochs']} epochs of your train on {len(train_batches) * int(s['learn_batch_size']):,} "
        f"reviews, RNNClassifier classified {accuracy:.1%} of {len(held_out)} held-out reviews correctly; the "
        f"threshold is {threshold:.0%}")
