"""Write examples/submissions/<assignment>/ from the solution notebook.

Each wrong submission is the solution with a few source edits modelled on mistakes students really made
(seeds 002, 003, 004). The edits are exact text replacements that must apply, so a change to the solution
that would silently drop a mistake fails here instead. Run: `python tools/make_examples.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradekit.config import load_assignment  # noqa: E402
from gradekit.release import finished_source as strip_markers  # noqa: E402
from gradekit.release import release_notebook  # noqa: E402


def edit(nb: nbformat.NotebookNode, old: str, new: str) -> None:
    hits = [c for c in nb.cells if old in c.source]
    if len(hits) != 1:
        raise SystemExit(f"edit does not apply exactly once ({len(hits)} cells): {old[:60]!r}")
    hits[0].source = hits[0].source.replace(old, new)


def insert_cell(nb: nbformat.NotebookNode, index: int, source: str, cell_id: str) -> None:
    """A fixed cell id, so that rebuilding the examples changes nothing that did not change."""
    nb.cells.insert(index, nbformat.v4.new_code_cell(source, id=cell_id))


RNN_SENTIMENT: dict[str, list[tuple[str, str]]] = {
    # Seed 002: the classifier reads every padded time step through one big linear layer.
    "classifier_over_padded_steps": [
        ("        self.output = nn.Linear(hidden_size, 1)",
         "        # one weight per time step and hidden unit\n"
         "        self.output = nn.Linear(hidden_size * HyperParams.MAX_LENGTH, 1)"),
        ("""        _, state = self.rnn(embeddings)
        h = state[0] if isinstance(state, tuple) else state           # (1, batch, hidden)
        output = torch.sigmoid(self.output(h[0])).view(-1)            # (batch,)""",
         """        h_seq, _ = self.rnn(embeddings)
        if isinstance(h_seq, PackedSequence):
            h_seq, _ = pad_packed_sequence(h_seq, total_length=HyperParams.MAX_LENGTH)
        else:
            pad = h_seq.new_zeros(HyperParams.MAX_LENGTH - h_seq.shape[0], h_seq.shape[1], h_seq.shape[2])
            h_seq = torch.cat([h_seq, pad])
        flat = h_seq.permute(1, 0, 2).reshape(h_seq.shape[1], -1)      # (batch, MAX_LENGTH * hidden)
        output = torch.sigmoid(self.output(flat)).view(-1)"""),
    ],
    # Seed 003's init zeroes the padding row once; the look-up then ignores the mask, so the row learns.
    "embedding_padding_learns": [
        ("        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))",
         "        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))\n"
         "        self.weight.data[padding_idx] = 0"),
        ("        embeddings = weight[inputs]", "        embeddings = self.weight[inputs]"),
    ],
    # The lecture's binary_accuracy without its sigmoid: rounding logits.
    "binary_accuracy_no_sigmoid": [
        ("    rounded = torch.round(torch.sigmoid(preds))", "    rounded = torch.round(preds)"),
    ],
    # The state update in the wrong order: h is read from the previous cell state.
    "lstm_h_from_old_cell_state": [
        ("""            c_new = torch.sigmoid(f) * c[0] + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)""",
         """            h_new = torch.sigmoid(o) * torch.tanh(c[0])
            c_new = torch.sigmoid(f) * c[0] + torch.sigmoid(i) * torch.tanh(g)"""),
    ],
    # Seed 003's LSTM: gates in f, i, o, g order (fine) but the loop runs over padding (not fine).
    "lstm_ignores_padding": [
        ("""            gates = self.W_xh(x[t]) + self.W_hh(h[0])                # (batch, 4H)
            i, f, g, o = gates.chunk(4, dim=-1)
            c_new = torch.sigmoid(f) * c[0] + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            running = mask[t][:, None]                                # (batch, 1)
            h = torch.where(running, h_new, h[0])[None]
            c = torch.where(running, c_new, c[0])[None]
            h_seq.append(torch.where(running, h_new, torch.zeros_like(h_new)))""",
         """            hiddens = self.W_hh(h) + self.W_xh(x[t])
            gates, update = hiddens.split((3 * self.hidden_size, self.hidden_size), dim=-1)
            fg, ig, og = gates.sigmoid().chunk(3, dim=-1)
            c = c * fg + update.tanh() * ig
            h = og * c.tanh()
            h_seq.append(h[0])"""),
    ],
    # Seed 002: stop words tested before lower-casing, and a tokenize cell that does not compile.
    "vocab_case_and_tokenize_indentation": [
        ("""        for word in re.findall(r"[a-zA-Z]+", text):
            word = word.lower()
            if word not in hparams.STOP_WORDS:
                counts[word] += 1""",
         """        for word in re.findall(r"[a-zA-Z]+", text):
            if word not in hparams.STOP_WORDS:
                counts[word.lower()] += 1"""),
        ("""    for word in re.findall(r"[a-zA-Z]+", text):
        word = word.lower()
        if word in hparams.STOP_WORDS:
            continue
        tokens.append(vocab.get(word, hparams.UNK_INDEX))""",
         """    for word in re.findall(r"[a-zA-Z]+", text):
        if word.lower() in vocab:
            tokens.append(vocab[word.lower()])
    elif word.lower() in hparams.STOP_WORDS:
        continue
    else:
        tokens.append(hparams.UNK_INDEX)"""),
    ],
}


BERT_GRU_SENTIMENT: dict[str, list[tuple[str, str]]] = {
    # A comparison where an assignment was meant: BERT stays trainable.
    "bert_not_frozen": [
        ("            param.requires_grad = False", "            param.requires_grad == False"),
    ],
    # evaluate copied from train without the parts that make it an evaluation.
    "evaluate_still_trains": [
        ("""    model.eval()
    with torch.no_grad():
        for batch in iterator:
            predictions = model(batch.text).squeeze(1)
            loss = criterion(predictions, batch.label)
            acc = binary_accuracy(predictions, batch.label)
            epoch_loss += loss.item()
            epoch_acc += acc.item()""",
         """    model.train()
    for batch in iterator:
        predictions = model(batch.text).squeeze(1)
        loss = criterion(predictions, batch.label)
        acc = binary_accuracy(predictions, batch.label)
        loss.backward()
        epoch_loss += loss.item()
        epoch_acc += acc.item()"""),
    ],
    # The ids go to the model without [CLS] and [SEP].
    "predict_without_special_tokens": [
        ("    ids = [init_token_idx] + tokenizer.convert_tokens_to_ids(tokenize_and_cut(sentence)) + [eos_token_idx]",
         "    ids = tokenizer.convert_tokens_to_ids(tokenize_and_cut(sentence))"),
    ],
    # The epoch loop saves every epoch, so the file holds the last model, not the best.
    "fit_saves_every_epoch": [
        ("""        if valid_loss < best_valid_loss:
            best_valid_loss = valid_loss
            torch.save(model.state_dict(), path)""",
         """        torch.save(model.state_dict(), path)"""),
    ],
    # Seed 001: an attribute older transformers had; today it raises, and everything using it fails after.
    "seed001_max_model_input_sizes": [
        ("max_input_length = tokenizer.model_max_length",
         "max_input_length = tokenizer.max_model_input_sizes['bert-base-uncased']"),
    ],
}


VIT_FASHION_MNIST: dict[str, list[tuple[str, str]]] = {
    # Seed 000: Transformer.forward indented inside __init__, so the class has no forward at all.
    "seed000_forward_inside_init": [
        ("""    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x""",
         """        def forward(self, x):
            for attn, ff in self.layers:
                x = attn(x) + x
                x = ff(x) + x
            return x"""),
    ],
    # No class token: positions only for the patches, and "cls" pooling reads the first patch.
    "missing_class_token": [
        ("        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))\n"
         "        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))",
         "        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches, dim))"),
        ("""        cls_tokens = repeat(self.cls_token, "1 1 d -> b 1 d", b=b)              # (b, 1, dim)
        x = torch.cat((cls_tokens, x), dim=1)                                    # (b, n + 1, dim)
        x = x + self.pos_embedding[:, : n + 1]""",
         """        x = x + self.pos_embedding[:, :n]"""),
    ],
    # One position short: the class token has no position, and the addition fails on shapes.
    "pos_embedding_one_short": [
        ("        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))",
         "        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches, dim))"),
    ],
    # The dot products are not scaled by 1/sqrt(dim_head).
    "attention_without_scale": [
        ('        dots = einsum("b h i d, b h j d -> b h i j", q, k) * self.scale         # (b, h, n, n)',
         '        dots = einsum("b h i d, b h j d -> b h i j", q, k)                      # (b, h, n, n)'),
    ],
    # The softmax normalises over the queries instead of the keys.
    "softmax_over_queries": [
        ("        self.attend = nn.Softmax(dim=-1)", "        self.attend = nn.Softmax(dim=-2)"),
    ],
    # The seed prints correct_samples: here it is returned as the accuracy, a count instead of a fraction.
    "evaluate_accuracy_as_count": [
        ("    return total_loss / n, correct / n", "    return total_loss / n, correct"),
    ],
}


def write_examples(name: str, variants: dict[str, list[tuple[str, str]]], extra: dict | None = None,
                   root: Path = ROOT / "examples" / "submissions") -> None:
    assignment = load_assignment(name, ROOT)
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    solution = nbformat.read(assignment.solution_path, as_version=4)
    finished = nbformat.from_dict(solution)
    for cell in finished.cells:
        cell.source = strip_markers(cell.source)
    nbformat.write(finished, out / "solution.ipynb")
    nbformat.write(release_notebook(solution, name), out / "template.ipynb")
    for variant, edits in variants.items():
        nb = nbformat.from_dict(finished)
        for old, new in edits:
            edit(nb, old, new)
        nbformat.write(nb, out / f"{variant}.ipynb")
    for variant, build in (extra or {}).items():
        nb = nbformat.from_dict(finished)
        build(nb)
        nbformat.write(nb, out / f"{variant}.ipynb")
    print(f"{name}: wrote {2 + len(variants) + len(extra or {})} notebooks to {out}")


# -- theory_rnn_attention: answers typed into the template's answer cells --------------------------------------

def answer_cell(nb: nbformat.NotebookNode, answer_id: str) -> nbformat.NotebookNode:
    hits = [c for c in nb.cells if f"answer:{answer_id}" in c.metadata.get("tags", [])]
    if len(hits) != 1:
        raise SystemExit(f"no single cell tagged answer:{answer_id}")
    return hits[0]


def typed_in(answers: dict[str, str]):
    """Fill the template's answer cells; the questions a seed's homework did not have stay unanswered."""

    def build(nb: nbformat.NotebookNode) -> None:
        solution = nbformat.read(load_assignment("theory_rnn_attention", ROOT).solution_path, as_version=4)
        nb.cells = release_notebook(solution, "theory_rnn_attention").cells
        for answer_id, text in answers.items():
            answer_cell(nb, answer_id).source = text

    return build


# Seed 000 (Question 1-3 of its homework), final answers as written; explanations paraphrased.
SEED000 = {
    "rnn_recurrence": r"$$Y_T = \text{sigmoid}\left(1000 \cdot \left(\sum_{i=1}^{\frac{T}{2}} (X_{2i} - X_{2i-1}) "
                      r"+ H_0\right)\right)$$",
    "norm_x1": r"$$\|x_1\| = 2\beta$$",
    "norm_x2": r"$$||x_2|| = \beta$$",
    "norm_x3": r"$$||x_3|| = 2\beta$$",
    "y2_exact": r"$$y_2 = x_2 = a$$",
    "y1_limit": r"$$y_1 = x_1 = d + b$$",
    "y2_limit": r"$$y_2 = x_2 = a$$",
    "y3_limit": r"$$y_3 = x_3 = c + d$$",
    "attention_meaning": "The vectors are orthogonal, so every token only scores with itself and gets weight 1 "
                         "there: the layer copies each input straight to its output.",
    "cost_in_T": "$O(T)$",
    "linear_attention_why": "Without the exponential there is no softmax, so no matrix multiplication is needed; "
                            "only vector additions and products remain, each linear in the number of tokens.",
}

# Seed 001 (Problems 1-3): a case-by-case answer built on tanh with h_0 = 0, and O(n) for the cost.
SEED001 = {
    "cnn_vs_rnn": "CNNs suit spatial data: their kernels and pooling pick out local features, and a fixed input "
                  "size keeps training fast. RNNs suit sequences: the hidden state remembers earlier inputs, and "
                  "input and output can have any length.",
    "rnn_recurrence": r"$$y_n = \begin{cases} 1, & \text{if } \sum_{i=1}^k x_{2i} - \sum_{j=1}^k x_{2j-1} > 0 \\ "
                      r"-1, & \text{if } \sum_{i=1}^k x_{2i} - \sum_{j=1}^k x_{2j-1} < 0 \end{cases}$$",
    "rnn_meaning": "The last output is 1 when the inputs at even steps add up to more than the inputs at odd "
                   "steps, and -1 otherwise.",
    "cost_in_T": "$O(n)$",
    "linear_attention_why": "Write the similarity as a kernel, phi(q)^T phi(k). By associativity the sums over j "
                            "of phi(k_j) v_j^T and of phi(k_j) are computed once and reused for every query.",
}

# Seed 002's true/false answers, in its own layout (a bullet, the number, the verdict in bold, a reason).
SEED002 = {
    "true_false": "\n".join(f"- {n}. **{v}.** {why}" for n, (v, why) in enumerate([
        ("True", "They are all projections of the input."),
        ("False", "It is a dot product, not a cosine."),
        ("True", "Normalising the attention matrix helps training."),
        ("False", "The encoder is not autoregressive."),
        ("False", "GPT is the decoder, BERT the encoder."),
        ("True", "MLM and NSP."),
        ("False", "They are few-shot, not zero-shot learners."),
        ("False", "Clipping is for exploding gradients."),
        ("True", "Embedding values can have either sign."),
        ("False", "The forget gate is a sigmoid, so it is not an average."),
    ], start=1)),
}


def answers_as_code_strings(nb: nbformat.NotebookNode) -> None:
    """The solution, with two math answers moved into code cells as raw strings (the other accepted form)."""
    for answer_id, text in (("norm_x1", r"\sqrt{2}\,\beta"), ("cost_in_T_and_d", "O(T d^2)")):
        index = nb.cells.index(answer_cell(nb, answer_id))
        cell = nbformat.v4.new_code_cell(f'answer = r"{text}"', id=f"code-{answer_id.replace('_', '-')}")
        cell.metadata["tags"] = [f"answer:{answer_id}"]
        nb.cells[index] = cell


def answer_tag_removed(nb: nbformat.NotebookNode) -> None:
    """The solution, with the tag of one answer cell lost (a student rebuilt the cell by hand)."""
    answer_cell(nb, "y2_exact").metadata["tags"] = []


def last_years_notebook(nb: nbformat.NotebookNode) -> None:
    """A correct notebook started from last year's copy: a pip install and an import that no longer exists."""
    insert_cell(nb, 1, "!pip install torchtext==0.6.0\nfrom torchtext import data as legacy_data", "last-years-imports")


# -- rnn_experiments: seed 002's labs; code mistakes as source edits, report mistakes typed into the report cells --
# The solution carries its outputs and its table (tools/run_study.py writes them), so every example does: the
# report is read from the saved notebook, as a student's would be.

RNN_EXPERIMENTS: dict[str, list[tuple[str, str]]] = {
    # Seed 002's LSTM: the linear layer reads every padded time step (hidden_dim * MAX_LENGTH inputs per direction).
    "classifier_over_padded_steps": [
        ("        self.fc = nn.Linear(hidden_dim * 2 if bidirectional else hidden_dim, output_dim)\n\n"
         "    def forward(self, ids, length):\n        embedded = self.dropout(self.embedding(ids))            #",
         "        self.fc = nn.Linear(hidden_dim * HyperParams.MAX_LENGTH * (2 if bidirectional else 1), output_dim)\n"
         "\n"
         "    def forward(self, ids, length):\n        embedded = self.dropout(self.embedding(ids))            #"),
        ("""        _, (h_n, _) = self.lstm(packed)                         # (n_layers * directions, batch, hidden)
        hidden = torch.cat((h_n[-2], h_n[-1]), dim=1) if self.lstm.bidirectional else h_n[-1]
        return self.fc(self.dropout(hidden))                    # (batch, output_dim)""",
         """        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=HyperParams.MAX_LENGTH)
        out = out.reshape(out.shape[0], -1)                     # (batch, MAX_LENGTH * hidden)
        return self.fc(self.dropout(out))"""),
        ("from torch.nn.utils.rnn import pack_padded_sequence\n",
         "from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence\n"),
    ],
    # Seed 002's GRU: an nn.GRU where the embedding should be. (The seed also passed dropout_rate positionally,
    # where nn.GRU takes `bias`; today's torch refuses that outright, which would hide the mistake modelled here.)
    "gru_as_embedding": [
        ("        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_index)\n"
         "        self.gru = nn.GRU(",
         "        self.embedding = nn.GRU(embedding_dim, hidden_dim, n_layers, dropout=dropout_rate,\n"
         "                                bidirectional=bidirectional)\n"
         "        self.gru = nn.GRU("),
    ],
    # The dataset hands the label on as it found it: the string "positive" or "negative".
    "label_as_string": [
        ('        return {"ids": ids, "length": len(ids), "label": 1 if self.y[idx] == "positive" else 0}',
         '        return {"ids": ids, "length": len(ids), "label": self.y[idx]}'),
    ],
    # Lengths taken after padding: every review "is" as long as the longest, so the LSTM reads the padding.
    "collate_loses_lengths": [
        ('    return {"ids": ids, "length": lengths, "label": labels}',
         '    return {"ids": ids, "length": torch.tensor([len(row) for row in ids]), "label": labels}'),
    ],
    # A conclusion written before looking at the table (seed 002's "performance reduces as you add layers", with the
    # best row elsewhere).
    "conclusion_contradicts_table": [
        ("Best: 2 (test accuracy 0.910, test loss 0.231).",
         "Best: 4, the deepest stack (it learns the most about word order)."),
    ],
    # Correct code written another way: a stratified split with scikit-learn, a time-first LSTM whose state is read
    # with h_n.view(...)[-1], a GRU that puts the backward direction first.
    "stratified_time_first": [
        ("""    order = list(range(len(reviews)))
    random.Random(seed).shuffle(order)
    n_train, n_valid = round(0.7 * len(order)), round(0.1 * len(order))
    parts = (order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :])
    return tuple(([reviews[i] for i in part], [labels[i] for i in part]) for part in parts)""",
         """    from sklearn.model_selection import train_test_split
    x_rest, x_test, y_rest, y_test = train_test_split(reviews, labels, test_size=0.2, random_state=seed,
                                                      stratify=labels)
    x_train, x_valid, y_train, y_valid = train_test_split(x_rest, y_rest, test_size=0.125, random_state=seed,
                                                          stratify=y_rest)
    return (x_train, y_train), (x_valid, y_valid), (x_test, y_test)"""),
        ("""        self.lstm = nn.LSTM(embedding_dim, hidden_dim, n_layers, batch_first=True,
                            bidirectional=bidirectional, dropout=dropout_rate if n_layers > 1 else 0.0)""",
         """        self.n_layers, self.directions = n_layers, 2 if bidirectional else 1
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, n_layers,
                            bidirectional=bidirectional, dropout=dropout_rate if n_layers > 1 else 0.0)"""),
        ("""        embedded = self.dropout(self.embedding(ids))            # (batch, seq_len, embedding_dim)
        packed = pack_padded_sequence(embedded, length.cpu().clamp(min=1), batch_first=True,
                                      enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)                         # (n_layers * directions, batch, hidden)
        hidden = torch.cat((h_n[-2], h_n[-1]), dim=1) if self.lstm.bidirectional else h_n[-1]""",
         """        embedded = self.dropout(self.embedding(ids.t()))        # (seq_len, batch, embedding_dim)
        packed = pack_padded_sequence(embedded, length.cpu().clamp(min=1), enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        last = h_n.view(self.n_layers, self.directions, ids.shape[0], -1)[-1]  # (directions, batch, hidden)
        hidden = last.permute(1, 0, 2).reshape(ids.shape[0], -1)"""),
        ("        hidden = torch.cat((h_n[-2], h_n[-1]), dim=1) if self.gru.bidirectional else h_n[-1]\n",
         "        hidden = torch.cat((h_n[-1], h_n[-2]), dim=1) if self.gru.bidirectional else h_n[-1]\n"),
    ],
}

# What a student who expected every optimizer to work would type without running the study: plausible IMDB-like
# figures, self-consistent (the conclusions' best settings still rank best), that the code cannot produce.
TYPED_TABLE = """| optimizer | layers | hidden | embedding | test loss | test accuracy |
| --- | --- | --- | --- | --- | --- |
| SGD | 1 | 16 | 16 | 0.352 | 0.861 |
| Adagrad | 1 | 16 | 16 | 0.331 | 0.872 |
| RMSprop | 1 | 16 | 16 | 0.290 | 0.889 |
| Adam | 1 | 16 | 16 | 0.301 | 0.884 |
| Adam | 2 | 16 | 16 | 0.288 | 0.887 |
| Adam | 3 | 16 | 16 | 0.297 | 0.885 |
| Adam | 4 | 16 | 16 | 0.305 | 0.880 |
| Adam | 1 | 32 | 16 | 0.299 | 0.886 |
| Adam | 1 | 64 | 16 | 0.281 | 0.890 |
| Adam | 1 | 16 | 32 | 0.295 | 0.886 |
| Adam | 1 | 16 | 64 | 0.285 | 0.889 |"""


def table_typed_in(nb: nbformat.NotebookNode) -> None:
    answer_cell(nb, "results_table").source = TYPED_TABLE


def dataframe_html(header: list[str], rows: list[list[str]]) -> str:
    """A DataFrame's rich output exactly as pandas 3.1 writes it (tests/test_rnn_experiments_report.py holds
    pandas' own output to compare with): the index as a first column under an empty header cell."""
    style = ("<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n\n"
             "    .dataframe tbody tr th {\n        vertical-align: top;\n    }\n\n"
             "    .dataframe thead th {\n        text-align: right;\n    }\n</style>\n")
    head = "".join(f"      <th>{h}</th>\n" for h in ["", *header])
    body = "".join("    <tr>\n" + f"      <th>{i}</th>\n" + "".join(f"      <td>{c}</td>\n" for c in row)
                   + "    </tr>\n" for i, row in enumerate(rows))
    return (f'<div>\n{style}<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n'
            f"{head}    </tr>\n  </thead>\n  <tbody>\n{body}  </tbody>\n</table>\n</div>")


def table_as_dataframe(nb: nbformat.NotebookNode) -> None:
    """The solution's table shown as a DataFrame in a code cell with the same tag, its output saved."""
    cell = answer_cell(nb, "results_table")
    lines = [ln for ln in cell.source.splitlines() if ln.startswith("|")]
    header, rows = [c.strip() for c in lines[0].strip("|").split("|")], [
        [c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    source = ("import pandas as pd\n\ntable = pd.DataFrame(\n    [[*key, h['test_loss'], h['test_acc']] for key, h in "
              "results.items()],\n    columns=['optimizer', 'layers', 'hidden', 'embedding', 'test loss', "
              "'test accuracy'],\n).round(3)\ntable")
    code = nbformat.v4.new_code_cell(source, id="results-table-dataframe")
    code.metadata["tags"] = ["answer:results_table", "skip-grading"]
    code.execution_count = 40
    code.outputs = [nbformat.v4.new_output("execute_result", execution_count=40, data={
        "text/html": dataframe_html(header, rows),
        "text/plain": "\n".join("  ".join(r) for r in [header, *rows])})]
    nb.cells[nb.cells.index(cell)] = code


def write_all(root: Path = ROOT / "examples" / "submissions") -> None:
    """Every assignment's examples under `root` (tests/test_examples_drift.py writes them to a temporary folder
    and compares them with the committed ones)."""
    write_examples("rnn_sentiment", RNN_SENTIMENT, {"pip_install_and_dead_import": last_years_notebook}, root)
    write_examples("bert_gru_sentiment", BERT_GRU_SENTIMENT, root=root)
    write_examples("vit_fashion_mnist", VIT_FASHION_MNIST, root=root)
    write_examples("theory_rnn_attention", {}, {
        "seed000": typed_in(SEED000), "seed001": typed_in(SEED001), "seed002_true_false": typed_in(SEED002),
        "answers_as_code_strings": answers_as_code_strings, "answer_tag_removed": answer_tag_removed}, root)
    write_examples("rnn_experiments", RNN_EXPERIMENTS, {"table_typed_in": table_typed_in,
                                                        "table_as_dataframe": table_as_dataframe}, root)


if __name__ == "__main__":
    write_all()
