"""rnn_sentiment's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution."""

from variants import Variant

VARIANTS = [
    Variant("ok_binary_accuracy_by_sign", "a positive logit is a probability above 0.5: same predictions",
            edits=(("rounded = torch.round(torch.sigmoid(preds))", "rounded = (preds > 0).float()"),)),
]
