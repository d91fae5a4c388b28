"""Similar submissions: which notebooks share student-written code beyond the template, shown side by side.

extract (cells and their questions) -> normalise (tokens with disguises removed) -> fingerprint (k-grams,
copydetect's winnowing, the index) -> compare (pairs and figures) -> report (HTML, CSV, JSON). Reads notebook
files as data; never runs them.
"""

from gradekit.similarity.compare import Pair, Result, Settings, compare
from gradekit.similarity.extract import TemplateMissing
from gradekit.similarity.report import write_report

__all__ = ["Pair", "Result", "Settings", "TemplateMissing", "compare", "write_report"]
