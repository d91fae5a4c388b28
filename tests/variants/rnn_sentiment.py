"""rnn_sentiment's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution."""

from variants import Variant

# -- Q7 train, judged by its effect (issue 11 class 1), and what a train or evaluate that does nothing earns (4) --
# In the solution's cell train comes before evaluate, and an edit applies to the first occurrence: an edit of a line
# both share changes train's.
TRAIN_ZERO = "        optimizer.zero_grad()\n        predictions = model(batch.text, batch.lengths)\n"
TRAIN_STEP = "        loss.backward()\n        optimizer.step()\n        epoch_loss += loss.item()\n"
TRAIN_BODY = """    for batch in iterator:
        optimizer.zero_grad()
        predictions = model(batch.text, batch.lengths)
        loss = criterion(predictions, batch.label)
        acc = binary_accuracy(torch.logit(predictions, eps=1e-6), batch.label)
"""
TRAIN_RETURN = "    return epoch_loss / len(iterator), epoch_acc / len(iterator)\n\n\ndef evaluate"
TRAIN_START = "    epoch_loss, epoch_acc = 0.0, 0.0\n    model.train()\n"
EVALUATE_START = "    model.eval()\n    with torch.no_grad():\n"
ACCURACY = "    rounded = torch.round(torch.sigmoid(preds))\n    acc = (rounded == y).float().mean()\n    return acc"

TRAINING = [
    Variant("ok_train_zero_grad_set_to_none", "set_to_none=True clears the gradients as well as zeroing them",
            edits=((TRAIN_ZERO, TRAIN_ZERO.replace("zero_grad()", "zero_grad(set_to_none=True)")),)),
    Variant("ok_train_zero_grad_after_step", "clearing after each step leaves every backward a clean slate",
            edits=((TRAIN_ZERO, "        predictions = model(batch.text, batch.lengths)\n"),
                   (TRAIN_STEP, TRAIN_STEP.replace("optimizer.step()\n",
                                                   "optimizer.step()\n        optimizer.zero_grad()\n")))),
    Variant("ok_train_model_zero_grad", "model.zero_grad() clears the same parameters the optimizer holds",
            edits=((TRAIN_ZERO, TRAIN_ZERO.replace("optimizer.zero_grad()", "model.zero_grad()")),)),
    Variant("ok_train_unpacked_batch_keywords", "a Batch unpacks into its fields; any model takes them by keyword",
            edits=((TRAIN_BODY, TRAIN_BODY.replace("for batch in iterator", "for text, lengths, label in iterator")
                    .replace("model(batch.text, batch.lengths)", "model(sequence=text, lengths=lengths)")
                    .replace("batch.label", "label")),)),
    Variant("ok_train_device_from_parameters", "the reference's own idiom: the device of the model's parameters",
            edits=((TRAIN_START, TRAIN_START + "    device = next(model.parameters()).device\n"),
                   (TRAIN_ZERO, TRAIN_ZERO.replace("batch.text,", "batch.text.to(device),")))),
    Variant("ok_train_returns_a_list", "[loss, acc] is the same pair as (loss, acc)",
            edits=((TRAIN_RETURN, TRAIN_RETURN.replace("return epoch_loss", "return [epoch_loss")
                    .replace("epoch_acc / len(iterator)", "epoch_acc / len(iterator)]")),)),
    Variant("wrong_train_no_zero_grad", "without zero_grad each step uses the sum of all gradients (Adam still learns)",
            edits=((TRAIN_ZERO, "        predictions = model(batch.text, batch.lengths)\n"),),
            lost={"train_evaluate": 1.5}, says=(("train_evaluate", "the gradients add up across batches"),)),
    Variant("wrong_train_step_after_the_loop", "one step per epoch, after the loop: the model barely trains",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("        optimizer.step()\n", "")),
                   (TRAIN_RETURN, "    optimizer.step()\n" + TRAIN_RETURN)),
            lost={"train_evaluate": 1.5, "accuracy_threshold": 3},
            says=(("train_evaluate", "only the last batch's gradient was used"),)),
    Variant("wrong_train_mean_squared_error", "train must minimise the criterion it is given, not its own loss",
            edits=((TRAIN_BODY, TRAIN_BODY.replace("criterion(predictions, batch.label)",
                                                   "((predictions - batch.label) ** 2).mean()")),),
            lost={"train_evaluate": 1.5},
            says=(("train_evaluate", "the loss is the mean squared error"),)),
    Variant("wrong_train_never_calls_model_train", "train must put the model in training mode (dropout, ...)",
            edits=((TRAIN_START, "    epoch_loss, epoch_acc = 0.0, 0.0\n"),),
            lost={"train_evaluate": 0.5}, says=(("train_evaluate", "call model.train() first"),)),
    Variant("wrong_train_returns_constants", "a train that returns made-up figures reports nothing it trained on",
            edits=((TRAIN_RETURN, "    return 0.5, 0.5\n\n\ndef evaluate"),),
            lost={"train_evaluate": 0.5}, says=(("train_evaluate", "the mean of its batches' losses is"),)),
    Variant("wrong_evaluate_with_gradient", "evaluate must measure without building a graph",
            edits=((EVALUATE_START, EVALUATE_START.replace("torch.no_grad()", "torch.enable_grad()")),),
            lost={"train_evaluate": 1}, says=(("train_evaluate", "wrap the loop in `with torch.no_grad():`"),)),
    Variant("wrong_evaluate_returns_constants", "an evaluate that measures nothing earns nothing for changing nothing",
            edits=((EVALUATE_START, "    return 0.69, 0.5\n" + EVALUATE_START),),
            lost={"train_evaluate": 2.5}, says=(("train_evaluate", "evaluate never called the model"),)),
    Variant("wrong_binary_accuracy_always_one", "a constant accuracy measures nothing (issue 11 class 4)",
            edits=((ACCURACY, "    return torch.tensor(1.0)"),),
            lost={"binary_accuracy": 4, "train_evaluate": 1},
            says=(("binary_accuracy", "binary_accuracy gave 1.0000"),)),
    Variant("wrong_template_train_evaluate_accuracy_constants",
            "issue 11's template: train and evaluate return constants, binary_accuracy 1.0; nothing done earns nothing",
            edits=((TRAIN_START, "    return 0.5, 0.5\n" + TRAIN_START),
                   (EVALUATE_START, "    return 0.69, 0.5\n" + EVALUATE_START),
                   (ACCURACY, "    return 1.0")),
            lost={"binary_accuracy": 4, "train_evaluate": 5, "accuracy_threshold": 3},
            says=(("train_evaluate", "no weight changed"), ("train_evaluate", "evaluate never called the model"))),
]

# -- Q4 LSTM: the gates in any layout of the student's own parameters (issue 11 class 7) ---------------------------
LSTM_LAYERS = ("        self.W_xh = nn.Linear(input_size, 4 * hidden_size)\n"
               "        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)\n\n"
               "    def forward(self, x, h=None, c=None):\n")
LSTM_GATES = "            gates = self.W_xh(x[t]) + self.W_hh(h[0])                # (batch, 4H)\n" \
             "            i, f, g, o = gates.chunk(4, dim=-1)\n"
LAYOUT = "the notebook asks for all four gates in two layers"

LSTM = [
    Variant("ok_lstm_gate_order_ifog", "any fixed order of the four gates inside the two layers is fine",
            edits=((LSTM_GATES, LSTM_GATES.replace("i, f, g, o =", "i, f, o, g =")),)),
    Variant("layout_lstm_one_linear_per_gate_and_source",
            "a correct LSTM with eight Linears: only the layout check (once) and not param_count",
            edits=((LSTM_LAYERS, LSTM_LAYERS.replace(
                "        self.W_xh = nn.Linear(input_size, 4 * hidden_size)\n"
                "        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)\n",
                "        self.gates = nn.ModuleList(\n"
                "            nn.ModuleList([nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, hidden_size)])\n"
                "            for _ in range(4))\n")),
                   (LSTM_GATES, "            i, f, g, o = (wx(x[t]) + wh(h[0]) for wx, wh in self.gates)\n")),
            lost={"lstm": 0.5}, says=(("lstm", LAYOUT),)),
    Variant("layout_lstm_raw_parameters", "x @ W with raw Parameters is the same LSTM; only the layout check",
            edits=((LSTM_LAYERS, LSTM_LAYERS.replace(
                "        self.W_xh = nn.Linear(input_size, 4 * hidden_size)\n"
                "        self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)\n",
                "        self.W_x = nn.Parameter(torch.randn(input_size, 4 * hidden_size) / input_size ** 0.5)\n"
                "        self.W_h = nn.Parameter(torch.randn(hidden_size, 4 * hidden_size) / hidden_size ** 0.5)\n"
                "        self.b = nn.Parameter(torch.zeros(4 * hidden_size))\n")),
                   (LSTM_GATES, LSTM_GATES.replace("self.W_xh(x[t]) + self.W_hh(h[0])  ",
                                                   "x[t] @ self.W_x + h[0] @ self.W_h + self.b"))),
            lost={"lstm": 0.5}, says=(("lstm", LAYOUT),)),
    Variant("layout_lstm_hidden_side_without_bias", "one bias per gate is the same LSTM; only the layout check",
            edits=((LSTM_LAYERS, LSTM_LAYERS.replace("nn.Linear(hidden_size, 4 * hidden_size)",
                                                     "nn.Linear(hidden_size, 4 * hidden_size, bias=False)")),),
            lost={"lstm": 0.5}, says=(("lstm", LAYOUT),)),
    Variant("wrong_lstm_sigmoid_candidate", "the candidate g is a tanh, not a sigmoid",
            edits=(("torch.sigmoid(i) * torch.tanh(g)", "torch.sigmoid(i) * torch.sigmoid(g)"),),
            lost={"lstm": 3}, says=(("lstm", "h_seq differs from the LSTM equations"),)),
]

VARIANTS = [
    Variant("ok_binary_accuracy_by_sign", "a positive logit is a probability above 0.5: same predictions",
            edits=(("rounded = torch.round(torch.sigmoid(preds))", "rounded = (preds > 0).float()"),)),
    *TRAINING,
    *LSTM,
]
