"""Generated submissions for the similarity tests and benchmark (rnn_sentiment).

- `fill_template(fills)`: the released template with each `# YOUR CODE HERE` stub replaced by a student's code,
  as a student works: the template's own lines stay, cell ids stay.
- Two independent, correct solutions written differently from the reference (`INDEPENDENT_GATES`: one Linear
  per gate, a dict-based vocabulary; `INDEPENDENT_SLICES`: slices instead of chunk, a Counter comprehension).
- `disguise(nb)`: what a copier does: extract a helper, inline a variable, rename every local name, parameter
  and attribute with `ast` (which also rewrites whitespace, quotes and drops comments), add new comments,
  and move cells around.
- `personalise(nb, rng)`: a few statements of the student's own, so that students who wrote the same solution
  still differ as real students do (the benchmark's class).
"""

from __future__ import annotations

import ast
import random
import re
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "student_template" / "rnn_sentiment.ipynb"
EXAMPLES = ROOT / "examples" / "submissions" / "rnn_sentiment"
STUB = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)[ \t]*$", re.M)

# Per answer cell (named by what it defines), the code for each stub in order.
INDEPENDENT_GATES: dict[str, list[str]] = {
    "build_vocab": ["""
freq = {}
for review in x_train:
    cleaned = re.sub("<.*?>", " ", review)
    for w in (m.lower() for m in re.findall("[a-zA-Z]+", cleaned)):
        if w in hparams.STOP_WORDS:
            continue
        freq[w] = freq.get(w, 0) + 1
vocab = {hparams.PAD_TOKEN: hparams.PAD_INDEX, hparams.UNK_TOKEN: hparams.UNK_INDEX}
kept = sorted(w for w, n in freq.items() if n >= min_freq)
vocab.update({w: i for i, w in enumerate(kept, start=len(vocab))})
"""],
    "tokenize": ["""
words = re.findall("[a-zA-Z]+", re.sub("<.*?>", " ", example))
tokens = [vocab.get(w.lower(), hparams.UNK_INDEX) for w in words if w.lower() not in hparams.STOP_WORDS]
"""],
    "Embedding": [
        "self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim).normal_())",
        "embeddings = torch.nn.functional.embedding(inputs, weight)",
    ],
    "LSTM": ["""
self.gate_layers = nn.ModuleDict({
    name: nn.ModuleDict({"x": nn.Linear(input_size, hidden_size), "h": nn.Linear(hidden_size, hidden_size)})
    for name in ("input", "forget", "cell", "output")
})
""", """
hidden, cell = h[0], c[0]
for step in range(seq_len):
    x_t = x[step]
    pre = {name: layers["x"](x_t) + layers["h"](hidden) for name, layers in self.gate_layers.items()}
    in_gate = pre["input"].sigmoid()
    forget_gate = pre["forget"].sigmoid()
    candidate = pre["cell"].tanh()
    out_gate = pre["output"].sigmoid()
    new_cell = forget_gate * cell + in_gate * candidate
    new_hidden = out_gate * new_cell.tanh()
    alive = mask[step].unsqueeze(-1)
    cell = torch.where(alive, new_cell, cell)
    hidden = torch.where(alive, new_hidden, hidden)
    h_seq.append(new_hidden * alive)
h, c = hidden.unsqueeze(0), cell.unsqueeze(0)
"""],
    "RNNClassifier": ["""
self.embedding = Embedding(num_embeddings, embedding_dim, 0)
recurrent = LSTM if use_lstm else RNN
self.rnn = recurrent(embedding_dim, hidden_size)
self.fc = nn.Linear(hidden_size, 1)
""", """
x = self.embedding(sequence)
if lengths is not None:
    x = pack_padded_sequence(x, torch.as_tensor(lengths), enforce_sorted=False)
outputs = self.rnn(x)
final = outputs[1][0] if isinstance(outputs[1], tuple) else outputs[1]
output = self.fc(final.squeeze(0)).sigmoid().squeeze(-1)
"""],
    "binary_accuracy": ["""
correct = ((preds > 0).float() == y).sum().item()
acc = torch.tensor(correct / len(y))
"""],
    "train": ["""
model.train()
for b in iterator:
    probs = model(b.text, b.lengths)
    batch_loss = criterion(probs, b.label)
    optimizer.zero_grad()
    batch_loss.backward()
    optimizer.step()
    epoch_loss += float(batch_loss)
    epoch_acc += float(binary_accuracy(torch.logit(probs.detach(), eps=1e-6), b.label))
""", """
model.eval()
with torch.no_grad():
    for b in iterator:
        probs = model(b.text, b.lengths)
        epoch_loss += float(criterion(probs, b.label))
        epoch_acc += float(binary_accuracy(torch.logit(probs, eps=1e-6), b.label))
"""],
    "model": ["model = RNNClassifier(len(vocab), embedding_dim=40, hidden_size=40, use_lstm=True)"],
}

INDEPENDENT_SLICES: dict[str, list[str]] = {
    "build_vocab": ["""
counter = collections.Counter(
    w for doc in x_train for w in re.findall(r"[a-zA-Z]+", re.sub(r"<[^>]+>", " ", doc).lower())
    if w not in hparams.STOP_WORDS)
vocab = {hparams.PAD_TOKEN: hparams.PAD_INDEX, hparams.UNK_TOKEN: hparams.UNK_INDEX}
for w, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
    if n < min_freq:
        break
    vocab[w] = len(vocab)
"""],
    "tokenize": ["""
clean = re.sub(r"<[^>]+>", " ", example).lower()
for w in re.findall(r"[a-z]+", clean):
    if w not in hparams.STOP_WORDS:
        tokens.append(vocab[w] if w in vocab else hparams.UNK_INDEX)
"""],
    "Embedding": [
        "self.weight = nn.Parameter(torch.normal(0.0, 1.0, size=(num_embeddings, embedding_dim)))",
        "embeddings = weight.index_select(0, inputs.reshape(-1)).reshape(*inputs.shape, -1)",
    ],
    "LSTM": ["""
self.W_xh = nn.Linear(input_size, 4 * hidden_size)
self.W_hh = nn.Linear(hidden_size, 4 * hidden_size)
""", """
H = self.hidden_size
for t, x_t in enumerate(x):
    z = self.W_hh(h.squeeze(0)) + self.W_xh(x_t)
    ig, fg, gg, og = z[:, :H].sigmoid(), z[:, H:2 * H].sigmoid(), z[:, 2 * H:3 * H].tanh(), z[:, 3 * H:].sigmoid()
    c_t = fg * c.squeeze(0) + ig * gg
    h_t = og * torch.tanh(c_t)
    keep = mask[t].view(-1, 1).to(h_t.dtype)
    h = (keep * h_t + (1 - keep) * h.squeeze(0)).unsqueeze(0)
    c = (keep * c_t + (1 - keep) * c.squeeze(0)).unsqueeze(0)
    h_seq.append(keep * h_t)
"""],
    "RNNClassifier": ["""
self.embedding = Embedding(num_embeddings=num_embeddings, embedding_dim=embedding_dim, padding_idx=0)
if use_lstm:
    self.rnn = LSTM(input_size=embedding_dim, hidden_size=hidden_size)
else:
    self.rnn = RNN(input_size=embedding_dim, hidden_size=hidden_size)
self.head = nn.Sequential(nn.Linear(hidden_size, 1), nn.Sigmoid())
""", """
emb = self.embedding(sequence)
packed = emb if lengths is None else pack_padded_sequence(emb, torch.tensor(lengths), enforce_sorted=False)
_, last = self.rnn(packed)
if isinstance(last, tuple):
    last = last[0]
output = self.head(last[-1]).flatten()
"""],
    "binary_accuracy": ["""
predicted = torch.sigmoid(preds) >= 0.5
acc = predicted.eq(y.bool()).float().sum() / y.numel()
"""],
    "train": ["""
model.train()
for batch in iterator:
    optimizer.zero_grad()
    out = model(batch.text, batch.lengths)
    l = criterion(out, batch.label)
    l.backward()
    optimizer.step()
    epoch_loss = epoch_loss + l.item()
    epoch_acc = epoch_acc + binary_accuracy(torch.logit(out, eps=1e-6), batch.label).item()
""", """
model.eval()
for batch in iterator:
    with torch.no_grad():
        out = model(batch.text, batch.lengths)
        epoch_loss = epoch_loss + criterion(out, batch.label).item()
        epoch_acc = epoch_acc + binary_accuracy(torch.logit(out, eps=1e-6), batch.label).item()
"""],
    "model": ["model = RNNClassifier(num_embeddings=len(vocab), embedding_dim=24, hidden_size=48)"],
}


def _cell_key(source: str) -> str | None:
    m = re.search(r"^(?:def|class)\s+(\w+)", source, re.M)
    if m:
        return m.group(1)
    return "model" if re.match(r"model = None", source) else None


def fill_template(fills: dict[str, list[str]]) -> nbformat.NotebookNode:
    """The template with each stub replaced by the given code, indented to the stub's level."""
    nb = nbformat.read(TEMPLATE, as_version=4)
    for cell in nb.cells:
        key = _cell_key(cell.source) if cell.cell_type == "code" else None
        if key not in fills:
            continue
        pieces = iter(fills[key])

        def fill(m: re.Match[str], pieces=pieces) -> str:
            return textwrap.indent(textwrap.dedent(next(pieces)).strip("\n"), m.group(1))

        cell.source = STUB.sub(fill, cell.source)
    return nb


def template() -> nbformat.NotebookNode:
    return nbformat.read(TEMPLATE, as_version=4)


def example(name: str) -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)


# -- disguises ------------------------------------------------------------------------------------------------

KEEP = {"self", "cls", "super", "print", "len", "range", "isinstance", "float", "int", "zip", "enumerate", "sorted",
        "tuple", "dict", "list", "set", "any", "all", "max", "min", "sum", "next", "iter", "map", "str"}


class _Renamer(ast.NodeTransformer):
    """Renames the names the student chose: locals, parameters, attributes set on self, helpers."""

    def __init__(self, keep: set[str], rng: random.Random):
        self.keep, self.rng, self.names = keep, rng, {}

    def new(self, name: str) -> str:
        if name in self.keep or name.startswith("__"):
            return name
        if name not in self.names:
            self.names[name] = f"{self.rng.choice(['my', 'the', 'tmp', 'val', 'x'])}_{len(self.names)}"
        return self.names[name]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.new(node.id)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self.new(node.name)
        self.generic_visit(node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.new(node.arg)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "self" and node.attr in self.names:
            node.attr = self.names[node.attr]
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        self.generic_visit(node)
        if node.arg in self.names:
            node.arg = self.names[node.arg]
        return node


def _self_attributes(tree: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)
            and isinstance(n.value, ast.Name) and n.value.id == "self"}


def _api_names(nb: nbformat.NotebookNode) -> set[str]:
    """Names the graders and the template's given code need: top-level defs, classes, globals, imports."""
    keep = set(KEEP)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                keep.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                keep.update((a.asname or a.name).split(".")[0] for a in node.names)
                keep.update(a.name for a in node.names if isinstance(node, ast.ImportFrom))
            elif isinstance(node, ast.Assign):
                keep.update(t.id for t in node.targets if isinstance(t, ast.Name))
    keep |= {"nn", "torch", "re", "collections", "Path", "csv", "PackedSequence", "hparams", "vocab"}
    return keep


def _add_comments(source: str, rng: random.Random) -> str:
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped and not stripped.startswith(("else", "elif", "except", "finally", ")", "]", "}")) and \
                rng.random() < 0.3:
            out.append(line[: len(line) - len(stripped)] + rng.choice(
                ["# now do the next step", "# helper values", "# compute it", "# see lecture 5", "# TODO tidy"]))
        out.append(line)
    return "\n".join(out)


def extract_helper(source: str) -> str:
    """Move train's per-batch body into a helper function (the copier's "refactoring")."""
    body = """        optimizer.zero_grad()
        predictions = model(batch.text, batch.lengths)
        loss = criterion(predictions, batch.label)
        acc = binary_accuracy(torch.logit(predictions, eps=1e-6), batch.label)
        loss.backward()
        optimizer.step()
"""
    if body not in source:
        return source
    helper = "def _train_step(model, batch, optimizer, criterion):\n" + textwrap.indent(
        textwrap.dedent(body), "    ") + "    return loss, acc\n\n\n"
    return helper + source.replace(body, "        loss, acc = _train_step(model, batch, optimizer, criterion)\n")


def inline_variable(source: str) -> str:
    """binary_accuracy's `rounded` inlined into the expression that uses it."""
    return source.replace("""    rounded = torch.round(torch.sigmoid(preds))
    acc = (rounded == y).float().mean()""", "    acc = (torch.round(torch.sigmoid(preds)) == y).float().mean()")


def disguise(nb: nbformat.NotebookNode, seed: int = 0, *, reorder: bool = True,
             new_ids: bool = False) -> nbformat.NotebookNode:
    """A copy of `nb` that keeps its logic and hides its text: renamed, reformatted, recommented, moved."""
    rng = random.Random(seed)
    nb = nbformat.from_dict(nb)
    keep = _api_names(nb)
    template_sources = {c.source for c in template().cells}
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.source in template_sources:
            continue
        source = inline_variable(extract_helper(cell.source))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        renamer = _Renamer(keep - {"_train_step"}, rng)
        for attr in sorted(_self_attributes(tree)):
            renamer.new(attr)
        cell.source = _add_comments(ast.unparse(renamer.visit(tree)), rng)
    if reorder:
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and _cell_key(c.source)]
        moved = [nb.cells[i] for i in code]
        rng.shuffle(moved)
        for i, cell in zip(code, moved, strict=True):
            nb.cells[i] = cell
    if new_ids:
        for cell in nb.cells:
            cell.id = f"{rng.getrandbits(32):08x}"
    return nb


def personalise(nb: nbformat.NotebookNode, rng: random.Random) -> nbformat.NotebookNode:
    """Make a student's code their own: a statement with a number of their own after some of their lines, so
    two students who picked the same written solution still differ the way two real students do."""
    template_lines = {line.strip() for c in template().cells for line in c.source.splitlines()}
    for cell in nb.cells:
        if cell.cell_type != "code" or not _cell_key(cell.source):
            continue
        out, depth = [], 0
        for line in cell.source.splitlines():
            out.append(line)
            depth += sum(line.count(ch) for ch in "([{") - sum(line.count(ch) for ch in ")]}")
            stripped = line.strip()
            if depth == 0 and stripped and stripped not in template_lines and not stripped.endswith((":", "\\")) \
                    and rng.random() < 0.5:
                out.append(line[: len(line) - len(line.lstrip())] + f"_trace = {rng.randrange(10**6)}")
        source = "\n".join(out)
        try:
            ast.parse(source)
        except SyntaxError:
            continue
        cell.source = source
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
