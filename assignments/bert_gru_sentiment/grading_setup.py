# Run in the grading kernel before the student's first cell, in place of the notebook's downloads.
# GRADING_BERT_PATH is written above this file by the grader: a local model folder, never a hub name.
import csv as _csv

import torch as _torch
from transformers import BertModel as _BertModel
from transformers import BertTokenizer as _BertTokenizer

_torch.set_num_threads(1)
_torch.manual_seed(0)
tokenizer = _BertTokenizer.from_pretrained(GRADING_BERT_PATH, local_files_only=True)  # noqa: F821
bert = _BertModel.from_pretrained(GRADING_BERT_PATH, local_files_only=True)  # noqa: F821


def _read_reviews(path):
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["review"], 1 if row["sentiment"] == "positive" else 0) for row in _csv.DictReader(f)]


full_train_reviews = _read_reviews("data/bert_gru_sentiment/train.csv")
test_reviews = _read_reviews("data/bert_gru_sentiment/test.csv")
GRADING = True
