#!/usr/bin/python3
"""PyTorch peer of fbnet's experiment 1, for accuracy and epoch-time comparison.

Trains the report's single-image networks (see ../shared/paper/report.md and
NOTES.md) exactly as the original setup did, so the C++ engine's accuracy and
per-epoch training time can be compared against a plain PyTorch run:

  ff        Linear(784,500) -> ReLU -> Dropout(0.5) -> Linear(500,C) -> log_softmax
  ff-large  the same with 1000 hidden units
  fb        the ff net plus a feedback Linear(500,784), two passes:
              pass 1: h = relu(W1 x + b1)
              pass 2: h = relu(W1 ((1-a) x + a (Wfb h + bfb)) + b1)
            dropout and the output layer act on the last h only.

Training: default PyTorch Linear init, mean NLL loss, torch.optim.SGD with
momentum (no weight decay, no Nesterov), reshuffled every epoch (seeded), the
last partial minibatch included. Hyperparameters default to the values the
report chose per model (FF lr 0.02 m 0.7 batch 128; FF large lr 0.04 m 0.5
batch 128; FB lr 0.02 m 0.3 batch 64 alpha 0.3).

Data: gzip IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in --data-dir, optionally
with a name prefix (--file-prefix, e.g. "emnist-letters-"). A seeded random
validation set of --validation-size images is split off the training set; the
rest is trained on. Pixels: x/255, then (x-0.1307)/0.3081. The noisy test set is
built once from the raw uint8 test images:
noisy = clip(x + s * N(0, 64), 0, 255) (64 is the standard deviation), cast to
uint8 by truncation, one draw per pixel, then normalised the same way.
If the labels have no 0 but start at 1 (EMNIST "letters", 1..26) they are
shifted down by one, giving classes 0..25. EMNIST's transposed storage is left
as it is: a fixed permutation of the input pixels does not change what a fully
connected net can learn.

Timing: all data is preloaded as float32 tensors (N, 784) before any timing;
train_seconds covers the training loop of an epoch only (time.perf_counter),
not the evaluation.

Output: one JSON line per epoch on stdout,
  {"model", "epoch", "train_seconds", "train_loss", "validation_accuracy",
   "validation_loss", "test_accuracy", "test_loss", "noisy_test_accuracy",
   "noisy_test_loss"}
(accuracies in %, losses mean NLL), then a summary line
  {"model", "summary": true, "median_epoch_seconds", "final_test_accuracy",
   "final_noisy_test_accuracy", "parameters"}.
--json-out writes the same lines to a file as well. Progress goes to stderr.

Run it with Debian's python (it has torch and numpy):
  /usr/bin/python3 bench/torch_reference.py --model fb --epochs 1 --max-train 5000
  /usr/bin/python3 bench/torch_reference.py --model ff --epochs 30 --threads 1 \\
      --json-out ff.jsonl
Exit status 2 on bad data (a missing or malformed file).
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = 0.1307
STD = 0.3081
NOISE_STD = 64.0

# Report's chosen hyperparameters (NOTES.md, Table 1).
DEFAULTS = {
    "ff": dict(hidden=500, feedback=False, learning_rate=0.02, momentum=0.7, batch_size=128, alpha=None),
    "ff-large": dict(hidden=1000, feedback=False, learning_rate=0.04, momentum=0.5, batch_size=128, alpha=None),
    "fb": dict(hidden=500, feedback=True, learning_rate=0.02, momentum=0.3, batch_size=64, alpha=0.3),
}

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


class DataError(Exception):
    pass


def info(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def read_idx(path, expected_magic):
    if not os.path.isfile(path):
        raise DataError(f"missing data file: {path}")
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e}")
    if len(raw) < 8:
        raise DataError(f"{path}: file too short for an IDX header")
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise DataError(f"{path}: bad IDX magic {magic}, expected {expected_magic}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise DataError(f"{path}: expected {count} bytes of data for shape {dims}, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_split(data_dir, prefix, images_key, labels_key):
    images = read_idx(os.path.join(data_dir, prefix + FILES[images_key]), 2051)
    labels = read_idx(os.path.join(data_dir, prefix + FILES[labels_key]), 2049)
    if images.ndim != 3 or images.shape[1] * images.shape[2] != 784:
        raise DataError(f"{prefix + FILES[images_key]}: expected 28x28 images, got shape {images.shape}")
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{prefix + FILES[labels_key]}: {labels.shape[0]} labels for {images.shape[0]} images")
    return images.reshape(images.shape[0], 784), labels.astype(np.int64)


def normalise(x_uint8):
    x = x_uint8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


def make_noisy(x_uint8, scale, rng):
    noise = rng.normal(0.0, NOISE_STD, size=x_uint8.shape)  # float64, one draw per pixel
    noisy = np.clip(x_uint8.astype(np.float64) + scale * noise, 0.0, 255.0)
    return noisy.astype(np.uint8)  # truncation


# ---------------------------------------------------------------- model

class Net(nn.Module):
    def __init__(self, hidden, classes, feedback, alpha, passes=2):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.fb = nn.Linear(hidden, 784) if feedback else None
        self.alpha = alpha
        self.passes = passes if feedback else 1

    def forward(self, x):
        h = F.relu(self.fc1(x))
        for _ in range(self.passes - 1):
            h = F.relu(self.fc1((1.0 - self.alpha) * x + self.alpha * self.fb(h)))
        h = F.dropout(h, p=0.5, training=self.training)
        return F.log_softmax(self.fc2(h), dim=1)


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    total_loss = 0.0
    correct = 0
    n = x.shape[0]
    for i in range(0, n, batch):
        out = model(x[i:i + batch])
        yb = y[i:i + batch]
        total_loss += F.nll_loss(out, yb, reduction="sum").item()
        correct += (out.argmax(dim=1) == yb).sum().item()
    return 100.0 * correct / n, total_loss / n


# ---------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="PyTorch reference for fbnet experiment 1 (accuracy and epoch time).")
    p.add_argument("--model", choices=sorted(DEFAULTS), default="ff")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--learning-rate", type=float, default=None, help="default: report's value for the model")
    p.add_argument("--momentum", type=float, default=None, help="default: report's value for the model")
    p.add_argument("--batch-size", type=int, default=None, help="default: report's value for the model")
    p.add_argument("--alpha", type=float, default=None, help="feedback mixing (fb only); default 0.3")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--file-prefix", default="",
                   help='prefix of the IDX file names, e.g. "emnist-letters-" (default none)')
    p.add_argument("--noise-scale", type=float, default=2.0)
    p.add_argument("--validation-size", type=int, default=10000)
    p.add_argument("--max-train", type=int, default=None,
                   help="train on only the first N training images after the split")
    p.add_argument("--json-out", default=None, help="also write the JSON lines to this file")
    args = p.parse_args(argv)

    d = DEFAULTS[args.model]
    for key in ("learning_rate", "momentum", "batch_size"):
        if getattr(args, key) is None:
            setattr(args, key, d[key])
    if d["feedback"]:
        if args.alpha is None:
            args.alpha = d["alpha"]
    elif args.alpha is not None:
        p.error("--alpha applies to --model fb only")
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    if args.batch_size < 1:
        p.error("--batch-size must be at least 1")
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.validation_size < 0:
        p.error("--validation-size must not be negative")
    if args.max_train is not None and args.max_train < 1:
        p.error("--max-train must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = DEFAULTS[args.model]
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    # --- data, all preloaded before timing
    try:
        train_raw, train_lab = load_split(args.data_dir, args.file_prefix, "train_images", "train_labels")
        test_raw, test_lab = load_split(args.data_dir, args.file_prefix, "test_images", "test_labels")
    except DataError as e:
        print(f"torch_reference: error: {e}", file=sys.stderr)
        return 2

    all_labels = np.concatenate([train_lab, test_lab])
    if all_labels.min() == 1:  # EMNIST letters: 1..26 -> 0..25
        info("labels start at 1: shifting them to start at 0")
        train_lab = train_lab - 1
        test_lab = test_lab - 1
        all_labels = all_labels - 1
    if all_labels.min() < 0:
        print("torch_reference: error: negative label", file=sys.stderr)
        return 2
    classes = int(all_labels.max()) + 1

    n_all = train_raw.shape[0]
    if args.validation_size >= n_all:
        print(f"torch_reference: error: --validation-size {args.validation_size} leaves no training "
              f"data ({n_all} training images)", file=sys.stderr)
        return 2
    perm = np.random.default_rng(args.seed).permutation(n_all)
    val_idx = perm[:args.validation_size]
    tr_idx = perm[args.validation_size:]
    if args.max_train is not None:
        tr_idx = tr_idx[:args.max_train]

    x_train = normalise(train_raw[tr_idx])
    y_train = torch.from_numpy(np.ascontiguousarray(train_lab[tr_idx]))
    x_val = normalise(train_raw[val_idx])
    y_val = torch.from_numpy(np.ascontiguousarray(train_lab[val_idx]))
    x_test = normalise(test_raw)
    y_test = torch.from_numpy(np.ascontiguousarray(test_lab))
    noise_rng = np.random.default_rng(np.random.SeedSequence([args.seed, 2051]))
    x_noisy = normalise(make_noisy(test_raw, args.noise_scale, noise_rng))

    # --- model
    model = Net(cfg["hidden"], classes, cfg["feedback"], args.alpha)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=args.momentum)
    shuffle_gen = torch.Generator().manual_seed(args.seed)

    info(f"model {args.model}: hidden {cfg['hidden']}, classes {classes}, parameters {n_params}, "
         f"lr {args.learning_rate}, momentum {args.momentum}, batch {args.batch_size}"
         + (f", alpha {args.alpha}" if cfg["feedback"] else "")
         + f"; train {x_train.shape[0]}, validation {x_val.shape[0]}, test {x_test.shape[0]}, "
           f"threads {args.threads}")

    json_file = open(args.json_out, "w") if args.json_out else None

    def emit(record):
        line = json.dumps(record)
        print(line, flush=True)
        if json_file is not None:
            json_file.write(line + "\n")
            json_file.flush()

    n_train = x_train.shape[0]
    bs = args.batch_size
    epoch_seconds = []
    test_acc = noisy_acc = None
    try:
        for epoch in range(1, args.epochs + 1):
            model.train()
            t0 = time.perf_counter()
            order = torch.randperm(n_train, generator=shuffle_gen)
            loss_sum = torch.zeros(())
            for i in range(0, n_train, bs):
                idx = order[i:i + bs]
                xb = x_train[idx]
                yb = y_train[idx]
                opt.zero_grad()
                loss = F.nll_loss(model(xb), yb)
                loss.backward()
                opt.step()
                loss_sum += loss.detach() * idx.shape[0]
            train_loss = loss_sum.item() / n_train
            seconds = time.perf_counter() - t0
            epoch_seconds.append(seconds)

            if x_val.shape[0] > 0:
                val_acc, val_loss = evaluate(model, x_val, y_val)
            else:
                val_acc, val_loss = None, None
            test_acc, test_loss = evaluate(model, x_test, y_test)
            noisy_acc, noisy_loss = evaluate(model, x_noisy, y_test)
            emit({
                "model": args.model,
                "epoch": epoch,
                "train_seconds": seconds,
                "train_loss": train_loss,
                "validation_accuracy": val_acc,
                "validation_loss": val_loss,
                "test_accuracy": test_acc,
                "test_loss": test_loss,
                "noisy_test_accuracy": noisy_acc,
                "noisy_test_loss": noisy_loss,
            })
            info(f"epoch {epoch}/{args.epochs}: {seconds:.2f} s, train loss {train_loss:.4f}, "
                 f"test {test_acc:.2f} %, noisy {noisy_acc:.2f} %")

        emit({
            "model": args.model,
            "summary": True,
            "median_epoch_seconds": statistics.median(epoch_seconds),
            "final_test_accuracy": test_acc,
            "final_noisy_test_accuracy": noisy_acc,
            "parameters": n_params,
        })
    finally:
        if json_file is not None:
            json_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
