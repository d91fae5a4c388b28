# ruff: noqa: E501 (the edits quote the solution's lines as they are)
"""bert_gru_sentiment's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution.

Questions and their points: tokenizer 6 (eight facts at 0.5 and tokenize_and_cut 2), data_split 3.5 (sizes 1,
partition 1, the prescribed shuffle 1, test set 0.5), model_init 7 (type, GRU sizes, output layer, output shape 1
each; the logits against the reference in four configurations, 0.5 each; dropout on the final state 1),
param_count 2, param_count_frozen 3 (the count 2, the notebook's model frozen 1), binary_accuracy 4, train 4,
evaluate 3, training_loop 3.5 (every epoch 1, the best model saved 2, the history 0.5), predict_sentiment 4.5 (ids
1, probability in eval mode 1, long review 1, the notebook's two predictions 0.5 each, own reviews 0.5),
accuracy_threshold 3.
"""

from variants import Variant

# -- pieces of the solution that the edits change ---------------------------------------------------------

FORWARD_BERT = "            embedded = self.bert(text)[0]                        # (batch, seq_len, emb)"
FINAL_STATE = """        _, hidden = self.rnn(embedded)                           # (layers * directions, batch, hidden)
        if self.rnn.bidirectional:
            hidden = torch.cat((hidden[-2], hidden[-1]), dim=1)  # (batch, 2 * hidden)
        else:
            hidden = hidden[-1]"""
GRU = """        self.rnn = nn.GRU(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional,
                          batch_first=True, dropout=0 if n_layers < 2 else dropout)"""
DROPOUT = "        self.dropout = nn.Dropout(dropout)"
HEAD = "        return self.out(self.dropout(hidden))                    # (batch, output_dim)"
SHUFFLE = "random.Random(SEED).shuffle(shuffled)"
SPLIT = "train_data, valid_data = shuffled[:n_train], shuffled[n_train:]"
FREEZE = """    for name, param in model.named_parameters():
        if name.startswith("bert"):
            param.requires_grad = False"""
PREDICT_IDS = "    tensor = torch.LongTensor(ids).unsqueeze(0)                  # (1, length)"
PREDICT_CALL = "        return torch.sigmoid(model(tensor)).item()"


def final_state(new: str) -> tuple[str, str]:
    return FINAL_STATE, new


VARIANTS = [
    # -- correct, written another way: full marks ---------------------------------------------------------
    Variant("bv-ok_bert_keywords_mask_last_hidden_state", "BertModel takes its ids by name, an attention_mask "
            "(unpadded ids give the same vectors) and returns .last_hidden_state: the learning check's stand-in "
            "for BERT must too",
            edits=((FORWARD_BERT, "            embedded = self.bert(input_ids=text,\n"
                                  "                                 attention_mask=(text != 0).long()).last_hidden_state"),)),
    Variant("bv-ok_final_states_from_outputs", "without packing, output[:, -1]'s forward half and output[:, 0]'s "
            "backward half are the last layer's final states",
            edits=(final_state("""        output, _ = self.rnn(embedded)                           # (batch, seq_len, directions * hidden)
        if self.rnn.bidirectional:
            H = self.rnn.hidden_size
            hidden = torch.cat((output[:, -1, :H], output[:, 0, H:]), dim=1)
        else:
            hidden = output[:, -1]"""),)),
    Variant("bv-ok_backward_direction_first", "which half of the linear layer reads which direction is a labelling of "
            "its weights",
            edits=(("hidden = torch.cat((hidden[-2], hidden[-1]), dim=1)",
                    "hidden = torch.cat((hidden[-1], hidden[-2]), dim=1)"),)),
    Variant("bv-ok_gru_time_first", "a GRU that is not batch first, fed BERT's output transposed, computes the same",
            edits=((GRU, """        self.rnn = nn.GRU(embedding_dim, hidden_dim, num_layers=n_layers, bidirectional=bidirectional,
                          dropout=0 if n_layers < 2 else dropout)"""),
                   ("        _, hidden = self.rnn(embedded)                           # (layers * directions, batch, hidden)",
                    "        _, hidden = self.rnn(embedded.permute(1, 0, 2))")),),
    Variant("bv-ok_functional_dropout", "F.dropout with the module's training flag is nn.Dropout",
            edits=((DROPOUT, "        self.p = dropout"),
                   (HEAD, "        return self.out(nn.functional.dropout(hidden, self.p, self.training))"))),
    Variant("bv-ok_split_global_random_seeded", "random.seed(SEED) then random.shuffle is random.Random(SEED).shuffle",
            edits=((SHUFFLE, "random.seed(SEED)\nrandom.shuffle(shuffled)"),)),
    Variant("bv-ok_split_validation_first", "taking the 30% from the front of the shuffled list is as random a split",
            edits=((SPLIT, "n_valid = len(shuffled) - n_train\nvalid_data, train_data = shuffled[:n_valid], "
                           "shuffled[n_valid:]"),)),
    Variant("bv-ok_predict_on_the_model_device", "moving the ids to the model's device, as the reference does",
            edits=((PREDICT_IDS, "    device = next(model.parameters()).device\n"
                                 "    tensor = torch.tensor(ids, device=device).unsqueeze(0)"),)),
    # -- wrong: the question the mistake is in loses what it costs -----------------------------------------
    Variant("bv-wrong_first_layer_final_states", "hidden[0] and hidden[1] are the first layer's states: the two "
            "comparisons with two layers differ",
            edits=(final_state("""        _, hidden = self.rnn(embedded)
        if self.rnn.bidirectional:
            hidden = torch.cat((hidden[0], hidden[1]), dim=1)
        else:
            hidden = hidden[0]"""),),
            lost={"model_init": 1}, says=(("model_init", "the first layer's final states"),)),
    Variant("bv-wrong_output_at_first_step", "output[:, 0] is the forward direction after one token: every "
            "comparison differs, and the model question pays, not train (whose check, as of ee787f6, charges it: "
            "weight_hh_l0 gets no gradient from the first step)",
            edits=(final_state("""        output, _ = self.rnn(embedded)
        hidden = output[:, 0]"""),),
            lost={"model_init": 2}, says=(("model_init", "the GRU's output at the first time step"),)),
    Variant("bv-wrong_mean_of_outputs", "the mean over time is not the final state: every comparison differs",
            edits=(final_state("""        output, _ = self.rnn(embedded)
        hidden = output.mean(dim=1)"""),),
            lost={"model_init": 2}, says=(("model_init", "the mean of the GRU's outputs over time"),)),
    Variant("bv-wrong_dropout_on_bert_output", "dropout on BERT's vectors instead of the final state the notebook "
            "names",
            edits=((FORWARD_BERT, FORWARD_BERT + "\n        embedded = self.dropout(embedded)"),
                   (HEAD, "        return self.out(hidden)")),
            lost={"model_init": 1}, says=(("model_init", "apply self.dropout to the final hidden state"),)),
    Variant("bv-wrong_dropout_fixed_rate", "nn.Dropout(0.25) ignores the dropout argument",
            edits=((DROPOUT, "        self.dropout = nn.Dropout(0.25)"),),
            lost={"model_init": 1}, says=(("model_init", "use the `dropout` argument"),)),
    Variant("bv-wrong_split_not_shuffled", "the first 70% in the pool's order: on IMDB the validation set is one class",
            edits=((SHUFFLE, "pass"),),
            lost={"data_split": 1}, says=(("data_split", "the reviews are not shuffled"),)),
    Variant("bv-wrong_split_other_seed", "random.Random(42) is not the notebook's SEED",
            edits=((SHUFFLE, "random.Random(42).shuffle(shuffled)"),),
            lost={"data_split": 1}, says=(("data_split", "does not hold the reviews that shuffling with"),)),
    Variant("bv-wrong_cut_leaves_no_room", "cutting to max_input_length leaves no room for [CLS] and [SEP]; predict is "
            "judged with a correct cut, so only Q1a pays",
            edits=(("    return tokens[: max_input_length - 2]", "    return tokens[:max_input_length]"),),
            lost={"tokenizer": 1}, says=(("tokenizer", "cut to max_input_length - 2"),)),
]

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

VARIANTS += TRAINING_BY_EFFECT
