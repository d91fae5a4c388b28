"""Reference implementations of the course assignments, used by the graders and their tests."""
