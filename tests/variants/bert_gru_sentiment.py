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
            "names; dropping a quarter of every token's features also costs learning: under the check's budget it "
            "reaches 81% on the suite's held-out pool (83% on another), below the 84% threshold",
            edits=((FORWARD_BERT, FORWARD_BERT + "\n        embedded = self.dropout(embedded)"),
                   (HEAD, "        return self.out(hidden)")),
            lost={"model_init": 1, "accuracy_threshold": 3},
            says=(("model_init", "apply self.dropout to the final hidden state"),)),
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

# -- round two, by question ---------------------------------------------------------------------------------------

Q1A_IDS = """init_token_idx = tokenizer.convert_tokens_to_ids(tokenizer.cls_token)
eos_token_idx = tokenizer.convert_tokens_to_ids(tokenizer.sep_token)
pad_token_idx = tokenizer.convert_tokens_to_ids(tokenizer.pad_token)
unk_token_idx = tokenizer.convert_tokens_to_ids(tokenizer.unk_token)"""
CUT = "    tokens = tokenizer.tokenize(sentence)\n    return tokens[: max_input_length - 2]"
SHUFFLED = "shuffled = list(full_train_reviews)\nrandom.Random(SEED).shuffle(shuffled)\nn_train = round(0.7 * len(shuffled))"
PREDICT_LINE = ("    ids = [init_token_idx] + tokenizer.convert_tokens_to_ids(tokenize_and_cut(sentence)) + "
                "[eos_token_idx]\n")
PREDICT_BODY = PREDICT_LINE + PREDICT_IDS + "\n    with torch.no_grad():\n" + PREDICT_CALL
SAVE_BEST = "        if valid_loss < best_valid_loss:\n            best_valid_loss = valid_loss\n"

ROUND_TWO = [
    # -- Q1a the tokenizer -----------------------------------------------------------------------------------------
    Variant("q1-ok_special_ids_from_attributes", "tokenizer.cls_token_id and tokenizer.vocab_size are the same facts",
            edits=((Q1A_IDS, "init_token_idx = tokenizer.cls_token_id\neos_token_idx = tokenizer.sep_token_id\n"
                             "pad_token_idx = tokenizer.pad_token_id\nunk_token_idx = tokenizer.unk_token_id"),
                   ("vocab_size = len(tokenizer.vocab)", "vocab_size = tokenizer.vocab_size"))),
    Variant("q1-wrong_hello_ids_with_special_tokens", "tokenizer.encode adds [CLS] and [SEP]: not the ids of "
            "hello_tokens",
            edits=(("hello_ids = tokenizer.convert_tokens_to_ids(hello_tokens)",
                    'hello_ids = tokenizer.encode("Hello WORLD how ARE yoU?")'),),
            lost={"tokenizer": 0.5}, says=(("tokenizer", "adds [CLS] and [SEP]"),)),
    Variant("q1-ok_cut_with_del", "deleting the tail past max_input_length - 2 is the same cut",
            edits=((CUT, "    tokens = tokenizer.tokenize(sentence)\n    del tokens[max_input_length - 2:]\n"
                         "    return tokens"),)),
    # -- Q1b the split ---------------------------------------------------------------------------------------------
    Variant("q1-ok_split_shuffled_indices_int", "shuffling indices with the same Random(SEED) gives the same order; "
            "int() of 70% is one of the two roundings",
            edits=((SHUFFLED, "order = list(range(len(full_train_reviews)))\nrandom.Random(SEED).shuffle(order)\n"
                              "shuffled = [full_train_reviews[i] for i in order]\nn_train = int(0.7 * len(shuffled))"),)),
    Variant("q1-wrong_split_80_20", "80/20 is not the 70/30 split asked; the shuffle itself is right",
            edits=(("n_train = round(0.7 * len(shuffled))", "n_train = round(0.8 * len(shuffled))"),),
            lost={"data_split": 1}, says=(("data_split", "a 70/30 split of the"),)),
    # -- Q2a the model ---------------------------------------------------------------------------------------------
    Variant("q2-ok_hstack_final_states", "torch.hstack of two (batch, hidden) states is torch.cat(..., dim=1)",
            edits=(("hidden = torch.cat((hidden[-2], hidden[-1]), dim=1)",
                    "hidden = torch.hstack((hidden[-2], hidden[-1]))"),)),
    Variant("q2-ok_last_two_states_sliced", "hidden[-2:] moved batch first and flattened is [hidden[-2], hidden[-1]]",
            edits=(("hidden = torch.cat((hidden[-2], hidden[-1]), dim=1)",
                    "hidden = hidden[-2:].transpose(0, 1).reshape(hidden.shape[1], -1)"),)),
    Variant("q2-ok_dropout_in_each_branch", "self.dropout on the final state in each branch, as seed 000 wrote it",
            edits=(final_state("""        _, hidden = self.rnn(embedded)
        if self.rnn.bidirectional:
            hidden = self.dropout(torch.cat((hidden[-2], hidden[-1]), dim=1))
        else:
            hidden = self.dropout(hidden[-1])"""), (HEAD, "        return self.out(hidden)"))),
    # -- Q2c freeze_bert -------------------------------------------------------------------------------------------
    Variant("q2-ok_freeze_requires_grad_on_bert", "Module.requires_grad_(False) on the BERT part is the loop",
            edits=((FREEZE, "    model.bert.requires_grad_(False)"),)),
    Variant("q2-wrong_freeze_only_the_encoder", "the embeddings and the pooler still train: not frozen, and the count "
            "is wrong",
            edits=(('        if name.startswith("bert"):', '        if name.startswith("bert.encoder"):'),),
            lost={"param_count_frozen": 3}, says=(("param_count_frozen", "bert.embeddings"),)),
    Variant("q2-wrong_freeze_never_applied", "freeze_bert is right but the notebook's model is never frozen",
            edits=(("\nfreeze_bert(model)\n", "\n"),),
            lost={"param_count_frozen": 1}, says=(("param_count_frozen", "call freeze_bert(model)"),)),
    # -- Q3 binary_accuracy, train, evaluate, fit ------------------------------------------------------------------
    Variant("q3-wrong_binary_accuracy_without_sigmoid", "rounding a logit is not rounding its probability; train "
            "and evaluate average what binary_accuracy says, as they should, and are not charged for its mistake",
            edits=(("    rounded = torch.round(torch.sigmoid(preds))", "    rounded = torch.round(preds)"),),
            lost={"binary_accuracy": 4}, says=(("binary_accuracy", "apply a sigmoid before rounding"),)),
    Variant("q3-wrong_train_accuracy_of_probabilities", "binary_accuracy takes logits: on probabilities every "
            "prediction rounds to 1, so train reports the share of positive labels",
            edits=(("        acc = binary_accuracy(predictions, batch.label)\n        loss.backward()",
                    "        acc = binary_accuracy(torch.sigmoid(predictions), batch.label)\n        loss.backward()"),),
            lost={"train": 0.5}, says=(("train", "the mean accuracy of the predictions it trained on"),)),
    Variant("q3-ok_zero_grad_set_to_none", "set_to_none=True clears the gradients as well",
            edits=((TRAIN_ZERO, "        optimizer.zero_grad(set_to_none=True)\n"),)),
    Variant("q3-wrong_evaluate_without_eval_mode", "evaluate in train mode measures with dropout on",
            edits=((EVALUATE_LOOP, "    with torch.no_grad():\n        for batch in iterator:\n"),),
            lost={"evaluate": 1}, says=(("evaluate", "call model.eval() first"),)),
    Variant("q3-ok_fit_timed_with_perf_counter", "perf_counter and minutes/seconds, as the tutorial's epoch_time",
            edits=(("        start = time.time()", "        start = time.perf_counter()"),
                   ('        print(f"epoch {epoch + 1} ({time.time() - start:.0f} s)',
                    '        mins, secs = divmod(int(time.perf_counter() - start), 60)\n'
                    '        print(f"epoch {epoch + 1} ({mins}m {secs}s)'))),
    Variant("q3-wrong_fit_saves_when_lower_than_previous", "lower than the previous epoch is not the lowest so far",
            edits=((SAVE_BEST, '        if epoch == 0 or valid_loss < history[-1]["valid_loss"]:\n'),),
            lost={"training_loop": 2}, says=(("training_loop", "not lower than the previous epoch"),)),
    # -- Q4 predict_sentiment --------------------------------------------------------------------------------------
    Variant("q4-ok_predict_as_seed_000", "tokens cut inline, no no_grad (only slower), sigmoid then .item()",
            edits=((PREDICT_BODY, """    tokens = tokenizer.tokenize(sentence)
    tokens = tokens[:max_input_length-2]
    indexed = [init_token_idx] + tokenizer.convert_tokens_to_ids(tokens) + [eos_token_idx]
    tensor = torch.LongTensor(indexed)
    tensor = tensor.unsqueeze(0)
    prediction = torch.sigmoid(model(tensor))
    return prediction.item()"""),)),
    Variant("q4-ok_predict_tokenizer_encode", "tokenizer.encode with truncation to max_input_length frames and cuts "
            "the same way",
            edits=((PREDICT_LINE, "    ids = tokenizer.encode(sentence, truncation=True, max_length=max_input_length)\n"),)),
    Variant("q4-wrong_predict_no_sigmoid", "the logit is not a probability",
            edits=((PREDICT_CALL, "        return model(tensor).item()"),),
            lost={"predict_sentiment": 1}, says=(("predict_sentiment", "returned the logit itself"),)),
    Variant("q4-wrong_predict_sigmoid_twice", "sigmoid of a probability is not the probability",
            edits=((PREDICT_CALL, "        return torch.sigmoid(torch.sigmoid(model(tensor))).item()"),),
            lost={"predict_sentiment": 1}, says=(("predict_sentiment", "applies the sigmoid twice"),)),
    Variant("q4-wrong_predict_cut_to_max_length", "cut to max_input_length, then framed: 514 ids for BERT's 512",
            edits=((PREDICT_LINE, "    tokens = tokenizer.tokenize(sentence)[:max_input_length]\n"
                                  "    ids = [init_token_idx] + tokenizer.convert_tokens_to_ids(tokens) + [eos_token_idx]\n"),),
            lost={"predict_sentiment": 1}, says=(("predict_sentiment", "cut the tokens to 510"),)),
]

VARIANTS += ROUND_TWO
