#!/usr/bin/python3
"""Parity of fbnet with PyTorch on identical weights and batches.

For the report's FF and FB nets, and the FB net unrolled over 4 steps,
runs tests/peer/peer_case.cpp (a real subprocess) to get fbnet's initial
weights, four batches, its dropout masks and its results, trained as
trainer.cpp trains (updates applied inside backward as ranges become final,
gradients never zeroed), rebuilds the same computation in PyTorch from
NOTES.md's formulas, replays it with torch.optim.SGD (zero_grad, backward,
step), and checks per tensor, as max |a - b| / max |b|:
  - the logits and the loss of the first batch, within 1e-4,
  - every parameter gradient of the first batch, within 1e-4,
  - every weight after the four steps, within 1e-4 of the weight's largest value,
  - every step's update w_k - w_(k-1), within UPDATE_TOLERANCE of that
    update's own largest value: an update can be wrong by 10% and still move
    the weights by less than 1e-4 of their size.
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
# An update lr * v is ~1e-4 of the weight it changes, and fbnet keeps weights
# in float32, so w_k - w_(k-1) carries the rounding of both weights (~6e-8 of
# |w| each): up to ~1e-3 of the update. Measured worst (feedback.0.weight at
# lr 0.02): 3.1e-4 against torch float32, 1.5e-4 against float64.
UPDATE_TOLERANCE = 2e-3
# (name, fbnet_peer_case settings): the report's nets, and FB unrolled further.
CASES = [("ff", ["--model", "ff"]), ("fb", ["--model", "fb"]), ("fb 4 steps", ["--model", "fb", "--steps", "4"])]


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


def check_case(peer_case, case, settings, dtype, rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/case.safetensors"
        subprocess.run([peer_case, *settings, "--out", path], check=True)
        tensors, meta = read_safetensors(path)
    names = [n[len("initial."):] for n in tensors if n.startswith("initial.")]
    params = {n: torch.tensor(tensors["initial." + n], dtype=dtype, requires_grad=True) for n in names}
    optimizer = torch.optim.SGD(params.values(), lr=float(meta["learning_rate"]), momentum=float(meta["momentum"]))
    batches = int(meta["batches"])
    worst_update = {n: (0.0, 0) for n in names}  # (relative error, step)
    for k in range(batches):
        x = torch.tensor(tensors[f"input.{k}"], dtype=dtype)
        labels = torch.tensor(tensors[f"labels.{k}"].astype(np.int64))
        mask = torch.tensor(tensors[f"mask.{k}"], dtype=dtype)
        before = {n: p.detach().double().clone() for n, p in params.items()}
        optimizer.zero_grad()
        logits = forward(params, x, mask, meta)
        loss = F.nll_loss(F.log_softmax(logits, dim=1), labels)
        loss.backward()
        if k == 0:
            rows.append((case, dtype, "logits", relative_error(tensors["fbnet.logits"], logits), TOLERANCE))
            rows.append((case, dtype, "loss", relative_error(np.array([float(meta["loss"])]), loss.reshape(1)), TOLERANCE))
            for n in names:
                rows.append((case, dtype, "grad " + n, relative_error(tensors["fbnet.grad." + n], params[n].grad), TOLERANCE))
        optimizer.step()
        for n in names:
            ours_before = tensors[f"initial.{n}"] if k == 0 else tensors[f"fbnet.after.{k}.{n}"]
            ours = tensors[f"fbnet.after.{k + 1}.{n}"].astype(np.float64) - ours_before.astype(np.float64)
            error = relative_error(ours, params[n].detach().double() - before[n])
            if not error <= worst_update[n][0]:  # a NaN is the worst
                worst_update[n] = (error, k + 1)
    for n in names:
        rows.append((case, dtype, f"after {batches} steps {n}", relative_error(tensors[f"fbnet.after.{batches}.{n}"], params[n]),
                     TOLERANCE))
    for n, (error, step) in worst_update.items():
        rows.append((case, dtype, f"update {n} (worst: step {step})", error, UPDATE_TOLERANCE))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-case", required=True, help="path of the fbnet_peer_case binary")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for case, settings in CASES:
        for dtype in (torch.float32, torch.float64):
            check_case(args.peer_case, case, settings, dtype, rows)
    failed = 0
    print(f"{'case':<10} {'torch':<8} {'quantity':<46} relative error (tolerance)")
    for case, dtype, what, error, tolerance in rows:
        ok = error <= tolerance
        failed += not ok
        print(f"{case:<10} {str(dtype).replace('torch.', ''):<8} {what:<46} {error:.3e} ({tolerance:g}){'' if ok else '  FAIL'}")
    for kind, is_update in (("updates", True), ("logits, loss, gradients and weights", False)):
        for dtype in (torch.float32, torch.float64):
            worst = max(error for _, d, what, error, _ in rows if d == dtype and what.startswith("update") == is_update)
            print(f"worst error of the {kind} against torch {str(dtype).replace('torch.', '')}: {worst:.3e}")
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
