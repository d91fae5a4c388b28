"""rnn_experiments' verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken question
loses what the mistake costs), each one change to the solution."""

from variants import Variant

# Q7 train_and_test_model_with_hparams runs on the graders' stand-in classifier and collate: the stand-in must accept
# what the notebook's classes accept (issue 11 class 5), and figures returned without training earn nothing (4).
MAKE_MODEL = ("    model = Model(len(vocab), hparams.EMBEDDING_DIM, hparams.HIDDEN_DIM, hparams.OUTPUT_DIM, "
              "hparams.N_LAYERS,\n                  hparams.DROPOUT_RATE, hparams.PAD_INDEX, hparams.BIDIRECTIONAL)\n")
START = "    Model = GRUClassifier if hparams.MODEL.lower() == \"gru\" else LSTMClassifier\n"
MADE_UP = ("    n = hparams.N_EPOCHS\n    return {\"train_loss\": [0.5] * n, \"train_acc\": [0.8] * n,\n"
           "            \"valid_loss\": [0.5] * n, \"valid_acc\": [0.8] * n, \"test_loss\": 0.4, \"test_acc\": 0.9}\n")

VARIANTS = [
    Variant("ok_train_and_test_model_by_keyword", "the classes' own parameter names, passed by keyword",
            edits=((START + MAKE_MODEL, START +
                    "    model = Model(vocab_size=len(vocab), embedding_dim=hparams.EMBEDDING_DIM,\n"
                    "                  hidden_dim=hparams.HIDDEN_DIM, output_dim=hparams.OUTPUT_DIM,\n"
                    "                  n_layers=hparams.N_LAYERS, dropout_rate=hparams.DROPOUT_RATE,\n"
                    "                  pad_index=hparams.PAD_INDEX, bidirectional=hparams.BIDIRECTIONAL)\n"),)),
    Variant("ok_train_and_test_device_of_parameters", "the usual device idiom: the model's parameters' device",
            edits=((START + MAKE_MODEL, START + MAKE_MODEL + "    device = next(model.parameters()).device\n"
                    "    model = model.to(device)\n"),)),
    Variant("wrong_train_and_test_made_up_history", "figures returned without training measure nothing",
            edits=((START, MADE_UP + START),),
            lost={"train_and_test": 5, "report_rerun": 3},
            says=(("train_and_test", "no classifier it built was trained during the call"),
                  ("report_rerun", "re-running both with your code gives SGD 0.900 and Adam 0.900"))),
]
