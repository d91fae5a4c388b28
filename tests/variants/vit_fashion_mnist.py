"""vit_fashion_mnist's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution."""

from variants import Variant

# -- training judged by effect (class 1, 4) ----------------------------------------------------------------------
# train_epoch runs on the graders' probe with plain SGD and is replayed on the host; evaluate earns its "changes
# nothing" point only with figures that show it measured (gradekit.shared_checks).

TRAIN_STEP = """        optimizer.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(data), dim=1), target)
        loss.backward()
        optimizer.step()
"""

TRAINING_BY_EFFECT = [
    Variant("tr-ok_train_epoch_model_zero_grad", "model.zero_grad() clears the same parameters the optimizer holds",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("optimizer.zero_grad()", "model.zero_grad()")),)),
    Variant("tr-ok_train_epoch_cross_entropy", "F.cross_entropy is log_softmax followed by nll_loss",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.nll_loss(F.log_softmax(model(data), dim=1), target)",
                                                   "F.cross_entropy(model(data), target)")),)),
    Variant("tr-ok_train_epoch_logs_after_every_100_batches",
            "'every 100 batches' read as after batch 100, 200, ...: the loss of every 100th batch all the same",
            edits=(("        if i % 100 == 0:\n            loss_history.append(loss.item())",
                    "        if (i + 1) % 100 == 0:\n            loss_history.append(loss.item())"),)),
    Variant("tr-wrong_train_epoch_no_zero_grad", "without zero_grad each step uses the sum of every gradient so far",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("        optimizer.zero_grad()\n", "")),),
            lost={"train_epoch": 1, "accuracy_threshold": 3},
            says=(("train_epoch", "the gradients add up across batches"),)),
    Variant("tr-wrong_train_epoch_no_log_softmax", "nll_loss of raw outputs is not the cross-entropy of the classes",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.log_softmax(model(data), dim=1)", "model(data)")),),
            lost={"train_epoch": 1, "accuracy_threshold": 3},
            says=(("train_epoch", "apply F.log_softmax(..., dim=1) first"),)),
    Variant("tr-wrong_evaluate_returns_constants",
            "an evaluate that measures nothing earns nothing for changing nothing",
            edits=(("    model.eval()\n    total_loss, correct = 0.0, 0\n",
                    "    return 2.3, 0.1\n    model.eval()\n    total_loss, correct = 0.0, 0\n"),),
            lost={"evaluate": 2.5}, says=(("evaluate", "evaluate never called the model"),)),
]

VARIANTS = [*TRAINING_BY_EFFECT]
