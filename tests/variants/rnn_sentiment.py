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
    Variant("wrong_binary_accuracy_always_one", "a constant accuracy measures nothing (issue 11 class 4); train "
            "and evaluate average what it says, as they should, and are not charged for its mistake",
            edits=((ACCURACY, "    return torch.tensor(1.0)"),),
            lost={"binary_accuracy": 4},
            says=(("binary_accuracy", "binary_accuracy gave 1.0000"),)),
    Variant("wrong_train_accuracy_of_probabilities", "binary_accuracy takes logits: on probabilities every "
            "prediction rounds to 1, so train reports the share of positive labels, not its accuracy",
            edits=((TRAIN_BODY, TRAIN_BODY.replace("torch.logit(predictions, eps=1e-6)", "predictions")),),
            lost={"train_evaluate": 0.5}, says=(("train_evaluate", "binary_accuracy takes logits"),)),
    Variant("ok_train_accuracy_by_hand", "a probability above 0.5 against the label is binary_accuracy's answer",
            edits=((TRAIN_BODY, TRAIN_BODY.replace(
                "binary_accuracy(torch.logit(predictions, eps=1e-6), batch.label)",
                "((predictions > 0.5).float() == batch.label).float().mean()")),)),
    Variant("wrong_template_train_evaluate_accuracy_constants",
            "issue 11's template: train and evaluate return constants, binary_accuracy 1.0; nothing done earns nothing",
            edits=((TRAIN_START, "    return 0.5, 0.5\n" + TRAIN_START),
                   (EVALUATE_START, "    return 0.69, 0.5\n" + EVALUATE_START),
                   (ACCURACY, "    return 1.0")),
            lost={"binary_accuracy": 4, "train_evaluate": 5, "accuracy_threshold": 3},
            says=(("train_evaluate", "no weight changed"), ("train_evaluate", "evaluate never called the model"))),
]

# -- Q1 build_vocab, Q2 tokenize ------------------------------------------------------------------------------------
VOCAB_LOOP = "    for text in x_train:\n        text = re.sub(r\"<[^>]*>\", \" \", text)\n" \
             "        for word in re.findall(r\"[a-zA-Z]+\", text):\n"
VOCAB_COUNT = "            word = word.lower()\n            if word not in hparams.STOP_WORDS:\n" \
              "                counts[word] += 1\n"
VOCAB_SPECIAL = "    vocab[hparams.PAD_TOKEN] = hparams.PAD_INDEX\n    vocab[hparams.UNK_TOKEN] = hparams.UNK_INDEX\n"
VOCAB_KEEP = "    for word, count in counts.most_common():\n        if count >= min_freq:\n" \
             "            vocab[word] = len(vocab)\n"
TOKENIZE_LOOP = "    text = re.sub(r\"<[^>]*>\", \" \", example)\n    for word in re.findall(r\"[a-zA-Z]+\", text):\n" \
                "        word = word.lower()\n        if word in hparams.STOP_WORDS:\n"
TOKENIZE_LOOKUP = "        tokens.append(vocab.get(word, hparams.UNK_INDEX))\n"

TEXT = [
    Variant("ok_build_vocab_alphabetical_ids", "the same words with ids in another order are the same vocabulary",
            edits=((VOCAB_KEEP, "    for word in sorted(w for w, count in counts.items() if count >= min_freq):\n"
                                "        vocab[word] = len(vocab)\n"),)),
    Variant("ok_build_vocab_counter_update", "Counter.update over a generator counts the same words",
            edits=((VOCAB_LOOP + VOCAB_COUNT,
                    "    for text in x_train:\n"
                    "        found = (w.lower() for w in\n"
                    "                 re.findall(r\"[a-zA-Z]+\", re.sub(r\"<[^>]*>\", \" \", text)))\n"
                    "        counts.update(w for w in found if w not in hparams.STOP_WORDS)\n"),)),
    Variant("wrong_build_vocab_min_freq_exclusive", "count > min_freq drops the words seen exactly min_freq times",
            edits=(("if count >= min_freq:", "if count > min_freq:"),),
            lost={"build_vocab": 2.5}, says=(("build_vocab", "seen exactly min_freq times must be kept"),)),
    Variant("wrong_build_vocab_pad_unk_swapped", "<pad> and <unk> have fixed ids the batching code relies on",
            edits=((VOCAB_SPECIAL, "    vocab[hparams.PAD_TOKEN] = hparams.UNK_INDEX\n"
                                   "    vocab[hparams.UNK_TOKEN] = hparams.PAD_INDEX\n"),),
            lost={"build_vocab": 1}, says=(("build_vocab", "'<pad>' must have id 0 and '<unk>' id 1"),)),
    Variant("ok_tokenize_comprehension", "one list comprehension over the same words",
            edits=((TOKENIZE_LOOP + "            continue\n" + TOKENIZE_LOOKUP,
                    "    words = [w.lower() for w in\n"
                    "             re.findall(r\"[a-zA-Z]+\", re.sub(r\"<[^>]*>\", \" \", example))]\n"
                    "    tokens = [vocab.get(w, hparams.UNK_INDEX)\n"
                    "              for w in words if w not in hparams.STOP_WORDS]\n"),)),
    Variant("ok_tokenize_lower_cases_the_review_first", "lower-casing the review, then [a-z]+, gives the same words",
            edits=((TOKENIZE_LOOP, TOKENIZE_LOOP.replace("example)", "example.lower())").replace("a-zA-Z", "a-z")
                    .replace("        word = word.lower()\n", "")),)),
    Variant("wrong_tokenize_drops_unknown_words", "a word not in the vocabulary is <unk>, not nothing",
            edits=((TOKENIZE_LOOKUP, "        if word in vocab:\n            tokens.append(vocab[word])\n"),),
            lost={"tokenize": 2.5}, says=(("tokenize", "must become UNK_INDEX (1), not be dropped"),)),
]

# -- Q3 Embedding ---------------------------------------------------------------------------------------------------
LOOKUP = "        embeddings = weight[inputs]\n"

EMBEDDING = [
    Variant("ok_embedding_functional", "F.embedding on the masked weight is the same look-up",
            edits=((LOOKUP, "        embeddings = nn.functional.embedding(inputs, weight)\n"),)),
    Variant("ok_embedding_index_select", "index_select on the flattened ids, viewed back, is the same look-up",
            edits=((LOOKUP, "        embeddings = weight.index_select(0, inputs.reshape(-1))"
                            ".view(*inputs.shape, -1)\n"),)),
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
]

LSTM_STEP = LSTM_GATES + \
    "            c_new = torch.sigmoid(f) * c[0] + torch.sigmoid(i) * torch.tanh(g)\n" \
    "            h_new = torch.sigmoid(o) * torch.tanh(c_new)\n"
LSTM_LOOP = "        h_seq = []\n        for t in range(seq_len):\n            gates = self.W_xh(x[t])"
LSTM_STACK = "        h_seq = torch.stack(h_seq)                                    # (seq_len, batch, hidden)\n"

LSTM += [
    Variant("ok_lstm_fused_sigmoid_f_i_o_g", "seed 003's layout: one sigmoid over three gates (f, i, o), then g",
            edits=((LSTM_STEP,
                    "            gates = self.W_xh(x[t]) + self.W_hh(h[0])\n"
                    "            sig, g = gates.split((3 * self.hidden_size, self.hidden_size), dim=-1)\n"
                    "            f, i, o = sig.sigmoid().chunk(3, dim=-1)\n"
                    "            c_new = f * c[0] + i * g.tanh()\n"
                    "            h_new = o * torch.tanh(c_new)\n"),)),
    Variant("ok_lstm_input_projection_before_the_loop", "projecting every x_t at once, outside the loop, is the same",
            edits=((LSTM_LOOP, LSTM_LOOP.replace("        h_seq = []\n",
                                                 "        x_proj = self.W_xh(x)  # (seq_len, batch, 4H)\n"
                                                 "        h_seq = []\n").replace("self.W_xh(x[t])", "x_proj[t]")),)),
    Variant("ok_lstm_batch_first_einops", "batch first inside, with matching einops rearranges in and out",
            edits=(("class LSTM(nn.Module):", "from einops import rearrange\n\n\nclass LSTM(nn.Module):"),
                   (LSTM_LOOP, LSTM_LOOP.replace("        h_seq = []\n", '        x = rearrange(x, "t b i -> b t i")\n'
                                                 "        h_seq = []\n").replace("x[t]", "x[:, t]")),
                   (LSTM_STACK, '        h_seq = rearrange(torch.stack(h_seq, dim=1), "b t h -> t b h")\n'))),
    Variant("wrong_lstm_forget_gate_for_input_gate", "gates mixed: f scales the candidate too and i is never used",
            edits=(("torch.sigmoid(i) * torch.tanh(g)", "torch.sigmoid(f) * torch.tanh(g)"),),
            lost={"lstm": 3}, says=(("lstm", "one gate is used twice and another not at all"),)),
    Variant("wrong_lstm_h_without_tanh", "h = o * tanh(c): without the tanh h is not the LSTM's",
            edits=(("torch.sigmoid(o) * torch.tanh(c_new)", "torch.sigmoid(o) * c_new"),),
            lost={"lstm": 3}, says=(("lstm", "the new h has no tanh"),)),
    Variant("wrong_lstm_returns_c_for_h", "wrong state returned: (c, h) where nn.LSTM returns (h, c)",
            edits=(("return h_seq, (h, c)", "return h_seq, (c, h)"),),
            lost={"lstm": 3}, says=(("lstm", "the final state comes back as (c, h)"),)),
]

# -- Q5 RNNClassifier: packing, the final hidden state, one sigmoid ----------------------------------------------------
CLF_PACK = "        if lengths is not None:\n" \
           "            embeddings = pack_padded_sequence(embeddings, torch.as_tensor(lengths).cpu(), " \
           "enforce_sorted=False)\n"
CLF_STATE = "        _, state = self.rnn(embeddings)\n" \
            "        h = state[0] if isinstance(state, tuple) else state           # (1, batch, hidden)\n"
CLF_OUT = "        output = torch.sigmoid(self.output(h[0])).view(-1)            # (batch,)\n"
FROM_H_SEQ = "        h_seq, _ = self.rnn(embeddings)\n" \
             "        if isinstance(h_seq, PackedSequence):\n" \
             "            h_seq, _ = pad_packed_sequence(h_seq)\n"

CLASSIFIER = [
    Variant("ok_classifier_sigmoid_module", "an nn.Sigmoid module is the same sigmoid (and has no parameters)",
            edits=(("        self.output = nn.Linear(hidden_size, 1)\n",
                    "        self.output = nn.Linear(hidden_size, 1)\n        self.sigmoid = nn.Sigmoid()\n"),
                   (CLF_OUT, "        output = self.sigmoid(self.output(h[0])).view(-1)\n"))),
    Variant("ok_classifier_sorted_packing", "sorting by length, packing sorted, and unsorting h is the same packing",
            edits=((CLF_PACK + CLF_STATE,
                    "        order = None\n"
                    "        if lengths is not None:\n"
                    "            lengths, order = torch.as_tensor(lengths).sort(descending=True)\n"
                    "            embeddings = pack_padded_sequence(embeddings[:, order], lengths.cpu())\n"
                    + CLF_STATE +
                    "        if order is not None:\n"
                    "            h = h[:, order.argsort()]\n"),)),
    Variant("ok_classifier_gathers_each_last_step", "h_seq at each review's last real step is its final hidden state",
            edits=((CLF_STATE, FROM_H_SEQ +
                    "        n = h_seq.shape[1]\n"
                    "        last = (torch.as_tensor(lengths) - 1 if lengths is not None\n"
                    "                else torch.full((n,), h_seq.shape[0] - 1))\n"
                    "        h = h_seq[last, torch.arange(n)][None]                     # (1, batch, hidden)\n"),)),
    Variant("wrong_classifier_last_padded_step", "wrong hidden state: h_seq[-1] is padding for every shorter review",
            edits=((CLF_STATE, FROM_H_SEQ + "        h = h_seq[-1:]\n"),),
            lost={"rnn_classifier": 2, "accuracy_threshold": 3},
            says=(("rnn_classifier", "not from the padded time steps"),)),
    Variant("wrong_classifier_sigmoid_missing", "the model must return probabilities; BCELoss then fails in training",
            edits=((CLF_OUT, "        output = self.output(h[0]).view(-1)\n"),),
            lost={"rnn_classifier": 1.5, "accuracy_threshold": 3}, says=(("rnn_classifier", "apply a sigmoid"),)),
    Variant("wrong_classifier_sigmoid_doubled", "a second sigmoid squeezes every probability into (0.5, 0.73)",
            edits=((CLF_OUT, "        output = torch.sigmoid(torch.sigmoid(self.output(h[0]))).view(-1)\n"),),
            lost={"rnn_classifier": 1.5, "accuracy_threshold": 3}, says=(("rnn_classifier", "more than once"),)),
]

# -- Q7 evaluate: another no-gradient mode, and no eval mode ------------------------------------------------------
TRAINING += [
    Variant("ok_evaluate_inference_mode", "torch.inference_mode() measures without gradients, as no_grad does",
            edits=((EVALUATE_START, EVALUATE_START.replace("torch.no_grad()", "torch.inference_mode()")),)),
    Variant("wrong_evaluate_never_calls_model_eval", "evaluate must measure in evaluation mode (dropout off, ...)",
            edits=((EVALUATE_START, "    with torch.no_grad():\n"),),
            lost={"train_evaluate": 1}, says=(("train_evaluate", "call model.eval() first"),)),
]

VARIANTS = [
    Variant("ok_binary_accuracy_by_sign", "a positive logit is a probability above 0.5: same predictions",
            edits=(("rounded = torch.round(torch.sigmoid(preds))", "rounded = (preds > 0).float()"),)),
    Variant("ok_binary_accuracy_sum_over_len", "seed 004's form: the number correct over the number of labels",
            edits=((ACCURACY, "    correct = (torch.round(torch.sigmoid(preds)) == y).float()\n"
                              "    return correct.sum() / len(correct)"),)),
    *TEXT,
    *EMBEDDING,
    *LSTM,
    *CLASSIFIER,
    *TRAINING,
]
