"""The rnn_experiments reference against torch itself and against seed 002's printed figures."""

import random

import pytest
import torch
from torch import nn

import reference.rnn_experiments as ref

SEED_VOCAB = 33_573  # "Length of vocabulary is 33573"
SEED_MAX_LENGTH = 256


class SeedPaddedSteps(nn.Module):
    """Seed 002's architecture as its counts show it: a linear layer over every padded time step."""

    def __init__(self, cell, vocab, embedding, hidden, n_layers, bidirectional, output=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.rnn = cell(embedding, hidden, n_layers, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden * SEED_MAX_LENGTH * (2 if bidirectional else 1), output)


@pytest.mark.parametrize("cell, embedding, hidden, n_layers, printed", [
    (nn.LSTM, 1, 100, 1, 125_975),   # lstm_1layer_base_sgd_e32_h100: the count needs an embedding of 1
    (nn.GRU, 1, 100, 1, 115_675),    # gru_1layer_base_sgd_e32_h100: the same embedding of 1 fits it too
    (nn.LSTM, 150, 150, 2, 5_475_152),  # the compound run: embedding 150, hidden 150, 2 layers
])
def test_seed002_printed_counts_reproduce(cell, embedding, hidden, n_layers, printed):
    assert ref.count_parameters(SeedPaddedSteps(cell, SEED_VOCAB, embedding, hidden, n_layers, False)) == printed


def test_the_seed_base_runs_need_an_embedding_of_one():
    """LSTM - GRU = one gate block, hidden * (embedding + hidden + 2): only embedding 1 (with hidden 100) gives
    the printed difference 10,300, whatever the rest of the model."""
    fits = [(e, h) for e in range(1, 400) for h in range(1, 400) if h * (e + h + 2) == 125_975 - 115_675]
    assert (1, 100) in fits and all(e * SEED_VOCAB > 125_975 for e, h in fits if (e, h) != (1, 100))


@pytest.mark.parametrize("cls, args, expected", [
    (ref.LSTMClassifier, (SEED_VOCAB, 150, 150, 2, 2, 0.5, 0, False), 5_398_652),  # the notebook's Q6 figure
    (ref.LSTMClassifier, (SEED_VOCAB, 1, 100, 2, 1, 0.0, 0, False), 74_975),
    (ref.GRUClassifier, (SEED_VOCAB, 1, 100, 2, 1, 0.0, 0, False), 64_675),
])
def test_reference_counts_differ_from_the_seed_by_the_padded_linear_layer(cls, args, expected):
    vocab, embedding, hidden, output, n_layers, _, _, bidirectional = args
    model = cls(*args)
    assert ref.count_parameters(model) == expected
    seed = SeedPaddedSteps(cls.cell, vocab, embedding, hidden, n_layers, bidirectional, output)
    assert ref.count_parameters(seed) - expected == hidden * output * (SEED_MAX_LENGTH - 1)


def test_count_matches_torch_layers_for_bidirectional_stacks():
    model = ref.GRUClassifier(50, 7, 11, 3, 3, 0.2, 0, True)
    by_hand = 50 * 7 + sum(p.numel() for p in nn.GRU(7, 11, 3, bidirectional=True).parameters()) + 22 * 3 + 3
    assert ref.count_parameters(model) == by_hand


def test_split_sizes_match_the_seeds_printed_shapes():
    assert ref.split_sizes(50_000) == (35_000, 5_000, 10_000)


def test_split_is_a_seeded_partition_that_keeps_labels():
    reviews = [f"r{i}" for i in range(1003)]
    labels = [i % 2 for i in range(1003)]
    parts = ref.split_data(reviews, labels, 4)
    assert [len(x) for x, _ in parts] == [702, 100, 201]
    pairs = sorted((x, y) for xs, ys in parts for x, y in zip(xs, ys, strict=True))
    assert pairs == sorted(zip(reviews, labels, strict=True))
    assert parts == ref.split_data(reviews, labels, 4) != ref.split_data(reviews, labels, 5)


def test_dataset_items_and_collate():
    vocab = {"<pad>": 0, "<unk>": 1, "good": 2, "plot": 3}
    data = ref.IMDBDataset(["A good plot, good!", "plot"], ["positive", "negative"], vocab, 2)
    assert data[0] == {"ids": [2, 3], "length": 2, "label": 1}
    assert data[1] == {"ids": [3], "length": 1, "label": 0}
    batch = ref.collate([data[0], data[1]])
    assert batch["ids"].tolist() == [[2, 3], [3, 0]]
    assert batch["length"].tolist() == [2, 1] and batch["label"].tolist() == [1, 0]


@pytest.mark.parametrize("n_layers, bidirectional", [(1, False), (3, False), (1, True), (2, True)])
def test_final_hidden_is_the_last_layers_state_forward_first(n_layers, bidirectional):
    dirs = 2 if bidirectional else 1
    h_n = torch.randn(n_layers * dirs, 4, 5)
    got = ref.final_hidden(h_n, bidirectional)
    expected = torch.cat((h_n[-2], h_n[-1]), dim=1) if bidirectional else h_n[-1]
    assert torch.equal(got, expected)
    assert torch.equal(got, h_n.view(n_layers, dirs, 4, 5)[-1].permute(1, 0, 2).reshape(4, -1))


@pytest.mark.parametrize("cls", [ref.LSTMClassifier, ref.GRUClassifier])
def test_classifier_reads_each_review_alone_whatever_the_padding(cls):
    """Each review's logits equal running the recurrent layer on that review alone, without packing."""
    torch.manual_seed(0)
    model = cls(30, 6, 8, 3, 2, 0.3, 0, True).eval()
    lengths = [7, 2, 5]
    ids = torch.zeros(3, 7, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(2, 30, (n,))
    batched = model(ids, torch.tensor(lengths))
    for row, n in enumerate(lengths):
        _, state = model.rnn(model.embedding(ids[row : row + 1, :n]))
        h_n = state[0] if isinstance(state, tuple) else state
        alone = model.fc(torch.cat((h_n[-2], h_n[-1]), dim=1))
        torch.testing.assert_close(batched[row : row + 1], alone, atol=1e-6, rtol=1e-5)


def test_make_optimizer_by_name_in_any_case():
    params = [nn.Parameter(torch.zeros(2))]
    for name, cls in ref.OPTIMIZERS.items():
        for spelling in (name, name.lower(), name.upper()):
            optimizer = ref.make_optimizer(spelling, params, 0.03)
            assert type(optimizer) is cls and optimizer.param_groups[0]["lr"] == 0.03
    with pytest.raises(ValueError, match="unknown optimizer"):
        ref.make_optimizer("adamw", params, 0.1)


def test_the_study_changes_one_setting_at_a_time():
    configs = ref.study_configs()
    assert len(configs) == 11 and ref.BASE in configs
    for section, (field, values) in ref.SECTIONS.items():
        assert [getattr(c, field) for c in ref.STUDY[section]] == list(values)
        for config in ref.STUDY[section]:
            differs = [f for f in ("optimizer", "n_layers", "hidden_dim", "embedding_dim")
                       if getattr(config, f) != getattr(ref.BASE, f)]
            assert differs in ([], [field])


def test_train_and_test_returns_the_history():
    rng = random.Random(0)
    words = ["good", "great", "bad", "awful", "plot", "cast"]
    texts = [" ".join(rng.choice(words) for _ in range(6)) for _ in range(200)]
    labels = ["positive" if sum(w in ("good", "great") for w in t.split()) >= 3 else "negative" for t in texts]
    parts = ref.split_data(texts, labels, 0)
    vocab = ref.build_vocab(parts[0][0], 1, ref.HyperParams())
    datasets = tuple(ref.IMDBDataset(x, y, vocab, 256) for x, y in parts)
    hp = ref.Config("Adam", 1, 8, 8).apply(ref.HyperParams())
    hp.N_EPOCHS = 2
    history = ref.train_and_test(hp, datasets, len(vocab))
    assert [len(history[k]) for k in ("train_loss", "train_acc", "valid_loss", "valid_acc")] == [2] * 4
    assert 0 <= history["test_acc"] <= 1 and history["test_loss"] > 0
