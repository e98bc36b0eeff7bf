#!/usr/bin/python3
"""Training speed of the conv presets (issue 15), fbnet against PyTorch, side by side in one run.

For each preset, at batch 64 on the first --images Fashion-MNIST training images:
  - fbnet: `fbnet train --model P --epochs 1 --threads T --conv-engine E` for each
    of --conv-engines, its train_seconds from metrics.jsonl (the training loop
    alone: no loading, no evaluation), on those images copied to an npy dataset
    with 100 test images, so that the epoch's evaluation (3 x 10,000 test images
    on Fashion-MNIST itself) does not stretch the benchmark;
  - with --gemm-floor: the product floor of the same images (bench/gemm_floor.cpp:
    the im2col products and the Linear's of a training step, each timed alone on
    the best product engine, summed), the floor of the im2col convolutions;
  - with onednn among --conv-engines: the floor of oneDNN's convolutions, the
    time its convolution primitives themselves take in the same run (oneDNN's
    own timer, ONEDNN_VERBOSE=1, summed over every forward, backward-data and
    backward-weights call; the reorders into and out of its blocked layouts
    are counted apart: with --conv-engine onednn only the weights' and the
    weight gradients', since fbnet keeps activations in those layouts; with
    onednn-nchw every activation's too). That run also evaluates its 100
    validation and 3 x 100 test images, a forward pass each: about 4 % of the
    convolutions of 3,200 training images;
  - PyTorch: the same graph (`fbnet info --model P --graph-json`) as the parity
    test's GraphModel (tests/peer/graph_parity.py: every node at every step, one
    nn.Conv2d per conv node and adapter), SGD with the preset's learning rate and
    momentum, dropout by nn.functional.dropout, on the same number of images, with
    torch.set_num_threads(T);
and the matrix-product FLOPs of a training step (fbnet info) as GFLOP/s of each.
Prints a Markdown table (or, with --json, one JSON list of rows). One process at a time: run it on a quiet machine.

usage: bench/conv_speed.py --fbnet build/fbnet [--models b,bt,blt] [--images 3200] [--threads 1]
                           [--conv-engines im2col,onednn] [--gemm-floor build/fbnet_gemm_floor] [--json]
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "peer"))
from graph_parity import GraphModel  # noqa: E402

BATCH = 64
FASHION = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


def idx_array(path, count):
    """The first count items of a gzipped IDX file (images [N, 28, 28] or labels [N], uint8)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    return values[:count]


def write_npy_slice(folder, images):
    """Fashion-MNIST's first `images` (+100 for validation) training images and 100 test images, in fbnet's npy
    layout."""
    os.makedirs(folder, exist_ok=True)
    for split, prefix, count in (("train", "train", images + 100), ("test", "t10k", 100)):
        images_file = f"{FASHION}/{prefix}-images-idx3-ubyte.gz"
        np.save(os.path.join(folder, f"{split}-images.npy"), idx_array(images_file, count))
        labels = idx_array(f"{FASHION}/{prefix}-labels-idx1-ubyte.gz", count).astype(np.int64)
        np.save(os.path.join(folder, f"{split}-labels.npy"), labels)
    return folder


def train_one_epoch(fbnet, model, data, threads, conv_engine, out, env=None):
    """`fbnet train` for one epoch on the npy slice; returns its finished process (stdout as text)."""
    return subprocess.run([fbnet, "train", "--model", model, "--epochs", "1", "--dataset", "npy", "--data-dir", data,
                           "--validation-size", "100", "--threads", str(threads), "--conv-engine", conv_engine,
                           "--progress", "never", "--out", out], check=True, capture_output=True, text=True, env=env)


def fbnet_seconds(fbnet, model, data, threads, conv_engine, folder):
    out = os.path.join(folder, f"{model}-{conv_engine}")
    train_one_epoch(fbnet, model, data, threads, conv_engine, out)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return json.loads(f.readline())["train_seconds"]


def onednn_seconds(fbnet, model, data, threads, folder):
    """(convolution primitives' seconds, reorders' seconds) of one onednn run, by oneDNN's own timer."""
    result = train_one_epoch(fbnet, model, data, threads, "onednn", os.path.join(folder, f"{model}-onednn-verbose"),
                             env={**os.environ, "ONEDNN_VERBOSE": "1"})
    seconds = {"convolution": 0.0, "reorder": 0.0}
    for line in result.stdout.splitlines():
        fields = line.split(",")  # onednn_verbose,exec,cpu,PRIMITIVE,...,exec_time (ms)
        if len(fields) > 3 and fields[:2] == ["onednn_verbose", "exec"] and fields[3] in seconds:
            seconds[fields[3]] += float(fields[-1]) / 1e3
    return seconds["convolution"], seconds["reorder"]


def torch_seconds(graph, images, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GraphModel(graph)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    dropouts = [n for n in graph["nodes"] if n["op"] == "dropout"]
    x = torch.randn(images, *graph["nodes"][0]["shape"])
    labels = torch.randint(0, graph["nodes"][-1]["shape"][0], (images,))
    start = time.perf_counter()
    for begin in range(0, images, BATCH):
        batch = x[begin:begin + BATCH]
        steps = graph["steps"]
        masks = {(n["name"], s): F.dropout(torch.ones(len(batch), *n["shape"]), n["dropout"])
                 for n in dropouts for s in range(steps)}
        logits = model({"x": batch.unsqueeze(0).expand(steps, *batch.shape)}, masks)
        loss = sum(F.cross_entropy(l, labels[begin:begin + BATCH]) for l in logits) / len(logits)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def floor_seconds(gemm_floor, model, images, threads):
    result = subprocess.run([gemm_floor, "--model", model, "--batch-size", str(BATCH), "--train-size", str(images),
                             "--threads", str(threads)], check=True, capture_output=True, text=True)
    return json.loads(result.stdout)["floor_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fbnet", required=True)
    parser.add_argument("--models", default="b,bt,blt")
    parser.add_argument("--images", type=int, default=3200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--conv-engines", default="im2col,onednn")
    parser.add_argument("--gemm-floor", help="the fbnet_gemm_floor binary, for the im2col product floor")
    parser.add_argument("--json", action="store_true", help="print one JSON list of rows instead of the table")
    args = parser.parse_args()
    engines = args.conv_engines.split(",")
    rows = []
    if not args.json:
        print("| preset | threads | GFLOP per image (train) | " + " | ".join(f"fbnet {e} s" for e in engines) +
              " | im2col product floor s | oneDNN convolutions s (reorders s) | PyTorch s | PyTorch / best fbnet |")
        print("|---|---|---|" + "---|" * len(engines) + "---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        data = write_npy_slice(os.path.join(folder, "data"), args.images)
        for model in args.models.split(","):
            info = subprocess.run([args.fbnet, "info", "--model", model], check=True, capture_output=True,
                                  text=True).stdout
            flops = int(re.search(r"(\d+) training step", info).group(1))
            graph = json.loads(subprocess.run([args.fbnet, "info", "--model", model, "--graph-json"], check=True,
                                              capture_output=True, text=True).stdout)
            ours = {engine: fbnet_seconds(args.fbnet, model, data, args.threads, engine, folder)
                    for engine in engines}
            floor = floor_seconds(args.gemm_floor, model, args.images, args.threads) if args.gemm_floor else None
            primitives, reorders = (onednn_seconds(args.fbnet, model, data, args.threads, folder) if "onednn" in engines
                                    else (None, None))
            theirs = torch_seconds(graph, args.images, args.threads)
            row = {"model": model, "threads": args.threads, "images": args.images, "train_gflop_per_image": flops / 1e9,
                   "fbnet_seconds": ours, "im2col_product_floor_seconds": floor,
                   "onednn_convolution_seconds": primitives, "onednn_reorder_seconds": reorders, "torch_seconds": theirs}
            rows.append(row)
            if not args.json:
                print(f"| {model} | {args.threads} | {flops / 1e9:.3f} | " +
                      " | ".join(f"{ours[e]:.2f}" for e in engines) +
                      f" | {f'{floor:.2f}' if floor else '—'}"
                      f" | {f'{primitives:.2f} ({reorders:.2f})' if primitives is not None else '—'}"
                      f" | {theirs:.2f} | {theirs / min(ours.values()):.2f} |",
                      flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
