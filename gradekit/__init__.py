"""gradekit: grading toolkit for deep-learning course notebooks."""
