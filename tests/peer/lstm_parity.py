#!/usr/bin/python3
"""Parity of fbnet's LstmClassifier with torch.nn.LSTM + nn.Linear.

Runs tests/peer/lstm_case.cpp (a real subprocess), loads its parameters by
name into a module holding `lstm = nn.LSTM(in, H)` and `readout = nn.Linear(H,
classes)` (load_state_dict with strict=True, so the names and shapes must be
torch's), replays the batch in float64 and checks, within 1e-4 relative
(max |a - b| / max |b| per tensor), the logits of every step, the loss (mean
NLL over batch and steps) and every parameter gradient; the count of correct
arg-maxes must match exactly.

usage: /usr/bin/python3 tests/peer/lstm_parity.py --peer-case build/tests/fbnet_lstm_peer_case
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from graph_parity import TOLERANCE, read_safetensors, relative_error  # noqa: E402


class LstmClassifier(torch.nn.Module):
    def __init__(self, input_size, hidden_size, classes):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size)  # input [steps, B, in]
        self.readout = torch.nn.Linear(hidden_size, classes)

    def forward(self, x):
        hidden, _ = self.lstm(x)  # h_0 = c_0 = 0
        return self.readout(hidden)  # [steps, B, classes]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-case", required=True, help="path of the fbnet_lstm_peer_case binary")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.peer_case, "--out", tmp], check=True)
        tensors, meta = read_safetensors(f"{tmp}/lstm_case.safetensors")

    state = {n[len("param."):]: torch.tensor(v, dtype=torch.float64) for n, v in tensors.items() if n.startswith("param.")}
    steps, batch, input_size = tensors["input"].shape
    hidden_size, classes = state["readout.weight"].shape[1], state["readout.weight"].shape[0]
    model = LstmClassifier(input_size, hidden_size, classes).double()
    model.load_state_dict(state, strict=True)

    x = torch.tensor(tensors["input"], dtype=torch.float64)
    labels = torch.tensor(tensors["labels"].astype(np.int64))
    logits = model(x)
    # Every step has the same batch size, so the mean over steps of the
    # per-step means is the mean over all (step, sample) pairs.
    loss = F.nll_loss(F.log_softmax(logits, dim=2).reshape(-1, classes), labels.reshape(-1))
    loss.backward()
    correct = int((logits.argmax(dim=2) == labels).sum())

    rows = [("logits", relative_error(tensors["fbnet.logits"], logits)),
            ("loss", relative_error(np.array([float(meta["loss"])]), loss.reshape(1)))]
    for name, parameter in model.named_parameters():
        rows.append(("grad " + name, relative_error(tensors["fbnet.grad." + name], parameter.grad)))
    failed = 0
    for what, error in rows:
        ok = error <= TOLERANCE
        failed += not ok
        print(f"{what:<28} {error:.3e}{'' if ok else '  FAIL'}")
    if correct != int(meta["correct"]):
        failed += 1
        print(f"correct: fbnet {meta['correct']}, torch {correct}  FAIL")
    print(f"worst relative error {max(e for _, e in rows):.3e} (tolerance {TOLERANCE:g})")
    print(f"{len(rows) + 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
