#!/usr/bin/python3
"""The speed benchmark of issue 3: everything side by side, in one run.

For FF (H = 500), FF large (H = 1000) and FB (2 passes) at batch 64 and 128,
on Fashion-MNIST (50,000 training images), with 1 and 2 OpenBLAS threads:
  - the BLAS floor: the exact products of a training step (bench/gemm_floor.cpp)
    timed alone, summed over an epoch, and their throughput in GFLOP/s;
  - fbnet's epoch time (median over --epochs epochs of one `fbnet train`);
  - the PyTorch script's epoch time (bench/torch_reference.py, data preloaded,
    1 and 2 threads, the faster taken);
  - the ratios fbnet/floor and PyTorch/fbnet;
  - evaluation throughput (images/s over validation + test + noisy test);
  - peak memory (RSS) of the fbnet process, against the target
    1.5 x (dataset as float32 + parameters + one batch's activations) + 50 MB.
Then, for grid searches: 2 single-threaded runs side by side against 1 run
with 2 threads, as epochs per minute (whole processes, loading included).

Every run is a real subprocess. Prints Markdown tables and writes them, with
the raw measurements as JSON, to --out.

With --compare-with OLD_FBNET it measures instead fbnet's epoch time against
another build (the code before a change), the two interleaved in one run,
--rounds times each, the best of each kept, and writes compare.md.

usage: bench/run [--epochs 4] [--out runs/bench] [--compare-with OLD_FBNET [--rounds 2]]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = [("ff", "FF (H = 500)", 500, 1), ("ff-large", "FF large (H = 1000)", 1000, 1), ("fb", "FB (2 passes)", 500, 2)]
BATCHES = [64, 128]
THREADS = [1, 2]
IMAGES, PIXELS, CLASSES = 70000, 784, 10  # Fashion-MNIST: 60,000 train + 10,000 test




def fbnet_epoch(fbnet, model, batch, threads, epochs, workdir):
    out = os.path.join(workdir, f"{model}-b{batch}-t{threads}")
    shutil.rmtree(out, ignore_errors=True)
    command = [fbnet, "train", "--model", model, "--batch-size", str(batch), "--threads", str(threads),
               "--epochs", str(epochs), "--out", out, "--progress", "never"]
    errors = os.path.join(workdir, "stderr.txt")
    start = time.perf_counter()
    with open(errors, "w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)  # wait4: this process's own peak RSS
    wall = time.perf_counter() - start
    if status != 0:
        with open(errors) as f:
            sys.exit(f"benchmark: {' '.join(command)} failed: {f.read()}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    with open(os.path.join(out, "config.json")) as f:
        parameters = json.load(f)["parameters"]
    eval_images = 30000  # validation + test + noisy test, each epoch
    return {"epoch_seconds": statistics.median(r["train_seconds"] for r in records),
            "eval_images_per_second": eval_images / statistics.median(r["eval_seconds"] for r in records),
            "peak_rss_mb": usage.ru_maxrss / 1024, "wall_seconds": wall, "parameters": parameters}


def gemm_floor(floor_binary, model, batch, threads):
    result = subprocess.run([floor_binary, "--model", model, "--batch-size", str(batch), "--threads", str(threads)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def torch_epoch(torch_script, model, batch, threads, epochs):
    result = subprocess.run(["/usr/bin/python3", torch_script, "--model", model, "--batch-size", str(batch),
                             "--threads", str(threads), "--epochs", str(epochs)],
                            capture_output=True, text=True, check=True)
    records = [json.loads(line) for line in result.stdout.splitlines() if '"epoch"' in line]
    return statistics.median(r["train_seconds"] for r in records)


def side_by_side(fbnet, model, batch, epochs, workdir):
    """Epochs per minute: 1 run with 2 threads, and 2 single-threaded runs at once."""
    def start(tag, threads):
        out = os.path.join(workdir, f"grid-{model}-{tag}")
        shutil.rmtree(out, ignore_errors=True)
        return subprocess.Popen([fbnet, "train", "--model", model, "--batch-size", str(batch), "--threads",
                                 str(threads), "--epochs", str(epochs), "--out", out, "--progress", "never"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    begin = time.perf_counter()
    start("one", 2).wait()
    one = epochs * 60 / (time.perf_counter() - begin)
    begin = time.perf_counter()
    pair = [start("a", 1), start("b", 1)]
    for process in pair:
        process.wait()
    two = 2 * epochs * 60 / (time.perf_counter() - begin)
    return one, two


def memory_target_mb(hidden, steps, batch, parameters):
    dataset = IMAGES * PIXELS * 4
    activations = batch * (PIXELS + hidden + CLASSES) * steps * 4
    return (1.5 * (dataset + parameters * 4 + activations)) / 2**20 + 50


def compare(before, after, epochs, rounds, workdir, out):
    """Epoch times of two builds, interleaved: before, after, before, after, ..."""
    lines = ["| Network | Batch | Threads | before | after | after / before |", "|---|---|---|---|---|---|"]
    results = []
    for model, label, _, _ in MODELS:
        for batch in BATCHES:
            for threads in THREADS:
                print(f"compare: {model} batch {batch}, {threads} thread(s)", file=sys.stderr, flush=True)
                times = {"before": [], "after": []}
                for _ in range(rounds):
                    for tag, binary in (("before", before), ("after", after)):
                        times[tag].append(fbnet_epoch(binary, model, batch, threads, epochs, workdir)["epoch_seconds"])
                best = {tag: min(values) for tag, values in times.items()}
                results.append({"model": model, "batch": batch, "threads": threads, **times})
                lines.append(f"| {label} | {batch} | {threads} | {best['before']:.3f} s | {best['after']:.3f} s | "
                             f"{best['after'] / best['before']:.3f} |")
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(out, "compare.md"), "w") as f:
        f.write(f"before: {before}\nafter: {after}\nepochs per run: {epochs} (median), rounds: {rounds} (best)\n\n{table}\n")
    with open(os.path.join(out, "compare.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwritten: {out}/compare.md, {out}/compare.json", file=sys.stderr)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fbnet", default=os.path.join(here, "..", "build", "fbnet"))
    parser.add_argument("--gemm-floor", default=os.path.join(here, "..", "build", "fbnet_gemm_floor"))
    parser.add_argument("--torch-script", default=os.path.join(here, "torch_reference.py"))
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fbnet run (median taken)")
    parser.add_argument("--torch-epochs", type=int, default=3, help="epochs per PyTorch run (median taken)")
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--compare-with", metavar="OLD_FBNET", help="compare epoch times with this build instead")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per build in --compare-with")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="fbnet-bench-")
    if args.compare_with:
        compare(args.compare_with, args.fbnet, args.epochs, args.rounds, workdir, args.out)
        shutil.rmtree(workdir, ignore_errors=True)
        return
    rows = []
    for model, label, hidden, steps in MODELS:
        for batch in BATCHES:
            row = {"model": model, "label": label, "batch": batch, "fbnet": {}, "floor": {}, "torch": {}}
            for threads in THREADS:
                print(f"benchmark: {model} batch {batch}, {threads} thread(s)", file=sys.stderr, flush=True)
                row["floor"][threads] = gemm_floor(args.gemm_floor, model, batch, threads)
                row["fbnet"][threads] = fbnet_epoch(args.fbnet, model, batch, threads, args.epochs, workdir)
                row["torch"][threads] = torch_epoch(args.torch_script, model, batch, threads, args.torch_epochs)
            row["memory_target_mb"] = memory_target_mb(hidden, steps, batch, row["fbnet"][1]["parameters"])
            rows.append(row)
    grid = {}
    for model in ("ff", "fb"):
        print(f"benchmark: side by side, {model}", file=sys.stderr, flush=True)
        grid[model] = side_by_side(args.fbnet, model, 64, args.epochs, workdir)
    shutil.rmtree(workdir, ignore_errors=True)

    lines = ["| Network | Batch | Threads | Floor GFLOP/s | Floor | fbnet epoch | fbnet / floor | PyTorch epoch (best threads) "
             "| PyTorch / fbnet | Eval images/s | Peak RSS | RSS target |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        best_torch_threads = min(THREADS, key=lambda t: row["torch"][t])
        torch_best = row["torch"][best_torch_threads]
        for threads in THREADS:
            floor, ours = row["floor"][threads], row["fbnet"][threads]
            lines.append(f"| {row['label']} | {row['batch']} | {threads} | {floor['gflops']:.0f} | "
                         f"{floor['floor_seconds']:.3f} s | {ours['epoch_seconds']:.3f} s | "
                         f"{ours['epoch_seconds'] / floor['floor_seconds']:.2f} | {torch_best:.3f} s ({best_torch_threads}) | "
                         f"{torch_best / ours['epoch_seconds']:.2f} | {ours['eval_images_per_second']:,.0f} | "
                         f"{ours['peak_rss_mb']:.0f} MB | {row['memory_target_mb']:.0f} MB |")
    lines += ["", "PyTorch epoch times by thread count: " + "; ".join(
        f"{r['model']} b{r['batch']}: " + ", ".join(f"{t} thread(s) {r['torch'][t]:.2f} s" for t in THREADS) for r in rows)]
    lines += ["", "| Grid throughput, batch 64 | 1 run, 2 threads | 2 runs side by side, 1 thread each |",
              "|---|---|---|"]
    for model, (one, two) in grid.items():
        lines.append(f"| {model} | {one:.1f} epochs/min | {two:.1f} epochs/min |")
    table = "\n".join(lines)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(table)
    with open(os.path.join(args.out, "benchmark.md"), "w") as f:
        f.write(f"Machine: {machine}. fbnet epochs per run: {args.epochs}, PyTorch: {args.torch_epochs}.\n\n{table}\n")
    with open(os.path.join(args.out, "benchmark.json"), "w") as f:
        json.dump({"rows": rows, "grid": grid, "epochs": args.epochs}, f, indent=1)
    print(f"\nwritten: {args.out}/benchmark.md, {args.out}/benchmark.json", file=sys.stderr)


if __name__ == "__main__":
    main()
