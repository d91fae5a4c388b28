# Run in the grading kernel before the student's first cell.
# One thread: a kernel per submission, several submissions at once on a small machine.
import torch as _torch

_torch.set_num_threads(1)
_torch.manual_seed(0)
GRADING = True
del _torch
