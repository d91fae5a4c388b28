"""Ten true/false statements. Whether each is right is a hidden check (a self-check would otherwise reveal
the key one statement at a time); a student's self-check does say whether all ten answers can be read."""

import pytest

from gradekit.written.answers import true_false


@pytest.fixture(scope="session")
def given(answer, reference):
    text = answer("true_false")
    if text.problem:
        return {}, text.problem
    return true_false(text.text, len(reference.TRUE_FALSE))


@pytest.mark.question("true_false", points=0)
def test_answers_readable(given):
    """All ten answers can be read"""
    _, problem = given
    assert not problem, problem


@pytest.mark.question("true_false", points=0.5, hidden=True)
@pytest.mark.parametrize("number", range(1, 11))
def test_statement(number, given, reference):
    """Statement"""
    answers, problem = given
    _, key, why = reference.TRUE_FALSE[number - 1]
    assert number in answers, problem  # the same text for every unread statement: one line in the report
    assert answers[number] == key, f"statement {number} is {key}: {why}"
