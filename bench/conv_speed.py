#!/usr/bin/python3
"""Training speed of the conv presets (issue 15), fbnet against PyTorch, side by side in one run.

For each preset, at batch 64 on the first --images Fashion-MNIST training images:
  - fbnet: `fbnet train --model P --epochs 1 --threads T`, its train_seconds from
    metrics.jsonl (the training loop alone: no loading, no evaluation);
  - PyTorch: the same graph (`fbnet info --model P --graph-json`) as the parity
    test's GraphModel (tests/peer/graph_parity.py: every node at every step, one
    nn.Conv2d per conv node and adapter), SGD with the preset's learning rate and
    momentum, dropout by nn.functional.dropout, on the same number of images, with
    torch.set_num_threads(T);
and the matrix-product FLOPs of a training step (fbnet info) as GFLOP/s of each.
Prints a Markdown table. One process at a time: run it on a quiet machine.

usage: bench/conv_speed.py --fbnet build/fbnet [--models b,bt,blt] [--images 3200] [--threads 1]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "peer"))
from graph_parity import GraphModel  # noqa: E402

BATCH = 64


def fbnet_seconds(fbnet, model, images, threads, folder):
    out = os.path.join(folder, model)
    subprocess.run([fbnet, "train", "--model", model, "--epochs", "1", "--train-limit", str(images),
                    "--validation-size", "100", "--threads", str(threads), "--progress", "never", "--out", out],
                   check=True, capture_output=True)
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return json.loads(f.readline())["train_seconds"]


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fbnet", required=True)
    parser.add_argument("--models", default="b,bt,blt")
    parser.add_argument("--images", type=int, default=3200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(f"| preset | GFLOP per image (train) | fbnet s | fbnet GFLOP/s | PyTorch s | PyTorch GFLOP/s | PyTorch / fbnet |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models.split(","):
            info = subprocess.run([args.fbnet, "info", "--model", model], check=True, capture_output=True,
                                  text=True).stdout
            flops = int(re.search(r"(\d+) training step", info).group(1))
            graph = json.loads(subprocess.run([args.fbnet, "info", "--model", model, "--graph-json"], check=True,
                                              capture_output=True, text=True).stdout)
            ours = fbnet_seconds(args.fbnet, model, args.images, args.threads, folder)
            theirs = torch_seconds(graph, args.images, args.threads)
            total = flops * args.images / 1e9
            print(f"| {model} | {flops / 1e9:.3f} | {ours:.2f} | {total / ours:.1f} | {theirs:.2f} | "
                  f"{total / theirs:.1f} | {theirs / ours:.2f} |", flush=True)


if __name__ == "__main__":
    main()
