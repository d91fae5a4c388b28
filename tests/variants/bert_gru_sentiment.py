"""bert_gru_sentiment's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution."""

from variants import Variant

# -- training judged by effect (class 1, 4) ----------------------------------------------------------------------
# train runs on the graders' probe with plain SGD and is replayed on the host; evaluate earns its "changes nothing"
# and "no gradient" points only with figures that show it measured (gradekit.shared_checks). In the solution's
# cell train comes before evaluate, so an edit of a line both share applies to train's.

TRAIN_ZERO = "        optimizer.zero_grad()\n"
TRAIN_STEP = "        loss.backward()\n        optimizer.step()\n"
TRAIN_RETURN = ("        epoch_acc += acc.item()\n    return epoch_loss / len(iterator), epoch_acc / len(iterator)"
                "\n\n\ndef evaluate")
EVALUATE_LOOP = "    model.eval()\n    with torch.no_grad():\n        for batch in iterator:\n"

TRAINING_BY_EFFECT = [
    Variant("tr-ok_train_zero_grad_after_step", "clearing after each step leaves every backward a clean slate",
            edits=((TRAIN_ZERO, ""),
                   (TRAIN_STEP, TRAIN_STEP + "        optimizer.zero_grad()\n"))),
    Variant("tr-ok_train_under_set_grad_enabled", "set_grad_enabled(True) is the mode train runs in anyway",
            edits=(("    model.train()\n    for batch in iterator:\n",
                    "    model.train()\n    torch.set_grad_enabled(True)\n    for batch in iterator:\n"),)),
    Variant("tr-wrong_train_no_zero_grad", "without zero_grad each step uses the sum of every gradient so far",
            edits=((TRAIN_ZERO, ""),),
            lost={"train": 1, "accuracy_threshold": 3}, says=(("train", "the gradients add up across batches"),)),
    Variant("tr-wrong_train_sigmoid_before_criterion", "BCEWithLogitsLoss of a sigmoid squashes the logits twice",
            edits=(("        loss = criterion(predictions, batch.label)\n",
                    "        loss = criterion(torch.sigmoid(predictions), batch.label)\n"),),
            lost={"train": 1, "accuracy_threshold": 3},
            says=(("train", "the loss applies a sigmoid before criterion"),)),
    Variant("tr-wrong_train_returns_constants", "a train that returns made-up figures reports nothing it trained on",
            edits=((TRAIN_RETURN, TRAIN_RETURN.replace("return epoch_loss / len(iterator), epoch_acc / len(iterator)",
                                                       "return 0.5, 0.5")),),
            lost={"train": 0.5}, says=(("train", "the mean of its batches' losses is"),)),
    Variant("tr-wrong_evaluate_returns_constants",
            "an evaluate that measures nothing earns nothing for changing nothing",
            edits=((EVALUATE_LOOP, "    return 0.69, 0.5\n" + EVALUATE_LOOP),),
            lost={"evaluate": 3}, says=(("evaluate", "evaluate never called the model"),)),
]

VARIANTS = [*TRAINING_BY_EFFECT]
