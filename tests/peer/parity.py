#!/usr/bin/python3
"""Parity of fbnet with PyTorch on identical weights and batches.

For the report's FF and FB nets, runs tests/peer/peer_case.cpp (a real
subprocess) to get fbnet's initial weights, three batches, its dropout masks
and its results, rebuilds the same computation in PyTorch from NOTES.md's
formulas, and checks, within 1e-4 relative (max |a - b| / max |b| per tensor):
  - the logits and the loss of the first batch,
  - every parameter gradient of the first batch,
  - every weight after three SGD-momentum steps (torch.optim.SGD).
PyTorch runs in float32 (the peer) and float64 (the reference); both must agree.

usage: /usr/bin/python3 tests/peer/parity.py --peer-case build/tests/fbnet_peer_case
"""
import argparse
import json
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

TOLERANCE = 1e-4


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    metadata = header.pop("__metadata__", {})
    base = 8 + header_size
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", name
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(entry["shape"])
    return tensors, metadata


def forward(params, x, mask, meta):
    """The report's nets, written from NOTES.md: FF, or FB with feedback h -> x."""
    w1, b1 = params["layers.0.weight"], params["layers.0.bias"]
    h = F.relu(x @ w1.T + b1)
    if "feedback.0.weight" in params:
        alpha = float(meta["feedback_alpha"])
        wfb, bfb = params["feedback.0.weight"], params["feedback.0.bias"]
        for _ in range(int(meta["steps"]) - 1):
            h = F.relu(((1 - alpha) * x + alpha * (h @ wfb.T + bfb)) @ w1.T + b1)
    # fbnet's mask already holds 0 or 1 / (1 - p): torch.nn.Dropout's scaling.
    return (h * mask) @ params["layers.1.weight"].T + params["layers.1.bias"]


def relative_error(ours, theirs):
    theirs = theirs.detach().double().numpy()
    return float(np.max(np.abs(ours.astype(np.float64) - theirs)) / max(np.max(np.abs(theirs)), 1e-30))


def check_model(peer_case, model, dtype, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/{model}.safetensors"
        subprocess.run([peer_case, "--model", model, "--out", path], check=True)
        tensors, meta = read_safetensors(path)
    names = [n[len("initial."):] for n in tensors if n.startswith("initial.")]
    params = {n: torch.tensor(tensors["initial." + n], dtype=dtype, requires_grad=True) for n in names}
    optimizer = torch.optim.SGD(params.values(), lr=float(meta["learning_rate"]), momentum=float(meta["momentum"]))
    for k in range(3):
        x = torch.tensor(tensors[f"input.{k}"], dtype=dtype)
        labels = torch.tensor(tensors[f"labels.{k}"].astype(np.int64))
        mask = torch.tensor(tensors[f"mask.{k}"], dtype=dtype)
        optimizer.zero_grad()
        logits = forward(params, x, mask, meta)
        loss = F.nll_loss(F.log_softmax(logits, dim=1), labels)
        loss.backward()
        if k == 0:
            rows.append((model, dtype, "logits", relative_error(tensors["fbnet.logits"], logits)))
            rows.append((model, dtype, "loss", relative_error(np.array([float(meta["loss"])]), loss.reshape(1))))
            for n in names:
                rows.append((model, dtype, "grad " + n, relative_error(tensors["fbnet.grad." + n], params[n].grad)))
        optimizer.step()
    for n in names:
        rows.append((model, dtype, "after 3 steps " + n, relative_error(tensors["fbnet.after3." + n], params[n])))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-case", required=True, help="path of the fbnet_peer_case binary")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for model in ("ff", "fb"):
        for dtype in (torch.float32, torch.float64):
            check_model(args.peer_case, model, dtype, rows)
    failed = 0
    print(f"{'model':<5} {'torch':<8} {'quantity':<40} relative error")
    for model, dtype, what, error in rows:
        ok = error <= TOLERANCE
        failed += not ok
        print(f"{model:<5} {str(dtype).replace('torch.', ''):<8} {what:<40} {error:.3e}{'' if ok else '  FAIL'}")
    worst = max(error for *_, error in rows)
    print(f"worst relative error {worst:.3e} (tolerance {TOLERANCE:g})")
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
