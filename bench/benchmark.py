#!/usr/bin/python3
"""The speed benchmark (issues 3 and 14): everything side by side, in one run.

First the machine's float32 peak (bench/machine_peak.cpp: SIMD lanes x 2 x FMA
units x nominal clock, per core). Then for FF (H = 500), FF large (H = 1000)
and FB (2 passes) at batch 64 and 128, on Fashion-MNIST (50,000 training
images), with 1 and 2 threads:
  - the product floor with each product engine (OpenBLAS and oneDNN): the
    exact products of a training step (bench/gemm_floor.cpp) timed alone,
    summed over an epoch, with their throughput in GFLOP/s and as % of the
    peak of the cores used (threads x peak per core);
  - the warm memory floor of the optimiser's update (bench/gemm_floor.cpp):
    the 16 bytes a parameter that every SGD step with momentum reads and
    writes (weight and momentum; fbnet's step also reads the gradient),
    timed as a swap of two buffers of the net's size, back to back in
    whatever cache holds them, summed over an epoch; the targets say how much
    of the 25 % allowed above the product floor it takes by itself;
  - fbnet's epoch time with each engine (median over --epochs epochs of one
    `fbnet train --engine E --threads T`), and its product GFLOP/s as % of peak;
  - the PyTorch script's epoch time (bench/torch_reference.py, data preloaded,
    1 and 2 threads, the faster taken);
  - the ratios best fbnet / best floor and PyTorch / best fbnet;
  - evaluation throughput (images/s over validation + test + noisy test) and
    peak memory (RSS) of fbnet's default-engine process, against the target
    1.5 x (dataset as float32 + parameters + one batch's activations) + 50 MB.
Then the targets, judged from these measurements for fbnet's default engine:
every epoch within 1.25 x the best engine's floor; 2 threads faster than 1;
fbnet >= 2.5 x faster than PyTorch on FF and >= 2 x on FB at batch 64.
Then, for grid searches: 2 single-threaded runs side by side against 1 run
with 2 threads, as epochs per minute (whole processes, loading included).
Then the conv presets (issue 15; bench/conv_speed.py, in a process of its own
so that torch's memory does not count in fbnet's): each preset's training time
on --conv-images images at batch 64 with each convolution engine (im2col,
oneDNN's primitives), the im2col product floor, and the same graph in PyTorch,
at 1 and 2 threads; with the targets BLT >= 1.3 x faster than PyTorch and
within 1.5 x of its floor.

Every run is a real subprocess. Prints Markdown tables and writes them, with
the machine and the raw measurements as JSON, to --out. About 10 minutes at
the default epochs; --models, --batches and --threads measure a part (the
targets that need the rest then say "not measured"). --paired-rounds N times
each row's floor and fbnet's epochs N times, each floor right before the
epochs it bounds, and judges the round whose ratio is the median (of two
middle ones, the higher): this VM's speed drifted by 1.4x within an hour and
1.25x within a minute, and a ratio of two times taken apart carries that drift.

With --compare-with OLD_FBNET it measures instead fbnet's epoch time against
another build (the code before a change), the two interleaved in one run,
--rounds times each, the best of each kept, and writes compare.md. Both run
their default engine (an older build may have no --engine).

usage: bench/run [--epochs 4] [--torch-epochs 3] [--out runs/bench]
                 [--models ff,fb] [--batches 64] [--threads 1,2]
                 [--conv-models b,bl,bt,blt,b-k,b-f] [--conv-images 3200]
                 [--paired-rounds 1] [--compare-with OLD_FBNET [--rounds 2]]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = [("ff", "FF (H = 500)", 500, 1), ("ff-large", "FF large (H = 1000)", 1000, 1), ("fb", "FB (2 passes)", 500, 2)]
BATCHES = [64, 128]
THREADS = [1, 2]
ENGINES = [("openblas", "OpenBLAS"), ("onednn", "oneDNN")]
IMAGES, PIXELS, CLASSES = 70000, 784, 10  # Fashion-MNIST: 60,000 train + 10,000 test
FLOOR_TARGET = 1.25  # epoch / best engine's floor
TORCH_TARGETS = {"ff": 2.5, "fb": 2.0}  # PyTorch's best epoch / fbnet's, at batch 64


def fbnet_epoch(fbnet, model, batch, threads, epochs, workdir, engine=None):
    """One `fbnet train` run: median epoch time, eval throughput, peak RSS. engine None: fbnet's default."""
    out = os.path.join(workdir, f"{model}-b{batch}-t{threads}-{engine or 'default'}")
    shutil.rmtree(out, ignore_errors=True)
    command = [fbnet, "train", "--model", model, "--batch-size", str(batch), "--threads", str(threads),
               "--epochs", str(epochs), "--out", out, "--progress", "never"]
    if engine:
        command += ["--engine", engine]
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
    """fbnet_gemm_floor's JSON: the floor with every engine fbnet was built with ("engines"), and the best."""
    result = subprocess.run([floor_binary, "--model", model, "--batch-size", str(batch), "--threads", str(threads)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def machine_peak(peak_binary):
    result = subprocess.run([peak_binary], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def default_engine(fbnet):
    """The engine `fbnet train` uses without --engine, from `fbnet --version` ("product engine: onednn (...)")."""
    version = subprocess.run([fbnet, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"product engine: (\w+)", version)
    return match.group(1) if match else "openblas"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def torch_epoch(torch_script, model, batch, threads, epochs):
    result = subprocess.run(["/usr/bin/python3", torch_script, "--model", model, "--batch-size", str(batch),
                             "--threads", str(threads), "--epochs", str(epochs)],
                            capture_output=True, text=True, check=True)
    records = [json.loads(line) for line in result.stdout.splitlines() if '"epoch"' in line]
    return statistics.median(r["train_seconds"] for r in records)


def side_by_side(fbnet, model, batch, epochs, workdir):
    """Epochs per minute: 1 run with 2 threads, and 2 single-threaded runs at once (default engine)."""
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


def compare(before, after, models, batches, threads_list, epochs, rounds, workdir, out):
    """Epoch times of two builds, interleaved: before, after, before, after, ..."""
    lines = ["| Network | Batch | Threads | before | after | after / before |", "|---|---|---|---|---|---|"]
    results = []
    for model, label, _, _ in models:
        for batch in batches:
            for threads in threads_list:
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


def floor_ratio(measured, default):
    """fbnet's epoch with the default engine over the best engine's floor, of one paired round."""
    return measured["fbnet"][default]["epoch_seconds"] / measured["floor"]["floor_seconds"]


def median_round(rounds, default):
    """The paired round whose ratio is the median; of two middle ones the higher, so that an even count never
    judges a row by its better half."""
    return sorted(rounds, key=lambda r: floor_ratio(r, default))[len(rounds) // 2]


def measure(args, models, batches, threads_list, default, workdir, started):
    """Every row's floors, fbnet epochs per engine, and PyTorch epochs; then the grid throughput.

    With --paired-rounds N each row times its floor and fbnet's epochs N times (the module's docstring says why);
    "floor" and "fbnet" hold the median round (median_round), "rounds" every round."""
    def say(what):
        print(f"benchmark [{time.perf_counter() - started:5.0f} s]: {what}", file=sys.stderr, flush=True)
    rows = []
    engines = None  # the engines fbnet was built with: those gemm_floor times
    for model, label, hidden, steps in models:
        for batch in batches:
            row = {"model": model, "label": label, "batch": batch, "floor": {}, "fbnet": {}, "torch": {},
                   "rounds": {}}
            for threads in threads_list:
                rounds = []
                for round_index in range(args.paired_rounds):
                    say(f"{model} batch {batch}, {threads} thread(s), round {round_index + 1} of {args.paired_rounds}")
                    floor = gemm_floor(args.gemm_floor, model, batch, threads)
                    engines = engines or [name for name, _ in ENGINES if name in floor["engines"]]
                    rounds.append({"floor": floor, "fbnet": {
                        engine: fbnet_epoch(args.fbnet, model, batch, threads, args.epochs, workdir, engine)
                        for engine in engines}})
                median = median_round(rounds, default)
                row["floor"][threads], row["fbnet"][threads] = median["floor"], median["fbnet"]
                row["rounds"][threads] = rounds
                row["torch"][threads] = torch_epoch(args.torch_script, model, batch, threads, args.torch_epochs)
            first = row["fbnet"][threads_list[0]]
            row["memory_target_mb"] = memory_target_mb(hidden, steps, batch, next(iter(first.values()))["parameters"])
            rows.append(row)
    grid = {}
    if 1 in threads_list and 2 in threads_list:
        for model in (m for m, _, _, _ in models if m in ("ff", "fb")):
            say(f"side by side, {model}")
            grid[model] = side_by_side(args.fbnet, model, 64, args.epochs, workdir)
    say("done")
    return rows, grid, engines


def conv_measure(args, threads_list, started):
    """bench/conv_speed.py's rows for each thread count: fbnet per convolution engine, the floor, PyTorch."""
    if not args.conv_models:
        return []
    rows = []
    for threads in threads_list:
        print(f"benchmark [{time.perf_counter() - started:5.0f} s]: conv presets, {threads} thread(s)", file=sys.stderr,
              flush=True)
        result = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_speed.py"),
                                 "--fbnet", args.fbnet, "--gemm-floor", args.gemm_floor, "--models", args.conv_models,
                                 "--images", str(args.conv_images), "--threads", str(threads), "--json"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"benchmark: bench/conv_speed.py failed: {result.stderr}")
        rows += json.loads(result.stdout)
    return rows


def conv_floor(row):
    """The floor of a conv preset's convolutions: the faster of the im2col products alone and oneDNN's primitives'
    own time (conv_speed.py)."""
    return min(f for f in (row["im2col_product_floor_seconds"], row.get("onednn_convolution_seconds")) if f)


def conv_table(rows, images):
    """The conv presets' table and their two targets (on BLT)."""
    if not rows:
        return []
    engines = list(rows[0]["fbnet_seconds"])
    lines = ["", f"Conv presets: training time on {images} images at batch 64 (s), per convolution engine:", "",
             "| Preset | Threads | GFLOP / image | " + " | ".join(f"fbnet {e}" for e in engines) +
             " | im2col product floor | oneDNN convolutions (reorders) | best fbnet / floor | conv floor GFLOP/s"
             " | PyTorch | PyTorch / best fbnet |",
             "|---|---|---|" + "---|" * len(engines) + "---|---|---|---|---|---|"]
    for r in rows:
        best, floor = min(r["fbnet_seconds"].values()), conv_floor(r)
        primitives = r.get("onednn_convolution_seconds")
        primitives_cell = f"{primitives:.2f} ({r['onednn_reorder_seconds']:.2f})" if primitives else "—"
        lines.append(f"| {r['model']} | {r['threads']} | {r['train_gflop_per_image']:.3f} | " +
                     " | ".join(f"{r['fbnet_seconds'][e]:.2f}" for e in engines) +
                     f" | {r['im2col_product_floor_seconds']:.2f}"
                     f" | {primitives_cell}"
                     f" | {best / floor:.2f} | {r['train_gflop_per_image'] * r['images'] / floor:.1f}"
                     f" | {r['torch_seconds']:.2f} | {r['torch_seconds'] / best:.2f} |")
    blt = [r for r in rows if r["model"] == "blt"]
    if blt:
        lines += ["", "Conv targets (BLT, best engine): PyTorch / fbnet >= 1.3: " + ", ".join(
            f"{r['threads']} thread(s) {r['torch_seconds'] / min(r['fbnet_seconds'].values()):.2f}" for r in blt) +
            "; fbnet / its convolution floor <= 1.5: " + ", ".join(
            f"{r['threads']} thread(s) {min(r['fbnet_seconds'].values()) / conv_floor(r):.2f}" for r in blt)]
    return lines


def seconds_and_gflops(floor):
    return f"{floor['floor_seconds']:.3f} s, {floor['gflops']:.0f}" if floor else "—"


def main_table(rows, engines, default, peak, threads_list):
    """One line per network, batch and thread count: floors and fbnet per engine, the peak, PyTorch, memory."""
    names = dict(ENGINES)
    head = (["Network", "Batch", "Threads"] + [f"{names[e]} floor (s, GFLOP/s)" for e in engines]
            + ["update's warm memory floor (s, GB/s)"]
            + [f"fbnet {e}{' (default)' if e == default else ''}" for e in engines]
            + ["best fbnet / best floor (engines)", "best fbnet / (best floor + update's)", "best floor, % of peak", "best fbnet, % of peak", "PyTorch best (threads)",
               "PyTorch / best fbnet", f"Eval images/s ({default})", f"Peak RSS ({default})", "RSS target"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        best_torch_threads = min(row["torch"], key=lambda t: row["torch"][t])
        torch_best = row["torch"][best_torch_threads]
        for threads in threads_list:
            floor, runs = row["floor"][threads], row["fbnet"][threads]
            best_engine = min(runs, key=lambda e: runs[e]["epoch_seconds"])
            best = runs[best_engine]["epoch_seconds"]
            cores_peak = threads * peak["peak_gflops_per_core"]  # the cores this row uses
            ours = runs[default]
            cells = ([row["label"], str(row["batch"]), str(threads)]
                     + [seconds_and_gflops(floor["engines"].get(e)) for e in engines]
                     + [f"{floor['update_floor_seconds']:.3f} s, {floor['update_floor_gbytes_per_second']:.0f}"]
                     + [f"{runs[e]['epoch_seconds']:.3f} s" for e in engines]
                     + [f"{best / floor['floor_seconds']:.2f} ({best_engine} / {floor['engine']})"
                        + (" (floor above the epoch: contended)" if best < floor["floor_seconds"] else ""),
                        f"{best / (floor['floor_seconds'] + floor['update_floor_seconds']):.2f}",
                        f"{100 * floor['gflops'] / cores_peak:.0f} %",
                        f"{100 * floor['epoch_gflop'] / best / cores_peak:.0f} %",
                        f"{torch_best:.3f} s ({best_torch_threads})", f"{torch_best / best:.2f}",
                        f"{ours['eval_images_per_second']:,.0f}", f"{ours['peak_rss_mb']:.0f} MB",
                        f"{row['memory_target_mb']:.0f} MB"])
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets_table(rows, default, threads_list):
    """The targets of issues 3 and 14, judged from the measurements, for fbnet's default engine."""
    def verdict(met):
        return "**met**" if met else "**not met**"
    lines = ["| target | network, batch | result |", "|---|---|---|"]
    for row in rows:
        for threads in threads_list:
            floor = row["floor"][threads]
            epoch = row["fbnet"][threads][default]["epoch_seconds"]
            ratio = epoch / floor["floor_seconds"]  # the median round's (floor_ratio)
            # How much of the allowance above the floor the update's unavoidable memory traffic takes by itself.
            allowance = (FLOOR_TARGET - 1) * floor["floor_seconds"]
            # A floor above the epoch it bounds was timed while something else held the cores (this VM's host
            # included): no verdict from it.
            judged = "**not judged** (the floor exceeds the epoch: the cores were contended; rerun)" if ratio < 1 \
                else verdict(ratio <= FLOOR_TARGET)
            ratios = [floor_ratio(r, default) for r in row["rounds"][threads]]
            rounds = (f"; the median of {len(ratios)} paired rounds: " + ", ".join(f"{r:.2f}" for r in ratios)
                      if len(ratios) > 1 else "")
            lines.append(f"| epoch ≤ {FLOOR_TARGET} × best engine's floor, {threads} thread(s) | {row['label']}, "
                         f"{row['batch']} | {judged}: {ratio:.2f}{rounds} ({epoch:.3f} s against "
                         f"{floor['engine']}'s {floor['floor_seconds']:.3f} s; the update's warm memory floor alone, "
                         f"{floor['update_floor_seconds']:.3f} s, is {100 * floor['update_floor_seconds'] / allowance:.0f} % "
                         f"of the {allowance:.3f} s allowed above it) |")
    for row in rows:
        if 1 in threads_list and 2 in threads_list:
            one, two = (row["fbnet"][t][default]["epoch_seconds"] for t in (1, 2))
            result = f"{verdict(two < one)}: {two:.3f} s against {one:.3f} s (speed-up {one / two:.2f}×)"
        else:
            result = "not measured (needs --threads 1,2)"
        lines.append(f"| 2 threads faster than 1 | {row['label']}, {row['batch']} | {result} |")
    for model, factor in TORCH_TARGETS.items():
        label = next(label for m, label, _, _ in MODELS if m == model)
        row = next((r for r in rows if r["model"] == model and r["batch"] == 64), None)
        if row is None:
            result = "not measured"
        else:
            torch_threads = min(row["torch"], key=lambda t: row["torch"][t])
            ours_threads = min(row["fbnet"], key=lambda t: row["fbnet"][t][default]["epoch_seconds"])
            ours = row["fbnet"][ours_threads][default]["epoch_seconds"]
            speedup = row["torch"][torch_threads] / ours
            result = (f"{verdict(speedup >= factor)}: {speedup:.2f}× ({ours:.3f} s with {ours_threads} thread(s) "
                      f"against PyTorch's {row['torch'][torch_threads]:.3f} s with {torch_threads})")
        lines.append(f"| fbnet ≥ {factor}× faster than PyTorch (each at its best thread count) | {label}, 64 | {result} |")
    worst = max(rows, key=lambda r: max(r["fbnet"][t][default]["peak_rss_mb"] / r["memory_target_mb"] for t in r["fbnet"]))
    rss = max(worst["fbnet"][t][default]["peak_rss_mb"] for t in worst["fbnet"])
    lines.append(f"| peak RSS ≤ 1.5 × (data + parameters + activations) + 50 MB | all (worst: {worst['label']}, "
                 f"{worst['batch']}) | {verdict(rss <= worst['memory_target_mb'])}: {rss:.0f} MB against "
                 f"{worst['memory_target_mb']:.0f} MB |")
    return lines


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fbnet", default=os.path.join(here, "..", "build", "fbnet"))
    parser.add_argument("--gemm-floor", default=os.path.join(here, "..", "build", "fbnet_gemm_floor"))
    parser.add_argument("--peak", default=os.path.join(here, "..", "build", "fbnet_machine_peak"),
                        help="the fbnet_machine_peak binary")
    parser.add_argument("--torch-script", default=os.path.join(here, "torch_reference.py"))
    parser.add_argument("--epochs", type=int, default=4, help="epochs per fbnet run (median taken)")
    parser.add_argument("--torch-epochs", type=int, default=3, help="epochs per PyTorch run (median taken)")
    parser.add_argument("--models", default=",".join(m for m, _, _, _ in MODELS),
                        help="comma-separated subset of ff,ff-large,fb (default all)")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)), help="comma-separated (default 64,128)")
    parser.add_argument("--threads", default=",".join(map(str, THREADS)), help="comma-separated (default 1,2)")
    parser.add_argument("--out", default="runs/bench")
    parser.add_argument("--conv-models", default="b,bl,bt,blt,b-k,b-f", help="conv presets to measure ('' for none)")
    parser.add_argument("--conv-images", type=int, default=3200, help="training images per conv measurement")
    parser.add_argument("--compare-with", metavar="OLD_FBNET", help="compare epoch times with this build instead")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per build in --compare-with")
    parser.add_argument("--paired-rounds", type=int, default=1,
                        help="rounds of (floor, fbnet epochs) timed back to back per row; the median round is kept")
    args = parser.parse_args()
    if args.paired_rounds < 1:
        parser.error(f"--paired-rounds: expected a whole number of at least 1, got {args.paired_rounds}")
    if args.compare_with and args.paired_rounds != 1:
        parser.error("--paired-rounds measures floors, which --compare-with does not: give --rounds instead")
    chosen = args.models.split(",")
    unknown = set(chosen) - {m for m, _, _, _ in MODELS}
    if unknown:
        parser.error(f"--models: unknown {', '.join(sorted(unknown))} (choose from ff, ff-large, fb)")
    models = [entry for entry in MODELS if entry[0] in chosen]
    batches = [int(b) for b in args.batches.split(",")]
    threads_list = sorted(int(t) for t in args.threads.split(","))
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="fbnet-bench-")
    if args.compare_with:
        compare(args.compare_with, args.fbnet, models, batches, threads_list, args.epochs, args.rounds, workdir, args.out)
        shutil.rmtree(workdir, ignore_errors=True)
        return
    started = time.perf_counter()
    print("benchmark: the machine's peak", file=sys.stderr, flush=True)
    peak = machine_peak(args.peak)  # first, while nothing of ours runs beside it
    default = default_engine(args.fbnet)
    rows, grid, engines = measure(args, models, batches, threads_list, default, workdir, started)
    shutil.rmtree(workdir, ignore_errors=True)
    conv_rows = conv_measure(args, threads_list, started)
    minutes = (time.perf_counter() - started) / 60

    versions = "; ".join(f"{dict(ENGINES)[e]}: {rows[0]['floor'][threads_list[0]]['engines'][e]['version']}"
                         for e in engines)
    lines = main_table(rows, engines, default, peak, threads_list)
    lines += ["", "Floors: each engine's products of an epoch timed alone and summed; GFLOP/s: the epoch's product "
              "GFLOP (epoch_gflop in benchmark.json) over that time. % of peak: against threads × the peak per core; "
              "fbnet's is the same product GFLOP over its best engine's epoch.",
              "", "PyTorch epoch times by thread count: " + "; ".join(
                  f"{r['model']} b{r['batch']}: " + ", ".join(f"{t} thread(s) {r['torch'][t]:.2f} s" for t in threads_list)
                  for r in rows)]
    lines += ["", f"Targets (fbnet's default engine, {default}):", ""] + targets_table(rows, default, threads_list)
    if grid:
        lines += ["", f"| Grid throughput, batch 64 ({default}) | 1 run, 2 threads | 2 runs side by side, 1 thread each |",
                  "|---|---|---|"]
        for model, (one, two) in grid.items():
            lines.append(f"| {model} | {one:.1f} epochs/min | {two:.1f} epochs/min |")
    lines += conv_table(conv_rows, args.conv_images)
    table = "\n".join(lines)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    machine = (f"Machine: {cpu_model()}, {affinity} cores usable of {os.cpu_count()}. Peak (fbnet_machine_peak): "
               f"{peak['peak_gflops']:.1f} GFLOP/s float32, {peak['peak_gflops_per_core']:.1f} per core.\n\n"
               f"```json\n{json.dumps(peak, indent=1)}\n```\n\n"
               f"Engines: {versions}. fbnet's default: {default}. Paired rounds of floor and fbnet per row: "
               f"{args.paired_rounds} (the median kept). fbnet epochs per run: {args.epochs} (median), "
               f"PyTorch: {args.torch_epochs}. Measured in {minutes:.1f} minutes.")
    print(f"{machine}\n\n{table}")
    with open(os.path.join(args.out, "benchmark.md"), "w") as f:
        f.write(f"{machine}\n\n{table}\n")
    with open(os.path.join(args.out, "benchmark.json"), "w") as f:
        json.dump({"machine": {"cpu": cpu_model(), "cores": affinity, "cpu_count": os.cpu_count()}, "peak": peak,
                   "default_engine": default, "engines": engines, "rows": rows, "grid": grid, "conv_rows": conv_rows,
                   "paired_rounds": args.paired_rounds, "epochs": args.epochs, "torch_epochs": args.torch_epochs,
                   "minutes": minutes}, f, indent=1)
    print(f"\nwritten: {args.out}/benchmark.md, {args.out}/benchmark.json", file=sys.stderr)


if __name__ == "__main__":
    main()
