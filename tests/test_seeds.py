"""gradekit.seeds: the same notebook draws the same inputs; another notebook or another course secret does not;
the secret file is made once, readable by its owner only."""

import stat

import pytest

from gradekit import seeds


def test_the_same_notebook_and_secret_give_the_same_seeds():
    assert seeds.for_notebook(b"notebook", b"secret") == seeds.for_notebook(b"notebook", b"secret")


@pytest.mark.parametrize("content, secret", [(b"notebook ", b"secret"), (b"notebook", b"another secret")])
def test_another_notebook_or_secret_gives_other_seeds(content, secret):
    first, other = seeds.for_notebook(b"notebook", b"secret"), seeds.for_notebook(content, secret)
    assert first.cases != other.cases and first.held_out != other.held_out


def test_seeds_are_in_the_ranges_the_graders_use():
    drawn = seeds.for_notebook(b"notebook", b"secret")
    assert 0 <= drawn.cases < 2**31  # torch.Generator.manual_seed and random.Random take it
    assert 2**32 <= drawn.held_out < 2**32 + 2**62  # far above the bundled data's own small seeds


def test_without_the_environment_variable_a_secret_file_is_made_once_for_its_owner(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADEKIT_SECRET")
    monkeypatch.setenv("GRADEKIT_STATE", str(tmp_path / "state"))
    first = seeds.course_secret()
    assert len(first) == 64 and seeds.course_secret() == first
    assert stat.S_IMODE((tmp_path / "state" / "secret").stat().st_mode) == 0o600


def test_the_environment_variable_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADEKIT_SECRET", "course")
    monkeypatch.setenv("GRADEKIT_STATE", str(tmp_path))
    assert seeds.course_secret() == b"course" and not (tmp_path / "secret").exists()
