"""Graders of the bundled assignments, one package per assignment (`graders.<name>`), run by gradekit on the host."""
