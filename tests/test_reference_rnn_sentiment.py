"""Tests for the reference solution of the RNN sentiment assignment (reference/rnn_sentiment.py)."""

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from reference.rnn_sentiment import (
    LSTM,
    RNN,
    Embedding,
    HyperParams,
    LectureBiLSTM,
    LectureRNN,
    RNNClassifier,
    binary_accuracy,
    build_vocab,
    count_parameters,
    evaluate,
    lstm_sequence,
    make_batches,
    reverse_padded,
    tokenize,
    train,
    words,
)

HP = HyperParams()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def copy_into_torch_lstm(lstm: LSTM) -> nn.LSTM:
    """An nn.LSTM holding the same weights as our LSTM."""
    ref = nn.LSTM(lstm.input_size, lstm.hidden_size)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(lstm.W_xh.weight)
        ref.weight_hh_l0.copy_(lstm.W_hh.weight)
        ref.bias_ih_l0.copy_(lstm.W_xh.bias)
        ref.bias_hh_l0.copy_(lstm.W_hh.bias)
    return ref


def packed_input(lengths: list[int], features: int) -> tuple[torch.Tensor, torch.Tensor, PackedSequence]:
    """Random padded (T, B, F) input with garbage in the padding, its lengths, and its packed form."""
    x = torch.randn(max(lengths), len(lengths), features)
    lengths_t = torch.tensor(lengths)
    return x, lengths_t, pack_padded_sequence(x, lengths_t, enforce_sorted=False)


# -----------------------------------------------------------------------------
# parameter counts


def test_lecture_rnn_parameter_count():
    assert count_parameters(LectureRNN(25002, 100, 256, 1)) == 2_592_105


def test_lecture_bilstm_parameter_count():
    assert count_parameters(LectureBiLSTM(25002, 100, 256, 1, 2, True, 0.5, 0)) == 4_810_857


@pytest.mark.parametrize(("ours", "theirs"), [(LSTM, nn.LSTM), (RNN, nn.RNN)])
def test_recurrent_parameter_count_matches_torch(ours, theirs):
    assert count_parameters(ours(100, 256)) == count_parameters(theirs(100, 256))


def test_count_parameters_skips_frozen():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    assert count_parameters(model) == 6


# -----------------------------------------------------------------------------
# text -> ids


def test_words_strips_tags_and_lowercases():
    assert words("Hello<br />World, it's 2 GOOD") == ["hello", "world", "it", "s", "good"]


def test_stop_words_keep_negations():
    assert {"not", "no", "never", "nor", "but", "yet", "although", "though"}.isdisjoint(HP.STOP_WORDS)
    assert {"the", "film", "movie", "s", "t"} <= HP.STOP_WORDS


def test_build_vocab_strips_html():
    vocab = build_vocab(["great<br />acting", "<i>great</i>"], min_freq=1)
    assert "great" in vocab and "acting" in vocab
    assert not {"br", "i"} & vocab.keys()


def test_build_vocab_lowercases():
    vocab = build_vocab(["Great GREAT great"], min_freq=3)
    assert "great" in vocab and "Great" not in vocab


def test_build_vocab_drops_stop_words():
    vocab = build_vocab(["The film was not good"], min_freq=1)
    assert set(vocab) == {HP.PAD_TOKEN, HP.UNK_TOKEN, "not", "good"}


def test_build_vocab_respects_min_freq():
    vocab = build_vocab(["good " * 5 + "bad " * 4])
    assert "good" in vocab and "bad" not in vocab


def test_build_vocab_special_ids():
    vocab = build_vocab(["anything"], min_freq=1)
    assert vocab[HP.PAD_TOKEN] == HP.PAD_INDEX == 0
    assert vocab[HP.UNK_TOKEN] == HP.UNK_INDEX == 1


def test_build_vocab_ids_by_count_then_alphabet():
    texts = ["zeta alpha cat", "cat bob", "cat bob"]
    expected = {HP.PAD_TOKEN: 0, HP.UNK_TOKEN: 1, "cat": 2, "bob": 3, "alpha": 4, "zeta": 5}
    assert build_vocab(texts, min_freq=1) == expected
    assert build_vocab(texts[::-1], min_freq=1) == expected


def test_tokenize_unknown_and_stop_words():
    vocab = build_vocab(["great terrible"], min_freq=1)
    ids = tokenize(vocab, HP, "The great MOVIE was <br />Terrible xyz")
    assert ids == [vocab["great"], vocab["terrible"], HP.UNK_INDEX]


# -----------------------------------------------------------------------------
# Embedding


@pytest.mark.parametrize("shape", [(), (7,), (5, 3), (2, 3, 4)])
def test_embedding_output_shape(shape):
    emb = Embedding(10, 6, padding_idx=0)
    assert emb(torch.randint(0, 10, shape)).shape == (*shape, 6)


def test_embedding_padding_row_is_zero():
    out = Embedding(10, 6, padding_idx=2)(torch.tensor([[2, 3], [2, 2]]))
    assert torch.all(out[0, 0] == 0) and torch.all(out[1] == 0)
    assert torch.any(out[0, 1] != 0)


def test_embedding_padding_row_gets_no_gradient():
    emb = Embedding(10, 6, padding_idx=0)
    emb(torch.tensor([[0, 3], [5, 0]])).pow(2).sum().backward()
    grad = emb.weight.grad
    assert torch.all(grad[0] == 0)
    assert torch.all(grad[3] != 0) and torch.all(grad[5] != 0)
    assert torch.all(grad[1] == 0)  # unused rows get nothing either


def test_embedding_init_is_standard_normal():
    weight = Embedding(1000, 64, padding_idx=0).weight
    assert abs(weight.mean().item()) < 0.02
    assert abs(weight.std().item() - 1.0) < 0.02


# -----------------------------------------------------------------------------
# LSTM / RNN against torch


def test_lstm_matches_torch_lstm():
    lstm = LSTM(5, 7)
    ref = copy_into_torch_lstm(lstm)
    x, h0, c0 = torch.randn(6, 3, 5), torch.randn(1, 3, 7), torch.randn(1, 3, 7)
    h_seq, (h, c) = lstm(x, h0, c0)
    ref_seq, (ref_h, ref_c) = ref(x, (h0, c0))
    torch.testing.assert_close(h_seq, ref_seq, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=0)
    torch.testing.assert_close(c, ref_c, atol=1e-5, rtol=0)


def test_lstm_default_state_is_zero():
    lstm = LSTM(5, 7)
    x = torch.randn(4, 2, 5)
    _, (h, c) = lstm(x)
    _, (h_zero, c_zero) = lstm(x, torch.zeros(1, 2, 7), torch.zeros(1, 2, 7))
    assert h.shape == c.shape == (1, 2, 7)
    torch.testing.assert_close(h, h_zero)
    torch.testing.assert_close(c, c_zero)


def test_lstm_packed_matches_torch_lstm():
    lstm = LSTM(4, 6)
    ref = copy_into_torch_lstm(lstm)
    _, _, packed = packed_input([5, 2, 4], 4)
    h_seq, (h, c) = lstm(packed)
    ref_seq, (ref_h, ref_c) = ref(packed)
    assert isinstance(h_seq, PackedSequence)
    torch.testing.assert_close(
        pad_packed_sequence(h_seq)[0], pad_packed_sequence(ref_seq)[0], atol=1e-5, rtol=0
    )
    torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=0)
    torch.testing.assert_close(c, ref_c, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_packed_final_state_equals_sequence_alone(cls):
    model = cls(4, 6)
    x, lengths, packed = packed_input([5, 2, 4], 4)
    h_seq, state = model(packed)
    h = state[0] if cls is LSTM else state
    assert isinstance(h_seq, PackedSequence)
    for b, length in enumerate(lengths.tolist()):
        _, alone = model(x[:length, b : b + 1])
        alone_h = alone[0] if cls is LSTM else alone
        torch.testing.assert_close(h[:, b], alone_h[:, 0], atol=1e-6, rtol=0)


def test_lstm_sequence_matches_torch_lstm():
    ref = nn.LSTM(5, 7)
    x, h0, c0 = torch.randn(6, 3, 5), torch.randn(1, 3, 7), torch.randn(1, 3, 7)
    weights = (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)
    h_seq, h, c = lstm_sequence(x, *weights, h0, c0)
    ref_seq, (ref_h, ref_c) = ref(x, (h0, c0))
    torch.testing.assert_close(h_seq, ref_seq, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=0)
    torch.testing.assert_close(c, ref_c, atol=1e-5, rtol=0)


def test_rnn_matches_torch_rnn():
    rnn = RNN(5, 7)
    ref = nn.RNN(5, 7)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(rnn.W_xh.weight)
        ref.weight_hh_l0.copy_(rnn.W_hh.weight)
        ref.bias_ih_l0.copy_(rnn.W_xh.bias)
        ref.bias_hh_l0.copy_(rnn.W_hh.bias)
    x, h0 = torch.randn(6, 3, 5), torch.randn(1, 3, 7)
    h_seq, h = rnn(x, h0)
    ref_seq, ref_h = ref(x, h0)
    torch.testing.assert_close(h_seq, ref_seq, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=0)


def test_reverse_padded_flips_real_steps_only():
    x = torch.arange(8.0).reshape(4, 2, 1)  # column b holds 2t + b
    out = reverse_padded(x, torch.tensor([4, 2]))
    assert out[:, 0, 0].tolist() == [6.0, 4.0, 2.0, 0.0]
    assert out[:, 1, 0].tolist() == [3.0, 1.0, 5.0, 7.0]


# -----------------------------------------------------------------------------
# classifier


@pytest.mark.parametrize("use_lstm", [True, False])
def test_classifier_output_is_probability_per_review(use_lstm):
    model = RNNClassifier(30, 8, 6, use_lstm=use_lstm)
    out = model(torch.randint(1, 30, (9, 4)), torch.tensor([9, 3, 5, 1]))
    assert out.shape == (4,)
    assert torch.all((out > 0) & (out < 1))


def test_classifier_batch_of_one():
    model = RNNClassifier(30, 8, 6)
    assert model(torch.randint(1, 30, (5, 1)), torch.tensor([5])).shape == (1,)


def test_classifier_keeps_hparams():
    model = RNNClassifier(30, 8, 6, use_lstm=False, padding_idx=3)
    assert model.hparams == {
        "num_embeddings": 30,
        "embedding_dim": 8,
        "hidden_size": 6,
        "use_lstm": False,
        "padding_idx": 3,
    }
    assert model.embedding.padding_idx == 3


@pytest.mark.parametrize("use_lstm", [True, False])
def test_classifier_probability_invariant_to_padding(use_lstm):
    model = RNNClassifier(30, 8, 6, use_lstm=use_lstm).eval()
    short, long = [3, 7, 11], [5, 2, 9, 4, 8, 6, 12]
    batch = make_batches([short, long], [1, 0], batch_size=2)[0]
    alone = model(torch.tensor(short)[:, None])  # (1,), no padding at all
    together = model(batch.text, batch.lengths)  # (2,), short review padded to 7
    torch.testing.assert_close(together[0], alone[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("logits", "y", "expected"),
    [
        ([2.0, -1.0, 0.3, -0.2], [1.0, 0.0, 0.0, 0.0], 0.75),
        ([5.0, -5.0], [1.0, 0.0], 1.0),
        ([5.0, -5.0], [0.0, 1.0], 0.0),
    ],
)
def test_binary_accuracy(logits, y, expected):
    acc = binary_accuracy(torch.tensor(logits), torch.tensor(y))
    assert acc.dim() == 0 and acc.is_floating_point()
    assert acc.item() == pytest.approx(expected)


# -----------------------------------------------------------------------------
# batching and training loop


def test_make_batches_pads_time_first():
    batches = make_batches([[4, 5, 6], [7], [8, 9]], [1, 0, 1], batch_size=2, pad_index=0)
    assert [b.text.shape for b in batches] == [(3, 2), (2, 1)]
    assert batches[0].text[:, 1].tolist() == [7, 0, 0]
    assert batches[0].lengths.tolist() == [3, 1]
    assert batches[0].label.dtype == torch.float and batches[0].label.tolist() == [1.0, 0.0]


def test_make_batches_empty_review_becomes_unk():
    batch = make_batches([[], [4, 5]], [0, 1], batch_size=2)[0]
    assert batch.lengths.tolist() == [1, 2]
    assert batch.text[:, 0].tolist() == [HP.UNK_INDEX, HP.PAD_INDEX]


def test_make_batches_shuffle_is_seeded():
    tokens, labels = [[i + 2] for i in range(10)], [i % 2 for i in range(10)]
    first = make_batches(tokens, labels, batch_size=10, shuffle_seed=3)[0].text
    second = make_batches(tokens, labels, batch_size=10, shuffle_seed=3)[0].text
    assert torch.equal(first, second)
    assert sorted(first[0].tolist()) == list(range(2, 12))


def toy_setup() -> tuple[RNNClassifier, list]:
    model = RNNClassifier(20, 8, 6)
    tokens = [torch.randint(2, 20, (int(n),)).tolist() for n in torch.randint(1, 8, (12,))]
    labels = [i % 2 for i in range(12)]
    return model, make_batches(tokens, labels, batch_size=4, shuffle_seed=0)


def test_train_updates_parameters_and_returns_floats():
    model, batches = toy_setup()
    before = [p.detach().clone() for p in model.parameters()]
    loss, acc = train(model, batches, torch.optim.Adam(model.parameters(), lr=1e-2), nn.BCELoss())
    assert isinstance(loss, float) and isinstance(acc, float)
    assert loss > 0 and 0 <= acc <= 1
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_evaluate_leaves_parameters_unchanged():
    model, batches = toy_setup()
    before = [p.detach().clone() for p in model.parameters()]
    loss, acc = evaluate(model, batches, nn.BCELoss())
    assert isinstance(loss, float) and 0 <= acc <= 1
    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
    assert not model.training


def test_evaluate_builds_no_graph():
    model, batches = toy_setup()
    seen = []

    def criterion(predictions: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        seen.append((torch.is_grad_enabled(), predictions.grad_fn))
        return nn.functional.binary_cross_entropy(predictions, label)

    evaluate(model, batches, criterion)
    assert seen == [(False, None)] * len(batches)


# -----------------------------------------------------------------------------
# lecture models


def test_lecture_rnn_forward_shape():
    assert LectureRNN(50, 8, 6, 1)(torch.randint(0, 50, (7, 3))).shape == (3, 1)


def test_lecture_bilstm_forward_shape():
    model = LectureBiLSTM(50, 8, 6, 1, 2, True, 0.5, 0)
    out = model(torch.randint(1, 50, (7, 3)), torch.tensor([7, 2, 5]))
    assert out.shape == (3, 1)


def test_lecture_bilstm_matches_torch_bidirectional_lstm():
    model = LectureBiLSTM(50, 8, 6, 1, 1, True, 0.0, 0).eval()
    ref = nn.LSTM(8, 6, bidirectional=True)
    fwd, bwd = model.forward_lstms[0], model.backward_lstms[0]
    with torch.no_grad():
        for suffix, lstm in [("l0", fwd), ("l0_reverse", bwd)]:
            getattr(ref, f"weight_ih_{suffix}").copy_(lstm.W_xh.weight)
            getattr(ref, f"weight_hh_{suffix}").copy_(lstm.W_hh.weight)
            getattr(ref, f"bias_ih_{suffix}").copy_(lstm.W_xh.bias)
            getattr(ref, f"bias_hh_{suffix}").copy_(lstm.W_hh.bias)
    text, lengths = torch.randint(1, 50, (7, 3)), torch.tensor([7, 2, 5])
    packed = pack_padded_sequence(model.embedding(text), lengths, enforce_sorted=False)
    _, (h, _) = ref(packed)
    expected = model.fc(torch.cat([h[-2], h[-1]], dim=-1))
    torch.testing.assert_close(model(text, lengths), expected, atol=1e-5, rtol=0)
