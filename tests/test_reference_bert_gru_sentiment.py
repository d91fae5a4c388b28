"""Tests for the reference solution of the BERT + GRU sentiment assignment (reference/bert_gru_sentiment.py).

Behaviour runs on a tiny random BertModel; tokenizer facts use the packaged MiniLM (bert-base-uncased's
vocabulary); bert-base parameter counts use an untrained model on the meta device. Nothing is downloaded.
"""
# ruff: noqa: E402
# (imports follow the environment: huggingface_hub reads HF_HUB_OFFLINE once, when first imported)

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import torch
import torch.nn as nn
from transformers import BertConfig, BertModel

from gradekit.offline import bert_base_untrained, load_bert, load_tokenizer, minilm_path
from reference import bert_gru_sentiment as bgs
from reference.bert_gru_sentiment import (
    MAX_INPUT_LENGTH,
    Batch,
    BERTGRUSentiment,
    binary_accuracy,
    count_parameters,
    encode,
    evaluate,
    fit,
    freeze_bert,
    make_batches,
    predict_sentiment,
    tokenize_and_cut,
    train,
)

LONG_REVIEW = " ".join(["this movie was surprisingly wonderful"] * 500)  # 2,000 words


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(minilm_path())


def tiny_bert() -> BertModel:
    """A 1-layer, 32-wide BERT with the real vocabulary size; no internal dropout, so only the head's shows."""
    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertModel(config)


def tiny_model(hidden_dim: int = 8, n_layers: int = 2, bidirectional: bool = True, dropout: float = 0.25):
    return BERTGRUSentiment(tiny_bert(), hidden_dim, 1, n_layers, bidirectional, dropout)


def tiny_batches(n_batches: int = 3, batch_size: int = 2) -> list[Batch]:
    """Random [CLS] ... [SEP] reviews of varying length with 0/1 labels."""
    g = torch.Generator().manual_seed(1)
    n = n_batches * batch_size
    lengths = torch.randint(3, 9, (n,), generator=g).tolist()
    ids = [[101, *torch.randint(1000, 30000, (k,), generator=g).tolist(), 102] for k in lengths]
    labels = [i % 2 for i in range(n)]
    return make_batches(ids, labels, batch_size)


def gru_head_count(embedding_dim: int, hidden_dim: int, n_layers: int, bidirectional: bool, output_dim: int) -> int:
    """Trainable scalars of GRU + Linear: per layer and direction 3 gates, each with W_ih (H, in), W_hh (H, H)
    and two biases (H,): 3*H*(in + H + 2). Layers after the first read directions*H features."""
    directions = 2 if bidirectional else 1
    rnn = sum(
        directions * 3 * hidden_dim * ((embedding_dim if layer == 0 else directions * hidden_dim) + hidden_dim + 2)
        for layer in range(n_layers)
    )
    return rnn + (directions * hidden_dim + 1) * output_dim


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# -----------------------------------------------------------------------------
# parameter counts (Q2b, Q2c)


def test_bert_base_gru_has_112_241_409_trainable_parameters():
    model = BERTGRUSentiment(bert_base_untrained(), 256, 1, 2, True, 0.25)
    assert count_parameters(model) == 112_241_409


def test_bert_base_gru_has_2_759_169_trainable_parameters_after_freezing():
    model = BERTGRUSentiment(bert_base_untrained(), 256, 1, 2, True, 0.25)
    freeze_bert(model)
    assert count_parameters(model) == 2_759_169


def test_head_formula_reproduces_the_lecture_count():
    assert gru_head_count(768, 256, 2, True, 1) == 2_759_169


def test_minilm_gru_frozen_count_matches_formula():
    model = BERTGRUSentiment(load_bert(minilm_path()), 256, 1, 2, True, 0.25)
    freeze_bert(model)
    expected = gru_head_count(384, 256, 2, True, 1)
    print(f"\nMiniLM (hidden 384) + 2-layer biGRU(256) + Linear, BERT frozen: {expected:,} trainable parameters")
    assert count_parameters(model) == expected


@pytest.mark.parametrize(
    ("n_layers", "bidirectional"), [(1, False), (1, True), (2, False), (3, True)], ids=["1uni", "1bi", "2uni", "3bi"]
)
def test_frozen_count_matches_formula_for_other_shapes(n_layers, bidirectional):
    model = BERTGRUSentiment(tiny_bert(), 16, 1, n_layers, bidirectional, 0.25)
    freeze_bert(model)
    assert count_parameters(model) == gru_head_count(32, 16, n_layers, bidirectional, 1)


def test_freeze_bert_freezes_only_bert():
    model = tiny_model()
    freeze_bert(model)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {name for name, _ in model.named_parameters() if name.startswith("bert")}


def test_gru_dropout_is_zero_for_a_single_layer():
    assert tiny_model(n_layers=1, dropout=0.5).rnn.dropout == 0


# -----------------------------------------------------------------------------
# tokenizer facts (Q1a) and encoding


def test_vocabulary_size(tokenizer):
    assert len(tokenizer.vocab) == 30_522


def test_lecture_sentence_ids(tokenizer):
    tokens = tokenizer.tokenize("Hello WORLD how ARE yoU?")
    assert tokens == ["hello", "world", "how", "are", "you", "?"]
    assert tokenizer.convert_tokens_to_ids(tokens) == [7592, 2088, 2129, 2024, 2017, 1029]


@pytest.mark.parametrize(
    ("attr", "token", "idx"), [("cls", "[CLS]", 101), ("sep", "[SEP]", 102), ("pad", "[PAD]", 0), ("unk", "[UNK]", 100)]
)
def test_special_token_ids(tokenizer, attr, token, idx):
    assert getattr(tokenizer, f"{attr}_token") == token
    assert tokenizer.convert_tokens_to_ids(token) == idx


def test_model_max_length(tokenizer):
    assert tokenizer.model_max_length == MAX_INPUT_LENGTH == 512


def test_tokenize_and_cut_cuts_a_long_review_to_510(tokenizer):
    assert len(tokenizer.tokenize(LONG_REVIEW)) > 510
    assert len(tokenize_and_cut(tokenizer, LONG_REVIEW)) == 510


def test_tokenize_and_cut_keeps_a_short_review(tokenizer):
    assert tokenize_and_cut(tokenizer, "Avengers was great!!") == tokenizer.tokenize("Avengers was great!!")


@pytest.mark.parametrize("sentence", ["Avengers was great!!", LONG_REVIEW], ids=["short", "2000-words"])
def test_encode_is_framed_by_cls_and_sep(tokenizer, sentence):
    ids = encode(tokenizer, sentence)
    assert ids[0] == 101 and ids[-1] == 102
    assert len(ids) <= 512


def test_encode_of_lecture_sentence(tokenizer):
    assert encode(tokenizer, "Hello WORLD how ARE yoU?") == [101, 7592, 2088, 2129, 2024, 2017, 1029, 102]


# -----------------------------------------------------------------------------
# batching


def test_make_batches_pads_right_and_batch_first():
    batches = make_batches([[101, 5, 102], [101, 102], [101, 7, 8, 9, 102]], [1, 0, 1], batch_size=2)
    assert [b.text.shape for b in batches] == [(2, 3), (1, 5)]
    assert batches[0].text.tolist() == [[101, 5, 102], [101, 102, 0]]
    assert batches[0].text.dtype == torch.long


def test_make_batches_labels_are_float():
    batches = make_batches([[101, 102]] * 3, [1, 0, 1], batch_size=2)
    assert [b.label.tolist() for b in batches] == [[1.0, 0.0], [1.0]]
    assert batches[0].label.dtype == torch.float


def test_make_batches_rejects_mismatched_labels():
    with pytest.raises(ValueError):
        make_batches([[101, 102]] * 3, [1, 0], batch_size=2)


# -----------------------------------------------------------------------------
# forward and training (Q2a, Q3)


@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_forward_gives_one_logit_per_review(batch_size, bidirectional):
    model = tiny_model(bidirectional=bidirectional)
    text = torch.randint(1000, 2000, (batch_size, 7))
    assert model(text).shape == (batch_size, 1)


def test_bert_gets_no_gradient_even_unfrozen():
    model = tiny_model()
    model(torch.randint(1000, 2000, (2, 5))).sum().backward()
    assert all(p.grad is None for name, p in model.named_parameters() if name.startswith("bert"))
    assert all(p.grad is not None for name, p in model.named_parameters() if not name.startswith("bert"))


@pytest.fixture(scope="module")
def one_epoch():
    """State before and after one `train` epoch with BERT frozen, and what train returned (read-only)."""
    torch.manual_seed(0)
    model = tiny_model()
    freeze_bert(model)
    before = snapshot(model)
    result = train(model, tiny_batches(), torch.optim.Adam(model.parameters()), nn.BCEWithLogitsLoss())
    return before, snapshot(model), result


def test_train_leaves_bert_unchanged(one_epoch):
    before, after, _ = one_epoch
    bert = [k for k in before if k.startswith("bert.")]
    assert bert and all(torch.equal(before[k], after[k]) for k in bert)


@pytest.mark.parametrize("prefix", ["rnn.", "out."])
def test_train_moves_every_head_tensor(one_epoch, prefix):
    before, after, _ = one_epoch
    head = [k for k in before if k.startswith(prefix)]
    assert head and all(not torch.equal(before[k], after[k]) for k in head)


def test_train_returns_python_floats(one_epoch):
    loss, acc = one_epoch[2]
    assert isinstance(loss, float) and isinstance(acc, float)
    assert loss > 0 and 0 <= acc <= 1


def test_evaluate_changes_nothing():
    model = tiny_model()
    before = snapshot(model)
    loss, acc = evaluate(model, tiny_batches(), nn.BCEWithLogitsLoss())
    assert all(torch.equal(before[k], v) for k, v in snapshot(model).items())
    assert isinstance(loss, float) and 0 <= acc <= 1


def test_evaluate_matches_a_manual_mean_over_batches():
    model = tiny_model()
    batches = tiny_batches()
    criterion = nn.BCEWithLogitsLoss()
    model.eval()
    with torch.no_grad():
        logits = [model(b.text).squeeze(1) for b in batches]
    expected_loss = sum(criterion(p, b.label).item() for p, b in zip(logits, batches, strict=True)) / len(batches)
    expected_acc = sum(binary_accuracy(p, b.label).item() for p, b in zip(logits, batches, strict=True)) / 3
    assert evaluate(model, batches, criterion) == pytest.approx((expected_loss, expected_acc))


@pytest.mark.parametrize(("mode", "differ"), [("train", True), ("eval", False)])
def test_dropout_only_in_train_mode(mode, differ):
    model = tiny_model(hidden_dim=64, dropout=0.5)
    getattr(model, mode)()
    text = torch.randint(1000, 2000, (2, 6))
    assert (not torch.equal(model(text), model(text))) == differ


# -----------------------------------------------------------------------------
# the epoch loop (Q3d)

SCRIPTED_VALID_LOSSES = [0.5, 0.3, 0.4, 0.35]  # best at epoch 2, then up


@pytest.fixture
def scripted_fit(monkeypatch, tmp_path):
    """fit with train/evaluate replaced by scripts: epoch e sets out.bias to e and reports a known loss."""
    epochs = iter(range(1, len(SCRIPTED_VALID_LOSSES) + 1))
    current = {}

    def fake_train(model, iterator, optimizer, criterion):
        current["epoch"] = next(epochs)
        with torch.no_grad():
            model.out.bias.fill_(float(current["epoch"]))
        return 0.1, 0.9

    def fake_evaluate(model, iterator, criterion):
        return SCRIPTED_VALID_LOSSES[current["epoch"] - 1], 0.8

    monkeypatch.setattr(bgs, "train", fake_train)
    monkeypatch.setattr(bgs, "evaluate", fake_evaluate)
    model = tiny_model()
    path = tmp_path / "model.pt"
    history = fit(model, [], [], None, None, len(SCRIPTED_VALID_LOSSES), path=str(path))
    return model, path, history


def test_fit_records_every_epoch(scripted_fit):
    _, _, history = scripted_fit
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert [h["valid_loss"] for h in history] == SCRIPTED_VALID_LOSSES
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "valid_loss", "valid_acc"}


def test_fit_saves_the_best_validation_state(scripted_fit):
    _, path, _ = scripted_fit
    assert torch.load(path, weights_only=True)["out.bias"].item() == 2.0


def test_fit_ends_with_the_best_state(scripted_fit):
    model, _, _ = scripted_fit
    assert model.out.bias.item() == 2.0


def test_fit_runs_for_real(tmp_path):
    model = tiny_model()
    freeze_bert(model)
    batches = tiny_batches()
    optimizer = torch.optim.Adam(model.parameters())
    history = fit(model, batches, batches, optimizer, nn.BCEWithLogitsLoss(), 2, path=str(tmp_path / "m.pt"))
    assert len(history) == 2 and (tmp_path / "m.pt").is_file()


# -----------------------------------------------------------------------------
# inference (Q4)


@pytest.mark.parametrize(
    "sentence", ["Justice League is terrible. I hated it.", LONG_REVIEW], ids=["short", "2000-words"]
)
def test_predict_sentiment_is_a_probability(tokenizer, sentence):
    p = predict_sentiment(tiny_model(), tokenizer, sentence)
    assert isinstance(p, float) and 0.0 <= p <= 1.0


def test_predict_sentiment_puts_model_in_eval_mode(tokenizer):
    model = tiny_model(hidden_dim=64, dropout=0.5)
    first = predict_sentiment(model, tokenizer, "Avengers was great!!")
    assert not model.training
    assert predict_sentiment(model, tokenizer, "Avengers was great!!") == first
