#!/usr/bin/python3
"""End-to-end tests of the fbnet binary, run as real subprocesses on real
Fashion-MNIST: train on a small subset, checkpoint, eval, predict, resume,
reproduce table1, config files, --help, a user's own data from .npy files
(written by NumPy), and bad input that must end in a clear message and exit
status 2, never a crash.

usage: /usr/bin/python3 tests/cli/test_cli.py --fbnet build/fbnet
"""
import argparse
import gzip
import json
import re
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

FBNET = None
FASHION = "/usr/share/datasets/fashion-mnist"
# A run small enough for a test: 2,000 training images, 1,000 for validation.
SMALL = ["--train-limit", "2000", "--validation-size", "1000", "--progress", "never"]
# With momentum 0.99 on SMALL, a learning rate at which the FF net survives its first epoch and diverges later.
DIVERGING_LATE_RATE = "3"


def fbnet(*args, check=True, cwd=None):
    result = subprocess.run([FBNET, *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError(f"fbnet {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def without_timings(records):
    return [{k: v for k, v in r.items() if not k.endswith(("seconds", "_per_second"))} for r in records]


def safetensors_data(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + size)
        return f.read()


def safetensors_header(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size))


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class TrainEvalResume(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-cli-")
        cls.run_dir = os.path.join(cls.tmp, "fb")
        fbnet("train", "--model", "fb", "--epochs", "1", "--out", cls.run_dir, *SMALL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_run_folder_holds_config_metrics_and_checkpoints(self):
        for name in ("config.json", "metrics.jsonl", "metrics.csv", "checkpoint.safetensors", "model.safetensors"):
            self.assertTrue(os.path.isfile(os.path.join(self.run_dir, name)), name)
        self.assertEqual([f for f in os.listdir(self.run_dir) if ".tmp" in f], [])
        with open(os.path.join(self.run_dir, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["config"]["model"], "fb")
        self.assertEqual(config["config"]["feedback"], "h1->x")
        self.assertEqual(config["config"]["batch-size"], 64)
        self.assertEqual(config["parameters"], 790294)
        for key in ("fbnet", "compiler", "blas"):
            self.assertTrue(config["environment"][key], key)
        (record,) = read_jsonl(os.path.join(self.run_dir, "metrics.jsonl"))
        for key in ("validation_accuracy", "test_accuracy", "noisy_test_accuracy", "test_loss", "train_seconds"):
            self.assertIn(key, record)
        self.assertGreater(record["test_accuracy"], 50)
        with open(os.path.join(self.run_dir, "metrics.csv")) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith("epoch,"))

    def test_model_file_uses_pytorch_names_and_shapes(self):
        header = safetensors_header(os.path.join(self.run_dir, "model.safetensors"))
        self.assertEqual(header["layers.0.weight"]["shape"], [500, 784])
        self.assertEqual(header["layers.1.weight"]["shape"], [10, 500])
        self.assertEqual(header["feedback.0.weight"]["shape"], [784, 500])
        self.assertNotIn("optimizer.momentum.layers.0.weight", header)
        full = safetensors_header(os.path.join(self.run_dir, "checkpoint.safetensors"))
        self.assertIn("optimizer.momentum.layers.0.weight", full)

    def test_eval_shows_every_condition_the_run_reports(self):
        (record,) = read_jsonl(os.path.join(self.run_dir, "metrics.jsonl"))
        checkpoint = os.path.join(self.run_dir, "checkpoint.safetensors")
        rows = [json.loads(line) for line in fbnet("eval", checkpoint, "--json").stdout.splitlines()]
        self.assertEqual([(r["split"], r["noise_scale"]) for r in rows], [("validation", 0), ("test", 0), ("test", 2)])
        for row, key in zip(rows, ("validation_accuracy", "test_accuracy", "noisy_test_accuracy")):
            self.assertAlmostEqual(row["accuracy"], record[key], places=9)
        text = fbnet("eval", checkpoint).stdout
        for condition in ("validation", "test", "test, noise s = 2"):
            self.assertIn(f"  {condition} ", text)
        louder = [json.loads(line) for line in fbnet("eval", os.path.join(self.run_dir, "model.safetensors"), "--split",
                                                     "test", "--noise-scale", "4", "--json").stdout.splitlines()]
        self.assertEqual([(r["split"], r["noise_scale"]) for r in louder], [("test", 0), ("test", 4)])
        self.assertLess(louder[1]["accuracy"], rows[2]["accuracy"])
        only_validation = fbnet("eval", checkpoint, "--split", "validation", "--json").stdout.splitlines()
        self.assertEqual([json.loads(line)["split"] for line in only_validation], ["validation"])
        # What eval cannot honour is refused, and --help says where the defaults come from.
        refused = fbnet("eval", checkpoint, "--split", "validation", "--noise-scale", "3", check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--noise-scale: noise applies to the test images", refused.stderr)
        self.assertIn("--noise-scale FLOAT=the run's", fbnet("eval", "--help").stdout)

    def test_eval_confusion_matrices_and_per_class_accuracy(self):
        model = os.path.join(self.run_dir, "model.safetensors")
        folder = os.path.join(self.tmp, "confusion")
        text = fbnet("eval", model, "--split", "test", "--confusion", folder).stdout
        self.assertIn("accuracy per class", text)
        rows = [json.loads(line) for line in fbnet("eval", model, "--split", "test", "--json").stdout.splitlines()]
        for row, name in zip(rows, ("test", "test-noise2")):
            with open(os.path.join(folder, f"confusion-{name}.csv")) as f:
                matrix = [[int(v) for v in line.split(",")[1:]] for line in f.read().splitlines()[1:]]
            self.assertEqual(len(matrix), 10)
            self.assertEqual(sum(map(sum, matrix)), row["count"])
            self.assertAlmostEqual(100 * sum(matrix[t][t] for t in range(10)) / row["count"], row["accuracy"], places=9)
            with open(os.path.join(folder, f"per-class-{name}.csv")) as f:
                per_class = [line.split(",") for line in f.read().splitlines()[1:]]
            self.assertEqual([int(r[1]) for r in per_class], [sum(matrix[t]) for t in range(10)])
        self.assertGreater(os.path.getsize(os.path.join(folder, "confusion.png")), 1000)

    def test_eval_interventions(self):
        (record,) = read_jsonl(os.path.join(self.run_dir, "metrics.jsonl"))
        model = os.path.join(self.run_dir, "model.safetensors")
        lines = [json.loads(line) for line in
                 fbnet("eval", model, "--split", "test", "--noise-scale", "0", "--interventions", "--json").stdout.splitlines()]
        self.assertEqual([(l["intervention"], l["edges"]) for l in lines],
                         [("none", []), ("off", ["feedback.0"]), ("mean", ["feedback.0"]), ("swap", ["feedback.0"])])
        self.assertAlmostEqual(lines[0]["accuracy"], record["test_accuracy"], places=9)
        self.assertEqual({l["count"] for l in lines}, {10000})
        self.assertIn("swap", fbnet("eval", model, "--interventions").stdout)
        ff = os.path.join(self.tmp, "ff-for-interventions")
        fbnet("train", "--model", "ff", "--epochs", "1", "--out", ff, *SMALL)
        refused = fbnet("eval", os.path.join(ff, "model.safetensors"), "--interventions", check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--interventions: ", refused.stderr)
        self.assertIn("has no feedback edges", refused.stderr)

    def test_info_describes_presets_and_checkpoints(self):
        text = fbnet("info", "--model", "fb", "--dataset", "emnist-letters").stdout
        self.assertIn("parameters: 798310", text)
        self.assertIn("feedback.0: h1 (step t-1) -> x (step t)  Linear(500, 784), mix alpha 0.3", text)
        self.assertIn("schedule: step 0: x layers.0 h1; step 1: all", text)
        self.assertIn("FLOPs per sample: 2378000 inference", text)
        from_checkpoint = fbnet("info", "--checkpoint", os.path.join(self.run_dir, "model.safetensors")).stdout
        self.assertIn("parameters: 790294", from_checkpoint)
        # The graph as JSON (what tests/peer/graph_parity.py builds its PyTorch model from).
        graph = json.loads(fbnet("info", "--checkpoint", os.path.join(self.run_dir, "model.safetensors"),
                                 "--graph-json").stdout)
        self.assertEqual([node["name"] for node in graph["nodes"]], ["x", "layers.0", "h1", "dropout", "layers.1"])
        self.assertEqual([(e["source"], e["target"], e["combine"]) for e in graph["edges"]], [("h1", "x", "mix")])
        self.assertEqual((graph["readout"], graph["steps"]), ("layers.1", 2))

    def test_best_epoch_by_validation_is_kept_beside_the_last(self):
        run = os.path.join(self.tmp, "best")
        fbnet("train", "--model", "ff", "--epochs", "4", "--learning-rate", "0.3", "--out", run, *SMALL)
        validation = [r["validation_accuracy"] for r in read_jsonl(os.path.join(run, "metrics.jsonl"))]
        best_epoch = validation.index(max(validation)) + 1
        self.assertLess(best_epoch, 4)  # lr 0.3 overshoots after epoch 2: best and last differ
        self.assertEqual(checkpoint_epoch(os.path.join(run, "best.safetensors")), best_epoch)
        (row,) = [json.loads(line) for line in fbnet("eval", os.path.join(run, "best.safetensors"), "--split",
                                                     "validation", "--json").stdout.splitlines()]
        self.assertAlmostEqual(row["accuracy"], max(validation), places=9)
        self.assertEqual(checkpoint_epoch(os.path.join(run, "model.safetensors")), 4)

    def test_a_run_given_to_the_wrong_command_is_named(self):
        cases = [(["train", "--resume", self.run_dir, "--out", self.run_dir + "-other"],
                  f"--out: --resume continues the run in its own folder {self.run_dir}"),
                 (["sequence", "--resume", self.run_dir], "is an experiment-1 run; continue it with fbnet train --resume"),
                 (["show-feedback", self.run_dir], "is an experiment-1 run (fbnet train), not a sequence run")]
        for args, needle in cases:
            with self.subTest(args=args):
                result = fbnet(*args, check=False)
                self.assertEqual(result.returncode, 2)
                self.assertIn(needle, result.stderr)
        self.assertFalse(os.path.exists(self.run_dir + "-other"))

    def test_resume_equals_an_uninterrupted_run(self):
        resumed = os.path.join(self.tmp, "resumed")
        shutil.copytree(self.run_dir, resumed)
        output = fbnet("train", "--resume", resumed, "--epochs", "2").stdout
        # The second process trained epoch 2 only.
        self.assertEqual([line.split("epoch")[1].split()[0] for line in output.splitlines() if " epoch " in line],
                         ["2/2"])
        straight = os.path.join(self.tmp, "straight")
        fbnet("train", "--model", "fb", "--epochs", "2", "--out", straight, *SMALL)
        a = read_jsonl(os.path.join(resumed, "metrics.jsonl"))
        b = read_jsonl(os.path.join(straight, "metrics.jsonl"))
        self.assertEqual(len(a), 2)
        self.assertEqual(without_timings(a), without_timings(b))
        # Bit-identical weights and momentum (the metadata differs in the run folder's path).
        self.assertEqual(safetensors_data(os.path.join(resumed, "checkpoint.safetensors")),
                         safetensors_data(os.path.join(straight, "checkpoint.safetensors")))

    def test_resume_with_another_architecture_is_refused(self):
        result = fbnet("train", "--resume", self.run_dir, "--hidden", "300", "--epochs", "2", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("different architecture", result.stderr)

    def test_resume_with_other_settings_is_refused(self):
        result = fbnet("train", "--resume", self.run_dir, "--learning-rate", "0.1", "--epochs", "2", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("learning-rate: 0.02 in the checkpoint, 0.1 now", result.stderr)

    def test_training_into_an_existing_run_is_refused(self):
        metrics = os.path.join(self.run_dir, "metrics.jsonl")
        with open(metrics) as f:
            before = f.read()
        result = fbnet("train", "--model", "fb", "--epochs", "1", "--out", self.run_dir, *SMALL, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--resume", result.stderr)
        with open(metrics) as f:
            self.assertEqual(f.read(), before)


def rewrite_metadata(path, edit):
    """Rewrites a safetensors file with edit(metadata) applied, tensors unchanged."""
    header = safetensors_header(path)
    data = safetensors_data(path)
    edit(header["__metadata__"])
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def assert_figures_and_identical_rerun(test, args, out, report, figures):
    """A reproduce command's figures exist (PNG and SVG), and a second call reuses its runs and writes the same report."""
    for name in figures:
        for extension in ("png", "svg"):
            test.assertGreater(os.path.getsize(os.path.join(out, "figures", f"{name}.{extension}")), 1000)
    with open(os.path.join(out, report)) as f:
        text = f.read()
    again = fbnet(*args)
    test.assertNotIn("to run in this shard", again.stdout)
    with open(os.path.join(out, report)) as f:
        test.assertEqual(f.read(), text)


# A conv preset small enough for a test: BLT with 4 features per layer, unrolled over 2 steps.
SMALL_CONV = ["--conv-features", "4", "--steps", "2", "--train-limit", "500", "--validation-size", "100",
              "--progress", "never"]


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class ConvNets(unittest.TestCase):
    """A conv net trains, resumes, runs from a graph file and in a grid, and loads in PyTorch, as the MLPs do."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-cli-conv-")
        cls.run_dir = os.path.join(cls.tmp, "blt")
        fbnet("train", "--model", "blt", "--epochs", "1", "--out", cls.run_dir, *SMALL_CONV)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_resume_equals_an_uninterrupted_run(self):
        resumed = os.path.join(self.tmp, "resumed")
        shutil.copytree(self.run_dir, resumed)
        fbnet("train", "--resume", resumed, "--epochs", "2")
        straight = os.path.join(self.tmp, "straight")
        fbnet("train", "--model", "blt", "--epochs", "2", "--out", straight, *SMALL_CONV)
        a = read_jsonl(os.path.join(resumed, "metrics.jsonl"))
        self.assertEqual(without_timings(a), without_timings(read_jsonl(os.path.join(straight, "metrics.jsonl"))))
        self.assertGreater(a[-1]["test_accuracy"], 40)  # it learns: chance is 10 %
        self.assertEqual(safetensors_data(os.path.join(resumed, "checkpoint.safetensors")),
                         safetensors_data(os.path.join(straight, "checkpoint.safetensors")))

    def test_a_run_from_before_conv_engine_resumes_on_im2col(self):
        old = os.path.join(self.tmp, "before-conv-engine")
        shutil.copytree(self.run_dir, old)
        with open(os.path.join(old, "config.json")) as f:
            document = json.load(f)
        del document["config"]["conv-engine"]
        with open(os.path.join(old, "config.json"), "w") as f:
            json.dump(document, f)
        rewrite_metadata(os.path.join(old, "checkpoint.safetensors"),
                         lambda metadata: metadata.update(config=json.dumps(document["config"])))
        fbnet("train", "--resume", old, "--epochs", "2")
        with open(os.path.join(old, "config.json")) as f:
            self.assertEqual(json.load(f)["config"]["conv-engine"], "im2col")
        self.assertEqual(len(read_jsonl(os.path.join(old, "metrics.jsonl"))), 2)

    def test_model_file_loads_into_pytorch(self):
        model_file = os.path.join(self.run_dir, "model.safetensors")
        graph = json.loads(fbnet("info", "--checkpoint", model_file, "--graph-json").stdout)
        self.assertEqual({e["name"]: e["adapter"] for e in graph["edges"]},
                         {"lateral.1": "conv", "lateral.2": "conv", "topdown.1": "conv"})
        self.assertEqual(safetensors_header(model_file)["topdown.1.weight"]["shape"], [4, 4, 3, 3])  # [OC, C, K, K]
        # In a process of its own: torch in this one would count in the memory of every fbnet it spawns.
        loader = f"""
import json, sys, torch
sys.path.insert(0, {os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peer")!r})
from graph_parity import GraphModel, read_safetensors
model = GraphModel(json.loads(sys.stdin.read()))
tensors, _ = read_safetensors({model_file!r})
model.load_state_dict({{name: torch.from_numpy(t.copy()) for name, t in tensors.items()}}, strict=True)
with torch.no_grad():
    (logits,) = model({{"x": torch.zeros(2, 3, 1, 28, 28)}}, {{}})
print(list(logits.shape))
"""
        result = subprocess.run([sys.executable, "-c", loader], input=json.dumps(graph), capture_output=True, text=True,
                                timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "[3, 10]")

    def test_reproduce_conv_tables_figures_and_resume(self):
        # On 8x8 images of three classes (write_npy_dataset), so that evaluating 12 runs at 7 levels takes seconds.
        data = os.path.join(self.tmp, "npy")
        write_npy_dataset(data, train=250, test=120)
        out = os.path.join(self.tmp, "reproduce")
        args = ["reproduce", "conv", "--seeds", "2", "--out", out, "--epochs", "2", "--occlusion-levels", "1,2",
                "--occlusion-patches", "2", "--occlusion-size", "3", "--dataset", "npy", "--data-dir", data,
                "--conv-features", "4", "--validation-size", "50", "--progress", "never"]
        result = fbnet(*args)
        self.assertIn("| BLT − B-F |", result.stdout)

        def csv_rows(name):
            with open(os.path.join(out, name)) as f:
                return [r.split(",") for r in f.read().splitlines()[1:]]
        nets = csv_rows("conv.csv")
        self.assertEqual([r[0] for r in nets], ["b", "bl", "bt", "blt", "b-k", "b-f"])
        self.assertEqual([r[1] for r in nets], ["1", "4", "4", "4", "1", "1"])  # steps
        self.assertEqual({r[4] for r in nets}, {"2"})  # seeds
        parameters = {r[0]: int(r[2]) for r in nets}
        self.assertLess(parameters["b"], parameters["bt"])
        self.assertLess(parameters["bt"], parameters["bl"])
        self.assertLess(parameters["bl"], parameters["blt"])
        self.assertLess(abs(parameters["b-f"] - parameters["blt"]), parameters["blt"] - parameters["b"])
        # Every level of both conditions; level 0 of each is the clean test set, whose mean is the runs' own.
        conditions = {(r[0], r[1], float(r[2])): float(r[4]) for r in csv_rows("conditions.csv")}
        self.assertEqual(len(conditions), 6 * (6 + 3))
        own = {}
        runs = os.path.join(out, "seeds", "runs")
        for run in os.listdir(runs):
            with open(os.path.join(runs, run, "config.json")) as f:
                model = json.load(f)["config"]["model"]
            last = read_jsonl(os.path.join(runs, run, "metrics.jsonl"))[-1]
            own.setdefault(model, []).append((last["test_accuracy"], last["occluded_test_accuracy"]))
        for net in parameters:
            self.assertEqual(conditions[(net, "noise", 0.0)], conditions[(net, "occlusion", 0.0)])
            self.assertAlmostEqual(conditions[(net, "noise", 0.0)], sum(a for a, _ in own[net]) / 2, delta=1e-4)
            self.assertAlmostEqual(conditions[(net, "occlusion", 2.0)], sum(o for _, o in own[net]) / 2, delta=1e-4)
        # Paired differences over the same seeds have the difference of the means as their mean.
        differences = csv_rows("differences.csv")
        self.assertEqual(len(differences), 11 * (6 + 3))
        for network, control, condition, level, seeds, mean, low, high in differences:
            expected = conditions[(network, condition, float(level))] - conditions[(control, condition, float(level))]
            self.assertAlmostEqual(float(mean), expected, delta=2e-4)
            self.assertLessEqual(float(low), float(mean))
            self.assertLessEqual(float(mean), float(high))
            self.assertEqual(seeds, "2")
        assert_figures_and_identical_rerun(self, args, out, "conv.md", ("noise", "occlusion"))

    def test_a_graph_file_trains_as_its_preset(self):
        graph_file = os.path.join(self.tmp, "bt.json")
        with open(graph_file, "w") as f:
            f.write(fbnet("info", "--model", "bt", *SMALL_CONV[:4], "--graph-json").stdout)
        hyperparameters = ["--learning-rate", "0.01", "--momentum", "0.9", "--batch-size", "64", "--epochs", "1"]
        from_file, preset = os.path.join(self.tmp, "from-file"), os.path.join(self.tmp, "preset")
        fbnet("train", "--graph", graph_file, "--out", from_file, *hyperparameters, *SMALL_CONV[4:])
        # Settings the file already fixes, or that no net of this kind has, are refused, naming the flag.
        for flags, message in ((["--graph", graph_file, "--steps", "3"], "--steps: --graph " + graph_file +
                                 " describes the whole net; set it in the file"),
                               (["--model", "blt", "--hidden", "100"], "--hidden: a setting of the MLP presets, which "
                                "--model blt does not use"),
                               (["--model", "b", "--steps", "2"], "--steps: --model b is feedforward and runs one step"),
                               (["--model", "fb", "--conv-features", "8"], "--conv-features: a setting of the conv "
                                "presets")):
            with self.subTest(flags=flags):
                refused = fbnet("train", *flags, "--out", os.path.join(self.tmp, "no"), check=False)
                self.assertEqual(refused.returncode, 2, refused.stderr)
                self.assertIn(message, refused.stderr)
        fbnet("train", "--model", "bt", "--out", preset, *hyperparameters, *SMALL_CONV)
        with open(os.path.join(from_file, "config.json")) as f:
            self.assertEqual(json.load(f)["config"]["model"], "custom")
        self.assertEqual(safetensors_data(os.path.join(from_file, "model.safetensors")),
                         safetensors_data(os.path.join(preset, "model.safetensors")))
        # A graph whose input holds the images' 784 values in another shape is refused, naming the file and node.
        mlp = json.loads(fbnet("info", "--model", "ff", "--graph-json").stdout)
        mlp["nodes"][0]["shape"] = [2, 392]
        reshaped = os.path.join(self.tmp, "reshaped.json")
        with open(reshaped, "w") as f:
            json.dump(mlp, f)
        refused = fbnet("train", "--graph", reshaped, "--out", os.path.join(self.tmp, "no"), check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn(f"--graph: {reshaped}: its input 'x' is [2, 392], but the images are [28, 28] ([1, 28, 28] or "
                      "[784] also fit)", refused.stderr)
        refused = fbnet("train", "--model", "ff", "--graph", graph_file, "--out", os.path.join(self.tmp, "no"),
                        check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--graph: a graph file is the whole net; it goes with --model custom, not --model ff",
                      refused.stderr)

    def test_occluded_test_images_in_training_and_eval(self):
        run = os.path.join(self.tmp, "occluded")
        fbnet("train", "--model", "bt", "--epochs", "1", "--occlusion-patches", "2", "--occlusion-size", "6", "--out", run,
              *SMALL_CONV)
        (record,) = read_jsonl(os.path.join(run, "metrics.jsonl"))
        rows = [json.loads(line) for line in fbnet("eval", os.path.join(run, "model.safetensors"), "--split", "test",
                                                    "--json").stdout.splitlines()]
        self.assertEqual([(r["noise_scale"], r.get("occlusion_patches")) for r in rows], [(0, None), (2, None), (0, 2)])
        self.assertEqual(rows[2]["accuracy"], record["occluded_test_accuracy"])
        self.assertLess(record["occluded_test_accuracy"], record["test_accuracy"])
        # Any run is evaluated on occluded images when eval is given the setting.
        text = fbnet("eval", os.path.join(self.run_dir, "model.safetensors"), "--split", "test",
                     "--occlusion-patches", "3").stdout
        self.assertIn("test, occlusion 3x8px    10000", text)
        refused = fbnet("train", "--model", "bt", "--occlusion-patches", "1", "--occlusion-size", "29", "--out",
                        os.path.join(self.tmp, "no"), *SMALL_CONV, check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("--occlusion-size: a patch of 29x29 pixels does not fit the 28x28 images of fashion-mnist",
                      refused.stderr)

    def test_a_grid_of_conv_nets(self):
        grid_file = os.path.join(self.tmp, "conv-grid.toml")
        with open(grid_file, "w") as f:
            f.write('model = ["bt", "blt"]\nconv-features = 4\nsteps = 2\nepochs = 1\ntrain-limit = 500\n'
                    'validation-size = 100\n')
        out = os.path.join(self.tmp, "conv-grid")
        fbnet("grid", grid_file, "--out", out)
        with open(os.path.join(out, "grid.csv")) as f:
            rows = f.read().splitlines()[1:]
        self.assertEqual(len(rows), 2)
        self.assertTrue(all("finished" in row for row in rows), rows)


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class RunningSumUpdate(unittest.TestCase):
    """--gradient-accumulation running-sum (the authors' experiment-2 update): G is optimiser state."""

    ARGS = ["--model", "fb", "--learning-rate", "0.0002", "--momentum", "0.5", *SMALL]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-sum-")
        cls.straight = os.path.join(cls.tmp, "straight")
        fbnet("train", *cls.ARGS, "--gradient-accumulation", "running-sum", "--epochs", "3", "--out", cls.straight)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_resume_mid_run_is_bit_identical(self):
        resumed = os.path.join(self.tmp, "resumed")
        fbnet("train", *self.ARGS, "--gradient-accumulation", "running-sum", "--epochs", "1", "--out", resumed)
        second = fbnet("train", "--resume", resumed, "--epochs", "3")
        # The second process trained epochs 2 and 3 only.
        trained = [line.split()[2] for line in second.stdout.splitlines() if line.startswith("fb epoch")]
        self.assertEqual(trained, ["2/3", "3/3"])
        self.assertEqual(without_timings(read_jsonl(os.path.join(resumed, "metrics.jsonl"))),
                         without_timings(read_jsonl(os.path.join(self.straight, "metrics.jsonl"))))
        self.assertEqual(safetensors_data(os.path.join(resumed, "checkpoint.safetensors")),
                         safetensors_data(os.path.join(self.straight, "checkpoint.safetensors")))

    def test_checkpoint_and_config_hold_the_running_sum(self):
        header = safetensors_header(os.path.join(self.straight, "checkpoint.safetensors"))
        self.assertEqual(header["optimizer.gradient_sum.feedback.0.weight"]["shape"], [784, 500])
        self.assertIn("optimizer.momentum.feedback.0.weight", header)
        with open(os.path.join(self.straight, "config.json")) as f:
            self.assertEqual(json.load(f)["config"]["gradient-accumulation"], "running-sum")
        zeroed = os.path.join(self.tmp, "zeroed")
        fbnet("train", *self.ARGS, "--epochs", "1", "--out", zeroed)
        self.assertNotIn("optimizer.gradient_sum.feedback.0.weight",
                         safetensors_header(os.path.join(zeroed, "checkpoint.safetensors")))
        # The setting changes training: after one epoch the two updates differ.
        first_sum = read_jsonl(os.path.join(self.straight, "metrics.jsonl"))[0]
        first_zeroed = read_jsonl(os.path.join(zeroed, "metrics.jsonl"))[0]
        self.assertNotEqual(first_sum["train_loss"], first_zeroed["train_loss"])
        # Resuming with the other update is another experiment.
        result = fbnet("train", "--resume", zeroed, "--gradient-accumulation", "running-sum", "--epochs", "2",
                       check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn('gradient-accumulation: "zeroed" in the checkpoint, "running-sum" now', result.stderr)

    def test_a_checkpoint_from_before_the_setting_resumes_as_zeroed(self):
        old = os.path.join(self.tmp, "old")
        fbnet("train", *self.ARGS, "--epochs", "1", "--out", old)

        def drop_setting(metadata):
            config = json.loads(metadata["config"])
            del config["gradient-accumulation"]
            metadata["config"] = json.dumps(config)
        rewrite_metadata(os.path.join(old, "checkpoint.safetensors"), drop_setting)
        fbnet("train", "--resume", old, "--epochs", "2")
        self.assertEqual(len(read_jsonl(os.path.join(old, "metrics.jsonl"))), 2)
        result = fbnet("train", "--resume", old, "--gradient-accumulation", "running-sum", "--epochs", "3", check=False)
        self.assertEqual(result.returncode, 2, result.stderr)


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class OptimisersSchedulesEarlyStopping(unittest.TestCase):
    """Adam's state and the schedules survive a resume bit for bit; early stopping ends a run for good.
    (tests/peer/graph_parity.py checks each optimiser and schedule against torch.optim.)"""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-optim-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    ADAM = ["--model", "fb", "--optimizer", "adam", "--learning-rate", "0.001", "--weight-decay", "0.0001",
            "--lr-schedule", "cosine", "--warmup-epochs", "1", *SMALL]

    def test_adam_with_warmup_and_cosine(self):
        straight, resumed = os.path.join(self.tmp, "adam"), os.path.join(self.tmp, "adam-resumed")
        fbnet("train", *self.ADAM, "--epochs", "3", "--out", straight)
        records = read_jsonl(os.path.join(straight, "metrics.jsonl"))
        # Warmup epoch 1 at half the rate, then the cosine over epochs 2-3: 0.001, then 0.0005.
        self.assertEqual([r["learning_rate"] for r in records], [0.0005, 0.001, 0.0005])
        self.assertGreater(records[-1]["validation_accuracy"], 60)
        header = safetensors_header(os.path.join(straight, "checkpoint.safetensors"))
        self.assertEqual(header["__metadata__"]["format"], "fbnet-checkpoint-3")
        self.assertEqual(header["__metadata__"]["optimizer_steps"], str(3 * 32))  # 2,000 images in batches of 64
        self.assertIn("optimizer.exp_avg_sq.feedback.0.weight", header)
        # A cosine schedule spans the run's epochs: resuming it with other epochs would change its rates.
        fbnet("train", *self.ADAM, "--epochs", "2", "--out", resumed)
        result = fbnet("train", "--resume", resumed, "--epochs", "3", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--epochs: ", result.stderr)
        self.assertIn("cosine schedule over 2 epochs", result.stderr)

    def test_resumed_adam_equals_an_uninterrupted_run(self):
        settings = ["--model", "ff", "--optimizer", "adamw", "--learning-rate", "0.001", "--weight-decay", "0.01",
                    "--lr-schedule", "step", "--lr-step-epochs", "1", "--lr-gamma", "0.5", *SMALL]
        straight, resumed = os.path.join(self.tmp, "adamw"), os.path.join(self.tmp, "adamw-resumed")
        fbnet("train", *settings, "--epochs", "2", "--out", straight)
        fbnet("train", *settings, "--epochs", "1", "--out", resumed)
        fbnet("train", "--resume", resumed, "--epochs", "2")
        self.assertEqual(without_timings(read_jsonl(os.path.join(straight, "metrics.jsonl"))),
                         without_timings(read_jsonl(os.path.join(resumed, "metrics.jsonl"))))
        self.assertEqual(safetensors_data(os.path.join(straight, "checkpoint.safetensors")),
                         safetensors_data(os.path.join(resumed, "checkpoint.safetensors")))

    def test_early_stopping_ends_the_run_and_the_grid_counts_it_finished(self):

        # lr 0.3 overshoots after epoch 2 on SMALL (see TrainEvalResume): with patience 1 the run stops early.
        settings = ["--model", "ff", "--learning-rate", "0.3", "--early-stopping", "1", *SMALL]
        run = os.path.join(self.tmp, "early")
        output = fbnet("train", *settings, "--epochs", "8", "--out", run).stdout
        records = read_jsonl(os.path.join(run, "metrics.jsonl"))
        validation = [r["validation_accuracy"] for r in records]
        best = validation.index(max(validation)) + 1
        self.assertEqual(len(records), best + 1)
        self.assertLess(len(records), 8)
        self.assertIn(f"stopped early: no better validation accuracy for 1 epochs since epoch {best}", output)
        self.assertEqual(checkpoint_epoch(os.path.join(run, "best.safetensors")), best)
        # Resuming a stopped run trains nothing more.
        before = read_bytes(os.path.join(run, "checkpoint.safetensors"))
        self.assertIn("stopped early after epoch", fbnet("train", "--resume", run).stdout)
        self.assertEqual(read_bytes(os.path.join(run, "checkpoint.safetensors")), before)
        # A grid counts the stopped run as finished, not partial.
        grid = os.path.join(self.tmp, "early.toml")
        with open(grid, "w") as f:
            f.write('model = "ff"\nepochs = 8\ntrain-limit = 2000\nvalidation-size = 1000\nlearning-rate = [0.3]\n'
                    'early-stopping = 1\n')
        fbnet("grid", grid, "--out", os.path.join(self.tmp, "early-grid"))
        with open(os.path.join(self.tmp, "early-grid", "grid.csv")) as f:
            rows = f.read().splitlines()
        self.assertEqual(len(rows), 2)
        self.assertIn(f",finished,{best + 1},{best + 1},", rows[1])  # epochs done, reported epoch (the last)
        # --report-epoch best: the report shows, and selects by, the best-validation epoch.
        fbnet("grid", grid, "--out", os.path.join(self.tmp, "early-grid"), "--report-only", "--report-epoch", "best")
        with open(os.path.join(self.tmp, "early-grid", "grid.csv")) as f:
            header, row = [line.split(",") for line in f.read().splitlines()]
        self.assertEqual(row[header.index("reported_epoch")], str(best))
        self.assertEqual(row[header.index("validation_accuracy")], f"{max(validation):.2f}")
        with open(os.path.join(self.tmp, "early-grid", "best.json")) as f:
            self.assertEqual(json.load(f)["ff"]["reported"]["epoch"], best)


class InTemporaryFolder(unittest.TestCase):
    """A test with self.tmp, a fresh folder removed after it."""

    PREFIX = "fbnet-cli-"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=self.PREFIX)

    def tearDown(self):
        shutil.rmtree(self.tmp)


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class ConfigFilesAndTable(InTemporaryFolder):

    def test_toml_config_with_flag_override(self):
        path = os.path.join(self.tmp, "deep.toml")
        with open(path, "w") as f:
            f.write('model = "custom"\nhidden = [64, 32]\nfeedback = "h2->h1,h1->x"\nsteps = 2\nepochs = 5\n'
                    'learning-rate = 0.05\nmomentum = 0.5\nbatch-size = 64\ntrain-limit = 1000\nvalidation-size = 500\n')
        out = os.path.join(self.tmp, "deep")
        fbnet("train", "--config", path, "--epochs", "1", "--out", out, "--progress", "never")
        with open(os.path.join(out, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["config"]["hidden"], [64, 32])
        self.assertEqual(config["config"]["epochs"], 1)
        self.assertEqual(len(config["architecture"]["feedback"]), 2)

    def test_progress_is_live_on_a_terminal_and_plain_elsewhere(self):
        # Bytes, not text: text mode would turn the carriage returns into newlines.
        live = subprocess.run([FBNET, "train", "--model", "ff", "--epochs", "1", "--out", os.path.join(self.tmp, "live"),
                               *SMALL[:-2], "--progress", "always"], capture_output=True, check=True, timeout=300)
        self.assertIn(b"\r\033[K", live.stderr)
        self.assertNotIn(b"\n", live.stderr.replace(b"\r\033[K", b""))  # redrawn in place, one line
        for part in (b"epoch 1/1", b"batch 16/16", b"loss", b"acc", b"samples/s", b"ETA"):
            self.assertIn(part, live.stderr)
        plain = fbnet("train", "--model", "ff", "--epochs", "1", "--out", os.path.join(self.tmp, "plain"), *SMALL)
        self.assertNotIn("\r", plain.stderr + plain.stdout)
        self.assertIn("ff epoch  1/1", plain.stdout)

    def test_reproduce_table1_writes_markdown_and_csv(self):
        out = os.path.join(self.tmp, "table1")
        # --seeds twice: the last one counts, as scripts/run relies on.
        args = ["reproduce", "table1", "--hyperparameters", "report", "--seeds", "1", "--seeds", "2", "--out", out,
                "--epochs", "1", *SMALL]
        result = fbnet(*args)
        self.assertIn("| FB net |", result.stdout)
        with open(os.path.join(out, "table1.csv")) as f:
            rows = f.read().splitlines()
        self.assertEqual([r.split(",")[0] for r in rows[1:]], ["ff", "ff-large", "fb"])
        self.assertEqual([r.split(",")[1] for r in rows[1:]], ["397510", "795010", "790294"])
        self.assertEqual({r.split(",")[6] for r in rows[1:]}, {"2"})  # seeds
        with open(os.path.join(out, "table1.md")) as f:
            text = f.read()
        self.assertIn("Accuracy with noise", text)
        self.assertIn("| FB − FF net |", text)
        with open(os.path.join(out, "noise.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), 1 + 3 * 6)
        for name in ("learning-curves", "noise"):
            for extension in ("png", "svg"):
                self.assertGreater(os.path.getsize(os.path.join(out, "figures", f"{name}.{extension}")), 1000)
        # A second call reuses the finished runs instead of training again.
        again = fbnet(*args)
        self.assertNotIn("to run in this shard", again.stdout)
        with open(os.path.join(out, "table1.md")) as f:
            self.assertEqual(f.read(), text)

    def test_reproduce_controls_tables_figures_and_resume(self):
        out = os.path.join(self.tmp, "controls")
        args = ["reproduce", "controls", "--seeds", "2", "--out", out, "--epochs", "1", *SMALL]
        result = fbnet(*args)
        self.assertIn("| FB − FF deep |", result.stdout)
        with open(os.path.join(out, "controls.csv")) as f:
            rows = [r.split(",") for r in f.read().splitlines()[1:]]
        self.assertEqual([r[0] for r in rows], ["ff", "ff-large", "ff-deep", "fb", "fb-untied", "fb-fixed"])
        self.assertEqual([r[1] for r in rows], ["397510", "795010", "648010", "790294", "1182794", "790294"])
        self.assertEqual(len({r[2] for r in rows[3:]}), 1)  # the feedback nets' FLOPs are equal
        self.assertEqual({r[6] for r in rows}, {"2"})  # seeds
        with open(os.path.join(out, "interventions.csv")) as f:
            interventions = [r.split(",") for r in f.read().splitlines()[1:]]
        self.assertEqual(len(interventions), 3 * 4 * 2)  # feedback nets x (none, off, mean, swap) x (clean, noisy)
        self.assertEqual({r[0] for r in interventions}, {"fb", "fb-untied", "fb-fixed"})
        self.assertEqual({float(r[6]) for r in interventions if r[1] == "none"}, {0.0})  # change against itself
        assert_figures_and_identical_rerun(self, args, out, "controls.md", ("noise", "interventions"))

    def test_reproduce_controls_sweeps_each_nets_learning_rate(self):
        out = os.path.join(self.tmp, "sweep")
        fbnet("reproduce", "controls", "--hyperparameters", "sweep", "--sweep-learning-rates", "0.005,0.05",
              "--seeds", "1", "--out", out, "--epochs", "1", *SMALL)
        with open(os.path.join(out, "sweep", "best.json")) as f:
            best = json.load(f)
        with open(os.path.join(out, "controls.csv")) as f:
            rows = [r.split(",") for r in f.read().splitlines()[1:]]
        self.assertEqual(len(rows), 6)
        for row in rows:
            self.assertIn(float(row[3]), (0.005, 0.05))
            self.assertEqual(float(row[3]), best[row[0]]["resolved"]["learning-rate"])


GRID = """epochs = 3
train-limit = 2000
validation-size = 500
model = "ff"
learning-rate = [0.01, 0.04]
momentum = [0.5, 0.7]
"""


def processes_mentioning(text):
    """PIDs of live processes whose command line contains `text`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def grid_state(out):
    """Per run: metrics without timings, and the checkpoint's tensor bytes."""
    state = {}
    runs = os.path.join(out, "runs")
    for run in sorted(os.listdir(runs)):
        folder = os.path.join(runs, run)
        state[run] = (without_timings(read_jsonl(os.path.join(folder, "metrics.jsonl"))),
                      safetensors_data(os.path.join(folder, "checkpoint.safetensors")))
    return state


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class Grid(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-grid-")
        cls.grid = os.path.join(cls.tmp, "grid.toml")
        with open(cls.grid, "w") as f:
            f.write(GRID)
        cls.reference = os.path.join(cls.tmp, "reference")
        fbnet("grid", cls.grid, "--out", cls.reference)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_report_picks_the_best_validation_accuracy(self):
        with open(os.path.join(self.reference, "grid.csv")) as f:
            rows = [line.split(",") for line in f.read().splitlines()]
        header, rows = rows[0], rows[1:]
        self.assertEqual(len(rows), 4)
        self.assertTrue(all(r[header.index("status")] == "finished" for r in rows))
        accuracy = header.index("validation_accuracy")
        best_row = max(rows, key=lambda r: float(r[accuracy]))
        with open(os.path.join(self.reference, "best.json")) as f:
            best = json.load(f)
        self.assertEqual(best["ff"]["id"], best_row[0])

    def test_sigkill_mid_grid_then_restart_equals_an_uninterrupted_grid(self):
        out = os.path.join(self.tmp, "killed")
        grid = subprocess.Popen([FBNET, "grid", self.grid, "--out", out], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # Kill as soon as some run has finished an epoch, while others are still going.
        deadline = time.time() + 120
        while time.time() < deadline:
            runs = os.path.join(out, "runs")
            done = [r for r in (os.listdir(runs) if os.path.isdir(runs) else [])
                    if os.path.exists(os.path.join(runs, r, "checkpoint.safetensors"))]
            if done:
                break
            time.sleep(0.02)
        grid.send_signal(signal.SIGKILL)
        grid.wait()
        self.assertFalse(os.path.exists(os.path.join(out, "grid.csv")), "the grid finished before it was killed")
        time.sleep(0.5)
        self.assertEqual(processes_mentioning(out), [], "workers outlived the killed grid")
        fbnet("grid", self.grid, "--out", out)
        self.assertEqual(grid_state(out), grid_state(self.reference))
        with open(os.path.join(out, "grid.csv")) as f1, open(os.path.join(self.reference, "grid.csv")) as f2:
            self.assertEqual(f1.read(), f2.read())

    def test_shards_then_report_equal_one_grid(self):
        out = os.path.join(self.tmp, "sharded")
        first = fbnet("grid", self.grid, "--out", out, "--shard", "1/2", "--jobs", "1").stdout
        self.assertIn("2 to run in this shard (1/2)", first)
        with open(os.path.join(out, "grid.md")) as f:
            self.assertIn("2 finished", f.read())
        fbnet("grid", self.grid, "--out", out, "--shard", "2/2", "--jobs", "1")
        fbnet("grid", self.grid, "--out", out, "--report-only")
        self.assertEqual(grid_state(out), grid_state(self.reference))
        with open(os.path.join(out, "grid.csv")) as f1, open(os.path.join(self.reference, "grid.csv")) as f2:
            self.assertEqual(f1.read(), f2.read())

    def test_two_grids_on_one_folder_train_each_run_once(self):
        # As when a grid is started twice, or a requeued Slurm task overlaps its predecessor: each run is claimed
        # by one process, which trains it; the other trains other runs, then waits and reports the whole grid.
        out = os.path.join(self.tmp, "twice")
        processes = [subprocess.Popen([FBNET, "grid", self.grid, "--out", out, "--jobs", "1"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in processes]
        for process, (_, stderr) in zip(processes, outputs):
            self.assertEqual(process.returncode, 0, stderr)
        ids = sorted(os.listdir(os.path.join(out, "runs")))
        self.assertEqual(len(ids), 4)
        trained = [re.findall(r"^grid: \[\d+/\d+\] (\S+) finished$", stdout, re.M) for stdout, _ in outputs]
        by_other = [re.findall(r"^grid: (\S+) was finished by another process$", stdout, re.M) for stdout, _ in outputs]
        self.assertEqual(sorted(trained[0] + trained[1]), ids, outputs)  # every run trained, by one process only
        # Each process saw every run through: trained it, or found it trained by the other.
        for mine, other in zip(trained, by_other):
            self.assertEqual(sorted(mine + other), ids, outputs)
        self.assertTrue(trained[0] and trained[1], f"one process trained everything: {outputs}")
        for run in ids:
            with open(os.path.join(out, "runs", run, "log.txt")) as f:
                self.assertEqual(f.read().count("run folder: "), 1, run)  # one `fbnet train`, never a second
        self.assertEqual(grid_state(out), grid_state(self.reference))
        with open(os.path.join(out, "grid.csv")) as f1, open(os.path.join(self.reference, "grid.csv")) as f2:
            self.assertEqual(f1.read(), f2.read())

    def test_another_spelling_of_the_grid_finds_its_runs(self):
        # JSON for TOML, keys and list values in another order, defaults and no-effect settings given explicitly.
        out = os.path.join(self.tmp, "respelled")
        shutil.copytree(self.reference, out)
        respelled = os.path.join(self.tmp, "respelled.json")
        with open(respelled, "w") as f:
            json.dump({"momentum": [0.7, 0.5], "model": "ff", "learning-rate": [0.04, 0.01], "validation-size": 500,
                       "dataset": "fashion-mnist", "batch-size": 128, "progress": "never", "train-limit": 2000,
                       "epochs": 3}, f)
        result = fbnet("grid", respelled, "--out", out)
        self.assertNotIn("to run in this shard", result.stdout)  # nothing left to train
        with open(os.path.join(out, "grid.csv")) as f1, open(os.path.join(self.reference, "grid.csv")) as f2:
            self.assertEqual(sorted(f1.read().splitlines()), sorted(f2.read().splitlines()))

    def test_run_folders_named_before_ids_came_from_settings_are_found(self):
        # Older grids named a run by its position and a hash of the file's spelling ("0003-1a2b3c4d"); a grid now
        # finds such a folder by the settings in its config.json, or, where the run was killed before writing one,
        # by the grid-settings.json the grid gave it.
        out = os.path.join(self.tmp, "older")
        shutil.copytree(self.reference, out)
        runs = os.path.join(out, "runs")
        older = {}
        for i, run in enumerate(sorted(os.listdir(runs))):
            older[run] = f"{i:04}-{i:08x}"
            os.remove(os.path.join(runs, run, "claim.lock"))
            os.rename(os.path.join(runs, run), os.path.join(runs, older[run]))
        killed_early = os.path.join(runs, older[sorted(older)[0]])
        for name in os.listdir(killed_early):
            if name != "grid-settings.json":
                os.remove(os.path.join(killed_early, name))
        result = fbnet("grid", self.grid, "--out", out)
        self.assertIn("1 to run in this shard", result.stdout)
        self.assertEqual(sorted(os.listdir(runs)), sorted(older.values()))  # no new folders
        with open(os.path.join(out, "grid.csv")) as f1, open(os.path.join(self.reference, "grid.csv")) as f2:
            renamed = f2.read()
            for run, name in older.items():
                renamed = renamed.replace(run, name)
            self.assertEqual(f1.read(), renamed)
        reference = grid_state(self.reference)
        self.assertEqual(grid_state(out), {older[run]: state for run, state in reference.items()})

    def test_a_failing_run_is_marked_failed_not_finished(self):
        out = os.path.join(self.tmp, "failing")
        bad = os.path.join(self.tmp, "bad.toml")
        with open(bad, "w") as f:
            f.write('epochs = 1\ntrain-limit = 500\nvalidation-size = 100\ndataset = "mnist"\ndata-dir = "%s"\n' % self.tmp)
        fbnet("grid", bad, "--out", out)
        with open(os.path.join(out, "grid.csv")) as f:
            self.assertIn(",failed,", f.read())


def write_fake_emnist(folder, train=240, test=120):
    """A small EMNIST-letters folder in the official file names and format."""
    import random
    rng = random.Random(0)
    for split, count in (("train", train), ("test", test)):
        labels = [1 + i % 26 for i in range(count)]
        # Each letter a distinct stroke (stored transposed, as EMNIST does), plus noise.
        pixels = bytearray()
        for label in labels:
            image = bytearray(rng.randrange(0, 40) for _ in range(784))
            for i in range(28):
                image[(label % 28) * 28 + i] = 255
            pixels += image
        with gzip.open(os.path.join(folder, f"emnist-letters-{split}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">IIII", 2051, count, 28, 28) + bytes(pixels))
        with gzip.open(os.path.join(folder, f"emnist-letters-{split}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">II", 2049, count) + bytes(labels))


class ReproduceOnEmnistFormat(unittest.TestCase):
    """The full procedure (the report's 120-run grid, then seeds) on a small fake EMNIST folder."""

    def test_grid_then_seeds(self):
        tmp = tempfile.mkdtemp(prefix="fbnet-emnist-")
        try:
            write_fake_emnist(tmp)
            out = os.path.join(tmp, "table1")
            result = fbnet("reproduce", "table1", "--dataset", "emnist-letters", "--data-dir", tmp, "--seeds", "2",
                           "--epochs", "1", "--validation-size", "60", "--out", out)
            self.assertIn("Table 1 on emnist-letters", result.stdout)
            with open(os.path.join(out, "grid", "grid.csv")) as f:
                self.assertEqual(len(f.read().splitlines()), 1 + 120)
            with open(os.path.join(out, "table1.csv")) as f:
                rows = f.read().splitlines()[1:]
            # On 26 classes the parameter counts are the report's.
            self.assertEqual([r.split(",")[1] for r in rows], ["405526", "811026", "798310"])
            with open(os.path.join(out, "grid", "best.json")) as f:
                best = json.load(f)
            with open(os.path.join(out, "seeds.json")) as f:
                seeds = json.load(f)
            # Seeds 1.. retrain exactly the configurations the grid chose.
            for sub in seeds["grid"]:
                chosen = best[sub["model"]]["settings"]
                self.assertEqual({k: v for k, v in sub.items() if k != "seed"}, chosen)
                self.assertEqual(sub["seed"], [1])
        finally:
            shutil.rmtree(tmp)


class PathsInConfigFiles(unittest.TestCase):
    """A config or grid file's relative paths are relative to its folder, a flag's to the current one, and a
    run folder records them absolute."""

    SETTINGS = 'dataset = "emnist-letters"\ndata-dir = "data"\nvalidation-size = 60\nepochs = 1\nprogress = "never"\n'

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fbnet-paths-")
        self.sub = os.path.join(self.tmp, "sub")
        self.elsewhere = os.path.join(self.tmp, "elsewhere")
        for folder in (os.path.join(self.sub, "data"), self.elsewhere):
            os.makedirs(folder)
        write_fake_emnist(os.path.join(self.sub, "data"))

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_config(self, folder):
        with open(os.path.join(folder, "config.json")) as f:
            return json.load(f)["config"]

    def test_train_config_file_in_another_folder(self):
        with open(os.path.join(self.sub, "cfg.toml"), "w") as f:
            f.write(self.SETTINGS + 'out = "runs/a"\n')
        # Started from a sibling folder, naming the config relative to it.
        fbnet("train", "--config", "../sub/cfg.toml", cwd=self.elsewhere)
        run = os.path.join(self.sub, "runs", "a")
        self.assertEqual(len(read_jsonl(os.path.join(run, "metrics.jsonl"))), 1)
        config = self.run_config(run)
        self.assertEqual(config["data-dir"], os.path.join(self.sub, "data"))
        self.assertEqual(config["out"], run)
        checkpoint = json.loads(safetensors_header(os.path.join(run, "checkpoint.safetensors"))["__metadata__"]["config"])
        self.assertEqual(checkpoint["data-dir"], os.path.join(self.sub, "data"))
        # A flag is relative to the current folder and overrides the file.
        fbnet("train", "--config", "sub/cfg.toml", "--data-dir", "sub/./data", "--out", "b", cwd=self.tmp)
        config = self.run_config(os.path.join(self.tmp, "b"))
        self.assertEqual((config["data-dir"], config["out"]), (os.path.join(self.sub, "data"), os.path.join(self.tmp, "b")))

    def test_default_run_folder_is_the_same_for_a_relative_or_absolute_data_dir(self):
        args = ["train", "--dataset", "emnist-letters", "--validation-size", "60", "--epochs", "1", "--progress", "never"]
        first = fbnet(*args, "--data-dir", "sub/data", cwd=self.tmp)
        folder = next(line for line in first.stdout.splitlines() if line.startswith("run folder: "))
        second = fbnet(*args, "--data-dir", os.path.join(self.sub, "data"), check=False, cwd=self.tmp)
        self.assertEqual(second.returncode, 2, second.stderr)
        self.assertIn(folder.removeprefix("run folder: ") + " already holds a run", second.stderr)

    def test_a_bad_path_names_the_setting_and_the_file(self):
        with open(os.path.join(self.sub, "cfg.toml"), "w") as f:
            f.write(self.SETTINGS.replace('"data"', '"~/data"'))
        result = fbnet("train", "--config", "sub/cfg.toml", check=False, cwd=self.tmp)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("sub/cfg.toml: setting 'data-dir': '~/data': fbnet does not expand '~'", result.stderr)

    def test_a_run_that_stored_relative_paths_resumes(self):
        # Runs from before paths were resolved stored them as given, relative to the folder fbnet ran in.
        run = os.path.join(self.tmp, "old")
        fbnet("train", "--dataset", "emnist-letters", "--data-dir", "sub/data", "--validation-size", "60", "--epochs",
              "1", "--progress", "never", "--out", "old", cwd=self.tmp)

        def relative_paths(config):
            config.update({"data-dir": "sub/data", "out": "old"})
        with open(os.path.join(run, "config.json")) as f:
            description = json.load(f)
        relative_paths(description["config"])
        with open(os.path.join(run, "config.json"), "w") as f:
            json.dump(description, f)

        def relative_metadata(metadata):
            config = json.loads(metadata["config"])
            relative_paths(config)
            metadata["config"] = json.dumps(config)
        rewrite_metadata(os.path.join(run, "checkpoint.safetensors"), relative_metadata)
        fbnet("train", "--resume", "old", "--epochs", "2", cwd=self.tmp)
        self.assertEqual(len(read_jsonl(os.path.join(run, "metrics.jsonl"))), 2)
        self.assertEqual(self.run_config(run)["data-dir"], os.path.join(self.sub, "data"))
        # Data may move: a resumed run may be pointed at its new folder.
        moved = os.path.join(self.tmp, "moved")
        shutil.move(os.path.join(self.sub, "data"), moved)
        fbnet("train", "--resume", run, "--epochs", "3", "--data-dir", moved)
        self.assertEqual(self.run_config(run)["data-dir"], moved)

    def test_grid_file_in_another_folder(self):
        grid = os.path.join(self.sub, "grid.toml")
        with open(grid, "w") as f:
            f.write(self.SETTINGS + "learning-rate = [0.01, 0.04]\n")
        fbnet("grid", "../sub/grid.toml", "--out", "grid", "--jobs", "1", cwd=self.elsewhere)
        out = os.path.join(self.elsewhere, "grid")
        with open(os.path.join(out, "grid.csv")) as f:
            self.assertEqual(f.read().count(",finished,"), 2)
        for run in os.listdir(os.path.join(out, "runs")):
            self.assertEqual(self.run_config(os.path.join(out, "runs", run))["data-dir"], os.path.join(self.sub, "data"))
        # Started again from elsewhere with the absolute file name: the same runs, all found finished.
        again = fbnet("grid", grid, "--out", out, "--jobs", "1", cwd=self.tmp)
        self.assertNotIn("to run in this shard", again.stdout)


SHARED_PARTIAL_EMNIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data",
                                     "emnist-letters-partial")


class Table1OnASplitDataset(unittest.TestCase):
    """table1's noise curve must see the data its runs trained on, whatever --split-seed says."""

    def test_split_seed_reaches_the_noise_curve(self):
        if not os.path.isdir(SHARED_PARTIAL_EMNIST):
            self.skipTest("../shared/data/emnist-letters-partial is absent")
        tmp = tempfile.mkdtemp(prefix="fbnet-split-")
        try:
            result = fbnet("reproduce", "table1", "--dataset", "emnist-letters-partial", "--data-dir",
                           SHARED_PARTIAL_EMNIST, "--split-seed", "1", "--validation-size", "1000", "--hyperparameters",
                           "report", "--seeds", "1", "--epochs", "1", "--train-limit", "500", "--progress", "never",
                           "--out", os.path.join(tmp, "table1"), check=False)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(os.path.isfile(os.path.join(tmp, "table1", "noise.csv")))
        finally:
            shutil.rmtree(tmp)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def checkpoint_epoch(path):
    return int(safetensors_header(path)["__metadata__"]["epoch"])


def limit_file_size(size):
    """A preexec_fn: files may grow to `size` bytes, as on a nearly full disk (write fails with EFBIG)."""
    import resource

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class Faults(unittest.TestCase):
    """Divergence, a full disk, an unwritable folder: a clear error, exit 2, earlier results intact."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fbnet-faults-")
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_divergence_names_epoch_and_batch_and_writes_no_checkpoint(self):
        run = os.path.join(self.tmp, "diverged")
        # --divergence-factor 0: only NaN or Inf stop the run, as tested here.
        result = fbnet("train", "--learning-rate", "1e9", "--epochs", "2", "--divergence-factor", "0", "--out", run,
                       *SMALL, check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, r"training diverged: the loss is -?(nan|inf) at epoch 1, batch \d+; no epoch finished")
        self.assertFalse(os.path.exists(os.path.join(run, "checkpoint.safetensors")))
        self.assertTrue(os.path.exists(os.path.join(run, "config.json")))

    def test_divergence_after_good_epochs_keeps_the_last_good_checkpoint(self):
        run = os.path.join(self.tmp, "late")
        # Momentum 0.99 at this rate is stable for the first epoch and blows up later.
        result = fbnet("train", "--learning-rate", DIVERGING_LATE_RATE, "--momentum", "0.99", "--epochs", "30",
                       "--divergence-factor", "0", "--out", run, *SMALL, check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        import re
        match = re.search(r"training diverged: .* (?:at|after) epoch (\d+), batch \d+; the checkpoint of epoch (\d+)",
                          result.stderr)
        self.assertIsNotNone(match, result.stderr)
        diverged, kept = int(match.group(1)), int(match.group(2))
        self.assertGreaterEqual(diverged, 2)
        self.assertEqual(kept, diverged - 1)
        self.assertEqual(checkpoint_epoch(os.path.join(run, "checkpoint.safetensors")), kept)
        self.assertEqual(len(read_jsonl(os.path.join(run, "metrics.jsonl"))), kept)
        evaluated = json.loads(fbnet("eval", os.path.join(run, "model.safetensors"), "--json").stdout.splitlines()[0])
        self.assertEqual(evaluated["epoch"], kept)

    def test_a_finite_loss_that_explodes_stops_the_run(self):
        # At lr 100 the loss grows to ~1e4..1e18 and stays finite for a while.
        run = os.path.join(self.tmp, "exploded")
        result = fbnet("train", "--learning-rate", "100", "--epochs", "2", "--out", run, *SMALL, check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertRegex(result.stderr, r"training diverged: the loss is [0-9.e+]+ at epoch 1, batch \d+, more than "
                                        r"100 x ln\(10\) = 230.3 \(--divergence-factor\); no epoch finished")
        self.assertFalse(os.path.exists(os.path.join(run, "checkpoint.safetensors")))

    def test_grid_marks_a_diverged_run_failed(self):
        grid = os.path.join(self.tmp, "grid.toml")
        with open(grid, "w") as f:
            f.write('epochs = 1\ntrain-limit = 500\nvalidation-size = 100\nlearning-rate = [0.02, 1e9]\n')
        out = os.path.join(self.tmp, "grid")
        fbnet("grid", grid, "--out", out)
        with open(os.path.join(out, "grid.csv")) as f:
            rows = f.read().splitlines()[1:]
        self.assertEqual(sorted(",failed," in r for r in rows), [False, True])
        with open(os.path.join(out, "best.json")) as f:
            self.assertEqual(json.load(f)["ff"]["settings"]["learning-rate"], 0.02)

    def test_full_disk_leaves_the_last_checkpoint_and_resume_finishes(self):
        run = os.path.join(self.tmp, "full")
        fbnet("train", "--epochs", "1", "--out", run, *SMALL)
        before = {name: read_bytes(os.path.join(run, name)) for name in ("checkpoint.safetensors", "model.safetensors")}
        result = subprocess.run([FBNET, "train", "--resume", run, "--epochs", "2"], capture_output=True, text=True,
                                timeout=300, preexec_fn=limit_file_size(200_000))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("cannot write", result.stderr)
        self.assertIn("File too large", result.stderr)
        for name, data in before.items():
            with open(os.path.join(run, name), "rb") as f:
                self.assertEqual(f.read(), data, name)
        self.assertEqual([n for n in os.listdir(run) if ".tmp." in n], [])  # no temporary left behind
        fbnet("train", "--resume", run, "--epochs", "2")
        straight = os.path.join(self.tmp, "straight")
        fbnet("train", "--epochs", "2", "--out", straight, *SMALL)
        self.assertEqual(without_timings(read_jsonl(os.path.join(run, "metrics.jsonl"))),
                         without_timings(read_jsonl(os.path.join(straight, "metrics.jsonl"))))

    def test_tiny_tmpfs_gives_no_space_left(self):
        mount_point = os.path.join(self.tmp, "tiny")
        os.mkdir(mount_point)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount_point],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root in a container that allows it); "
                          "test_full_disk_leaves_the_last_checkpoint_and_resume_finishes covers a full disk")
        try:
            run = os.path.join(mount_point, "run")
            result = fbnet("train", "--epochs", "1", "--out", run, *SMALL, check=False)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("No space left on device", result.stderr)
            self.assertTrue(os.path.exists(os.path.join(run, "config.json")))
            self.assertEqual([n for n in os.listdir(run) if ".tmp." in n], [])
        finally:
            subprocess.run(["umount", mount_point])

    def test_unwritable_folder_is_a_clear_error_and_changes_nothing(self):
        run = os.path.join(self.tmp, "run")
        fbnet("train", "--epochs", "1", "--out", run, *SMALL)
        os.chmod(run, 0o555)
        before = {name: read_bytes(os.path.join(run, name)) for name in os.listdir(run)}
        as_user = []
        if os.geteuid() == 0:  # root writes anywhere: run fbnet as nobody instead
            as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        result = subprocess.run([*as_user, FBNET, "train", "--resume", run, "--epochs", "2"], capture_output=True,
                                text=True, timeout=300)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("cannot write", result.stderr)
        self.assertIn("Permission denied", result.stderr)
        self.assertEqual({name: read_bytes(os.path.join(run, name)) for name in os.listdir(run)}, before)
        result = subprocess.run([*as_user, FBNET, "train", "--out", os.path.join(run, "inner"), *SMALL],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("cannot create run folder", result.stderr)

    def test_same_config_and_seed_give_bit_identical_results(self):
        runs = [os.path.join(self.tmp, name) for name in ("a", "b")]
        for run in runs:
            fbnet("train", "--model", "fb", "--epochs", "2", "--seed", "7", "--out", run, *SMALL)
        first, second = (without_timings(read_jsonl(os.path.join(run, "metrics.jsonl"))) for run in runs)
        self.assertEqual(first, second)
        self.assertEqual(safetensors_data(os.path.join(runs[0], "model.safetensors")),
                         safetensors_data(os.path.join(runs[1], "model.safetensors")))
        with open(os.path.join(runs[0], "config.json")) as f:
            run = json.load(f)
        environment = run["environment"]
        for key in ("fbnet", "compiler", "blas", "engine", "threads"):
            self.assertTrue(environment[key], key)
        # The default engine and threads: oneDNN where built with it (FBNET_ENGINE overrides), one thread per usable core.
        self.assertEqual(environment["engine"], run["config"]["engine"])
        default_engine = re.search(r"product engine: (\w+)", fbnet("--version").stdout).group(1)
        self.assertEqual(environment["engine"], default_engine)
        self.assertEqual(environment["threads"], len(os.sched_getaffinity(0)))


def write_npy_dataset(folder, image_dtype="uint8", channels=None, train=300, test=90, labels_dtype="int64"):
    """A small dataset in the npy layout: 8x8 images in 3 classes, each class a bright band of rows over noise.
    Float images are the same pixels as ToTensor gives them (u / 255, float32), which fbnet reads back exactly."""
    import numpy as np
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    for split, count in (("train", train), ("test", test)):
        labels = rng.integers(0, 3, count).astype(labels_dtype)
        images = rng.integers(0, 60, (count, 8, 8)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label:2 * label + 3, :] = 255
        if channels is not None:
            images = np.repeat(images[:, None], channels, axis=1)  # [N, C, H, W]
        if image_dtype != "uint8":
            images = images.astype(image_dtype) / np.array(255, dtype=image_dtype)
        np.save(os.path.join(folder, f"{split}-images.npy"), images)
        np.save(os.path.join(folder, f"{split}-labels.npy"), labels)


def read_predictions_csv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


class NpyDataAndPredict(unittest.TestCase):
    """The user's own data from .npy files, trained on and predicted, and per-sample predictions on a split or on
    a .npy of images."""
    NPY_SMALL = ["--validation-size", "50", "--progress", "never"]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-npy-")
        cls.data = os.path.join(cls.tmp, "uint8")
        write_npy_dataset(cls.data)
        cls.run_dir = os.path.join(cls.tmp, "run")
        fbnet("train", "--dataset", "npy", "--data-dir", cls.data, "--epochs", "1", "--out", cls.run_dir, *cls.NPY_SMALL)
        cls.model = os.path.join(cls.run_dir, "model.safetensors")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_float_images_train_exactly_as_their_bytes(self):
        uint8_metrics = without_timings(read_jsonl(os.path.join(self.run_dir, "metrics.jsonl")))
        self.assertGreater(uint8_metrics[0]["test_accuracy"], 90)
        for dtype in ("float32", "float64"):
            with self.subTest(dtype=dtype):
                data, run = os.path.join(self.tmp, dtype), os.path.join(self.tmp, dtype + "-run")
                write_npy_dataset(data, dtype, labels_dtype="uint8")
                fbnet("train", "--dataset", "npy", "--data-dir", data, "--epochs", "1", "--out", run, *self.NPY_SMALL)
                self.assertEqual(without_timings(read_jsonl(os.path.join(run, "metrics.jsonl"))), uint8_metrics)

    def test_channel_first_images_and_info(self):
        data, run = os.path.join(self.tmp, "rgb"), os.path.join(self.tmp, "rgb-run")
        write_npy_dataset(data, "float32", channels=3)
        text = fbnet("info", "--dataset", "npy", "--data-dir", data).stdout
        self.assertIn("x: input [192]", text)  # 3 x 8 x 8
        self.assertIn("Linear(500, 3)", text)  # classes: 1 + the largest label
        fbnet("train", "--dataset", "npy", "--data-dir", data, "--epochs", "1", "--out", run, *self.NPY_SMALL)
        rows = [json.loads(line) for line in fbnet("eval", os.path.join(run, "model.safetensors"), "--json").stdout.splitlines()]
        self.assertEqual([(r["split"], r["count"]) for r in rows], [("validation", 50), ("test", 90), ("test", 90)])

    def test_predict_csv_agrees_with_eval(self):
        out = os.path.join(self.tmp, "test.csv")
        fbnet("predict", self.model, "--out", out)
        header, rows = read_predictions_csv(out)
        self.assertEqual(header, ["index", "label", "prediction", "0", "1", "2"])
        self.assertEqual([int(r[0]) for r in rows], list(range(90)))
        for row in rows:
            probabilities = [float(p) for p in row[3:]]
            self.assertAlmostEqual(sum(probabilities), 1.0, places=5)
            self.assertEqual(int(row[2]), probabilities.index(max(probabilities)))
        (test_row,) = [json.loads(line) for line in fbnet("eval", self.model, "--split", "test", "--json").stdout.splitlines()
                       if json.loads(line)["noise_scale"] == 0]
        accuracy = 100 * sum(r[1] == r[2] for r in rows) / len(rows)
        self.assertAlmostEqual(accuracy, test_row["accuracy"], places=9)
        # The other splits, in the run's own sizes.
        for split, count in (("validation", 50), ("train", 250), ("noisy-test", 90)):
            with self.subTest(split=split):
                fbnet("predict", self.model, "--split", split, "--out", out)
                self.assertEqual(len(read_predictions_csv(out)[1]), count)

    def test_images_from_npy_predict_as_the_test_split(self):
        import numpy as np
        split_csv, images_csv = os.path.join(self.tmp, "split.csv"), os.path.join(self.tmp, "images.csv")
        fbnet("predict", self.model, "--split", "test", "--out", split_csv)
        fbnet("predict", self.model, "--images", os.path.join(self.data, "test-images.npy"), "--out", images_csv)
        _, split_rows = read_predictions_csv(split_csv)
        header, image_rows = read_predictions_csv(images_csv)
        self.assertEqual(header, ["index", "prediction", "0", "1", "2"])  # no labels: the images came alone
        self.assertEqual([r[2:] for r in split_rows], [r[1:] for r in image_rows])
        # As float images in [0, 1], and as a float32 .npy of probabilities.
        floats = os.path.join(self.tmp, "test-images-float.npy")
        np.save(floats, np.load(os.path.join(self.data, "test-images.npy")).astype(np.float32) / np.float32(255))
        probabilities_path = os.path.join(self.tmp, "probabilities.npy")
        fbnet("predict", self.model, "--images", floats, "--out", probabilities_path)
        probabilities = np.load(probabilities_path)
        self.assertEqual((probabilities.dtype, probabilities.shape), (np.float32, (90, 3)))
        self.assertEqual(probabilities.argmax(1).tolist(), [int(r[2]) for r in split_rows])
        # The CSV's text reads back as the same float32 values.
        self.assertTrue(np.array_equal(probabilities, np.array([r[3:] for r in split_rows], dtype=np.float32)))

    def test_letter_datasets_name_their_classes(self):
        if not os.path.isdir(SHARED_PARTIAL_EMNIST):
            self.skipTest("../shared/data/emnist-letters-partial is absent")
        run = os.path.join(self.tmp, "letters")
        fbnet("train", "--dataset", "emnist-letters-partial", "--data-dir", SHARED_PARTIAL_EMNIST, "--epochs", "1",
              "--train-limit", "500", "--progress", "never", "--out", run)
        out = os.path.join(self.tmp, "letters.csv")
        fbnet("predict", os.path.join(run, "model.safetensors"), "--out", out)
        header, rows = read_predictions_csv(out)
        self.assertEqual(header[3:], [chr(ord("a") + c) for c in range(26)])
        self.assertTrue(all(r[1] in "abcdefghijklm" and r[2] in header[3:] for r in rows))

    def test_bad_data_and_predict_input(self):
        import numpy as np

        def expect_error(args, needle):
            result = fbnet(*args, check=False)
            self.assertEqual(result.returncode, 2, f"{args}: {result.stderr}")
            self.assertIn(needle, result.stderr, f"{args}")

        def bad_copy(name, edit):
            folder = os.path.join(self.tmp, name)
            shutil.copytree(self.data, folder)
            edit(folder)
            return folder
        train = ["train", "--dataset", "npy", "--epochs", "1", *self.NPY_SMALL, "--data-dir"]
        int16 = bad_copy("int16", lambda d: np.save(os.path.join(d, "train-images.npy"),
                                                    np.load(os.path.join(d, "train-images.npy")).astype(np.int16)))
        expect_error(train + [int16], os.path.join(int16, "train-images.npy") + ": images must be uint8 ('|u1') or float32")
        above = bad_copy("above", lambda d: np.save(os.path.join(d, "test-images.npy"),
                                                    np.full((90, 8, 8), 1.5, dtype=np.float32)))
        expect_error(train + [above], os.path.join(above, "test-images.npy") + ": value 1.5 at index [0, 0, 0] is outside [0, 1]")
        short = bad_copy("short", lambda d: np.save(os.path.join(d, "train-labels.npy"),
                                                    np.load(os.path.join(d, "train-labels.npy"))[:-1]))
        expect_error(train + [short], f"{os.path.join(short, 'train-images.npy')} holds 300 images but "
                                      f"{os.path.join(short, 'train-labels.npy')} holds 299 labels")
        missing = bad_copy("missing", lambda d: os.remove(os.path.join(d, "test-labels.npy")))
        expect_error(train + [missing], os.path.join(missing, "test-labels.npy") + ": no such file")
        expect_error(["info", "--dataset", "npy", "--data-dir", missing], os.path.join(missing, "test-labels.npy"))
        expect_error(["train", "--dataset", "npy"], "--data-dir: dataset 'npy' has no default folder")

        wrong_shape = os.path.join(self.tmp, "wrong-shape.npy")
        np.save(wrong_shape, np.zeros((4, 28, 28), dtype=np.uint8))
        expect_error(["predict", self.model, "--images", wrong_shape, "--out", os.path.join(self.tmp, "p.csv")],
                     f"--images: {wrong_shape} holds images of shape [28, 28] each; the net of {self.model} takes "
                     "images of shape [8, 8]")
        expect_error(["predict", self.model, "--images", "/nonexistent.npy", "--out", "p.csv"], "/nonexistent.npy: no such file")
        expect_error(["predict", self.model, "--images", wrong_shape, "--split", "test", "--out", "p.csv"], "--images")
        expect_error(["predict", self.model, "--split", "all", "--out", "p.csv"], "--split")
        expect_error(["predict", self.model], "--out")
        expect_error(["predict", self.model, "--noise-scale", "3", "--out", "p.csv"],
                     "--noise-scale: noise applies to --split noisy-test only")
        expect_error(["predict", self.model, "--out", os.path.join(self.tmp, "no-such-folder", "p.csv")], "no-such-folder")
        sequence_model = os.path.join(self.tmp, "sequence.safetensors")
        shutil.copy(self.model, sequence_model)

        def as_sequence_run(metadata):
            config = json.loads(metadata["config"])
            config["net"] = "fb"
            metadata["config"] = json.dumps(config)
        rewrite_metadata(sequence_model, as_sequence_run)
        expect_error(["predict", sequence_model, "--out", "p.csv"], "is from a sequence run (experiment 2), which fbnet "
                                                                     "predict does not take")
        self.assertFalse(os.path.exists("p.csv"))


def four_lists(count):
    """A grid file's text: four lists of `count` values, count**4 configurations."""
    return "".join(f"{key} = [{', '.join(fmt.format(i) for i in range(1, count + 1))}]\n"
                   for key, fmt in (("learning-rate", "{}e-4"), ("momentum", "0.{:03}"), ("seed", "{}"),
                                    ("batch-size", "{}")))


class GridSize(InTemporaryFolder):
    """A grid's size is counted from its lists before any configuration is built."""

    def test_a_grid_of_10_to_the_8_is_refused_at_once_in_little_memory(self):
        grid = os.path.join(self.tmp, "huge.toml")
        with open(grid, "w") as f:
            f.write(four_lists(100))
        stderr_path = os.path.join(self.tmp, "stderr")
        started = time.monotonic()
        # Spawned and waited for with wait4, for this child's own peak memory.
        pid = os.posix_spawn(FBNET, [FBNET, "grid", grid, "--out", os.path.join(self.tmp, "huge"), "--report-only"],
                             os.environ, file_actions=[(os.POSIX_SPAWN_OPEN, 2, stderr_path,
                                                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)])
        while True:
            finished, status, usage = os.wait4(pid, os.WNOHANG)
            if finished:
                break
            if time.monotonic() - started > 30:
                os.kill(pid, signal.SIGKILL)
                os.wait4(pid, 0)
                self.fail("fbnet grid took over 30 s on a grid of 10^8 configurations")
            time.sleep(0.01)
        seconds = time.monotonic() - started
        with open(stderr_path) as f:
            stderr = f.read()
        self.assertEqual(os.waitstatus_to_exitcode(status), 2, stderr)
        self.assertIn("the grid has 100000000 configurations (batch-size 100 x learning-rate 100 x momentum 100 x "
                      "seed 100 = 100000000), more than the 100000 that the default limit allows", stderr)
        self.assertLess(seconds, 5)
        self.assertLess(usage.ru_maxrss, 100 * 1024, "KiB at its peak")  # the old expansion grew to 9.5 GB
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "huge")))

    def test_the_limit_comes_from_the_flag_or_the_file(self):
        grid = os.path.join(self.tmp, "small.toml")
        with open(grid, "w") as f:
            f.write(four_lists(2))  # 16 configurations
        refused = fbnet("grid", grid, "--out", os.path.join(self.tmp, "g"), "--max-configurations", "15", check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("the grid has 16 configurations (batch-size 2 x learning-rate 2 x momentum 2 x seed 2 = 16), "
                      "more than the 15 that --max-configurations allows", refused.stderr)
        with open(grid, "a") as f:
            f.write("max-configurations = 10\n")
        refused = fbnet("grid", grid, "--out", os.path.join(self.tmp, "g"), "--report-only", check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("more than the 10 that the grid file's max-configurations allows", refused.stderr)
        fbnet("grid", grid, "--out", os.path.join(self.tmp, "g"), "--report-only", "--max-configurations", "16")
        with open(os.path.join(self.tmp, "g", "grid.csv")) as f:
            self.assertEqual(f.read().count(",pending,"), 16)


SLURM_GRID = """epochs = 2
model = "ff"
learning-rate = [0.01, 0.02, 0.04]
momentum = [0.5, 0.7]

[slurm]
partition = "long-cpu"
account = "proj_0042"
time = "4:00:00"
sbatch = ["--qos=normal", "--comment=from the file"]
"""


class SlurmScripts(InTemporaryFolder):
    """fbnet grid --slurm writes the job scripts; a stand-in sbatch shows what submit.sh submits (a real Slurm
    runs them in tests/cluster/test_slurm.py)."""

    def setUp(self):
        super().setUp()
        self.grid = os.path.join(self.tmp, "study.toml")
        with open(self.grid, "w") as f:
            f.write(SLURM_GRID)
        self.out = os.path.join(self.tmp, "out")

    def read(self, name):
        with open(os.path.join(self.out, "slurm", name)) as f:
            return f.read()

    def test_scripts_from_the_file_and_the_flags(self):
        result = fbnet("grid", self.grid, "--out", self.out, "--slurm", "--time", "1-12", "--cpus-per-task", "2",
                       "--sbatch=--mail-type=END", "--report-epoch", "best")
        submit = os.path.join(self.out, "slurm", "submit.sh")
        self.assertIn(f"submit both with:\n  sh '{submit}'\n", result.stdout)
        array, report = self.read("grid.sbatch"), self.read("report.sbatch")
        # 6 runs, 2 processes of 1 thread per task: 3 tasks; the file's options, --time from the flag, the file's
        # sbatch lines then the flag's, as given.
        for line in ("#SBATCH --array=1-3", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=long-cpu",
                     "#SBATCH --account=proj_0042", "#SBATCH --time=1-12", "#SBATCH --requeue",
                     "#SBATCH --qos=normal\n#SBATCH --comment=from the file\n#SBATCH --mail-type=END",
                     f"#SBATCH --output={self.out}/slurm/logs/grid-%A_%a.out",
                     f"exec '{FBNET}' grid '{self.grid}' --out '{self.out}' --report-epoch best --shard "
                     '"$SLURM_ARRAY_TASK_ID/3" --jobs 2 --threads-per-job 1\n'):
            self.assertIn(line, array)
        self.assertNotIn("4:00:00", array)
        for line in ("#SBATCH --cpus-per-task=1", "#SBATCH --partition=long-cpu", "#SBATCH --time=1-12",
                     f"exec '{FBNET}' grid '{self.grid}' --out '{self.out}' --report-epoch best --report-only\n"):
            self.assertIn(line, report)
        self.assertNotIn("--array", report)
        self.assertTrue(os.path.isdir(os.path.join(self.out, "slurm", "logs")))  # sbatch does not create it
        for name in ("grid.sbatch", "report.sbatch", "submit.sh"):
            subprocess.run(["bash", "-n", os.path.join(self.out, "slurm", name)], check=True)
        # Run outside Slurm, the array script says how to submit it.
        alone = subprocess.run(["bash", os.path.join(self.out, "slurm", "grid.sbatch")], capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"})
        self.assertNotEqual(alone.returncode, 0)
        self.assertIn("one task of a Slurm array: submit it with", alone.stderr)

        # submit.sh against a stand-in sbatch that logs its arguments: the report job waits for the array (afterany).
        bin_folder = os.path.join(self.tmp, "bin")
        os.mkdir(bin_folder)
        with open(os.path.join(bin_folder, "sbatch"), "w") as f:
            f.write('#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls"\n'
                    'n=$(wc -l < "$(dirname "$0")/calls")\necho "$((100 + n));cluster"\n')
        os.chmod(os.path.join(bin_folder, "sbatch"), 0o755)
        submitted = subprocess.run(["sh", submit], capture_output=True, text=True, check=True,
                                   env={**os.environ, "PATH": bin_folder + os.pathsep + os.environ["PATH"]})
        with open(os.path.join(bin_folder, "calls")) as f:
            calls = f.read().splitlines()
        self.assertEqual(calls, [f"--parsable {self.out}/slurm/grid.sbatch",
                                 f"--parsable --dependency=afterany:101 {self.out}/slurm/report.sbatch"])
        self.assertIn("submitted array job 101 (3 tasks) and report job 102", submitted.stdout)

    def test_default_array_and_bad_values_named(self):
        fbnet("grid", self.grid, "--out", self.out, "--slurm")
        self.assertIn("#SBATCH --array=1-6\n", self.read("grid.sbatch"))  # one run per task by default
        cases = [(["--time", "90min"], "--time: '90min' is not a Slurm time limit"),
                 (["--array-size", "7"], "--array-size: 7 tasks for a grid of 6 distinct configurations would leave 1 "
                                         "with nothing to train; give at most 6"),
                 (["--array-size", "0"], "--array-size: expected a whole number of at least 1, got 0"),
                 (["--cpus-per-task", "1", "--jobs", "2"], "--jobs: 2 processes of 1 thread(s) each need 2 CPUs, but "
                                                           "each task has 1 (--cpus-per-task)"),
                 (["--partition", "long cpu"], "--partition: 'long cpu' is not a Slurm partition name"),
                 (["--mem", "4GB"], "--mem: '4GB' is not a Slurm memory size"),
                 (["--sbatch=qos=long"], "--sbatch: 'qos=long' is not an sbatch option"),
                 (["--shard", "1/2"], "--shard: with --slurm each array task gets its shard from the script"),
                 (["--report-only"], "--report-only: with --slurm the report job runs it after the array")]
        for args, needle in cases:
            with self.subTest(args=args):
                result = fbnet("grid", self.grid, "--out", self.out, "--slurm", *args, check=False)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(needle, result.stderr)
        result = fbnet("grid", self.grid, "--out", self.out + " 2", "--slurm", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"--out: '{self.out} 2' holds white space, which an #SBATCH --output line cannot carry",
                      result.stderr)
        result = fbnet("grid", self.grid, "--out", self.out, "--partition", "x", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--partition: a Slurm option; add --slurm to write the job scripts", result.stderr)
        with open(self.grid, "a") as f:
            f.write('partiton = "x"\n')
        result = fbnet("grid", self.grid, "--out", self.out, "--slurm", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn(f"{self.grid}: [slurm] partiton: not a Slurm option of fbnet grid; expected one of array-size",
                      result.stderr)


class BadInput(InTemporaryFolder):
    """Each case: exit status 2 and a message naming what was wrong."""

    def expect_error(self, args, needle):
        result = fbnet(*args, check=False)
        self.assertEqual(result.returncode, 2, f"{args}: {result.stderr}")
        self.assertIn(needle, result.stderr, f"{args}")
        self.assertNotIn("terminate called", result.stderr)

    def test_bad_flags_and_values(self):
        cases = [
            (["train", "--learning_rate", "0.1"], "--learning_rate"),
            (["train", "--no-such-flag"], "--no-such-flag"),
            (["frobnicate"], "frobnicate"),
            (["train", "--dataset", "cifar10"], "unknown dataset 'cifar10'"),
            (["train", "--learning-rate", "0"], "--learning-rate"),
            (["train", "--learning-rate", "-0.5"], "--learning-rate"),
            (["train", "--batch-size", "0"], "--batch-size"),
            (["train", "--batch-size", "-64"], "--batch-size"),
            (["train", "--epochs", "0"], "--epochs"),
            (["train", "--epochs", "-1"], "--epochs"),
            (["train", "--model", "fb", "--feedback-alpha", "1.5"], "--feedback-alpha"),
            (["train", "--model", "fb", "--feedback-alpha", "-0.2"], "--feedback-alpha"),
            (["train", "--epochs", "three"], "expected an integer"),
            (["train", "--dataset", "mnist"], "--data-dir"),
            (["train", "--data-dir", "/nonexistent"], "/nonexistent"),
            (["train", "--config", "/nonexistent.toml"], "/nonexistent.toml"),
            (["eval", "/nonexistent.safetensors"], "/nonexistent.safetensors"),
            (["train", "--resume", "/nonexistent"], "not a run folder"),
            (["sequence"], "--ff-model"),
            (["sequence", "--net", "lstm", "--noisy-positions", "4,7"], "--noisy-positions"),
            (["sequence", "--net", "gru"], "--net"),
            (["sequence", "--net", "fb", "--ff-model", "/nonexistent.safetensors"], "/nonexistent.safetensors"),
            (["show-feedback", "/nonexistent"], "not a sequence run folder"),
            (["reproduce", "figure1", "--seeds", "0"], "--seeds"),
            (["train", "--gradient-accumulation", "sum"], "--gradient-accumulation"),
            (["sequence", "--net", "lstm", "--validation-sequences", "-1"], "--validation-sequences"),
            (["reproduce", "figure1", "--variants", "all"], "--variants"),
            (["reproduce", "figure1", "--sweep-learning-rates", "0.01,0"], "--sweep-learning-rates"),
            (["reproduce", "figure1", "--sweep-learning-rates", "0.1,1e-1"], "0.1 is given twice"),
            (["reproduce", "figure1", "--variants", "sgd", "--validation-sequences", "0"], "--validation-sequences"),
            # An unknown flag gets the closest known flag of its command.
            (["train", "--epoch", "3"], "--epoch: did you mean --epochs?"),
            (["reproduce", "controls", "--seed", "3"], "--seed: did you mean --seeds?"),
            # Feedback that could never fire (one step) is refused, not trained as dead weights.
            (["train", "--feedback", "h1:x"], "--steps: feedback fires from the second pass on"),
            (["train", "--model", "fb", "--untied", "layers.1"], "--untied: layers.1 does not run at step 0"),
            (["train", "--model", "fb-untied", "--frozen", "layers.0.step1"], "--frozen: 'layers.0.step1' is not a node"),
            (["reproduce", "controls", "--noise-scale", "2.5"], "--noise-scale"),
            (["reproduce", "conv", "--occlusion-patches", "3"], "--occlusion-patches: the runs' own occluded test set"),
            (["reproduce", "conv", "--occlusion-levels", "0,4"], "--occlusion-levels: patch counts must be at least 1"),
            (["reproduce", "controls", "--hyperparameters", "sweep", "--sweep-learning-rates", ""], "--sweep-learning-rates"),
            (["grid", "/nonexistent.toml", "--shard", "0/4"], "1-based"),
            # Memory is estimated before anything large is allocated.
            (["train", "--model", "custom", "--feedback", "h1:x", "--steps", "20000", "--memory-limit", "100000"],
             "--memory-limit: this run needs about 216"),
            (["reproduce", "tabel1"], "unknown command 'tabel1' for fbnet reproduce; expected table1, controls, figure1, "
                                      "conv (did you mean table1?)"),
            (["sequence", "--net", "fb", "--length", "1"], "--length: the feedback net's feedback reaches position 2"),
            (["train", "--model", "fb", "--memory-limit", "10"], "more than the 10.0 MiB --memory-limit allows"),
            # Optimiser settings the chosen optimiser or schedule would ignore are refused.
            (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum: SGD's setting, which --optimizer adam"),
            (["train", "--adam-beta2", "0.99"], "--adam-beta2: Adam's setting, which --optimizer sgd does not use"),
            (["train", "--lr-gamma", "0.5"], "--lr-gamma: a setting of --lr-schedule step"),
            (["train", "--nesterov", "true", "--momentum", "0"], "--nesterov: Nesterov momentum needs --momentum > 0"),
            (["train", "--nesterov", "yes"], "--nesterov: expected true or false, got 'yes'"),
            (["train", "--optimizer", "rmsprop"], "--optimizer"),
            (["train", "--warmup-epochs", "30"], "--warmup-epochs: must be in 0..epochs-1 (29)"),
            (["train", "--early-stopping", "2", "--validation-size", "0"], "--early-stopping: needs validation images"),
            (["sequence", "--net", "lstm", "--early-stopping", "2"], "--early-stopping: experiment 1's runs only"),
            (["train", "--engine", "mkl"], "--engine: 'mkl' is not one of: openblas, onednn"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                self.expect_error(args, needle)
        # A bad FBNET_ENGINE is named like a bad flag, whatever the command (--version included).
        for args in (["--version"], ["train", "--epochs", "1"]):
            result = subprocess.run([FBNET, *args], capture_output=True, text=True, timeout=60,
                                    env={**os.environ, "FBNET_ENGINE": "mkl"})
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("environment variable FBNET_ENGINE: 'mkl' is not one of: openblas, onednn", result.stderr)

    def test_version_names_fbnet_compiler_and_blas(self):
        text = fbnet("--version").stdout
        self.assertRegex(text, r"^fbnet \d+\.\d+\.\d+")
        self.assertIn("compiler: ", text)
        self.assertIn("BLAS: ", text)
        self.assertRegex(text, r"product engine: (onednn \(oneDNN \d+\.\d+\.\d+|openblas)")

    def test_bad_data_files(self):
        images = os.path.join(self.tmp, "train-images-idx3-ubyte.gz")
        labels = os.path.join(self.tmp, "train-labels-idx1-ubyte.gz")
        header = struct.pack(">IIII", 2051, 10, 28, 28)
        with gzip.open(images, "wb") as f:
            f.write(header + bytes(10 * 784))
        with gzip.open(labels, "wb") as f:
            f.write(struct.pack(">II", 2049, 9) + bytes(9))
        self.expect_error(["train", "--dataset", "mnist", "--data-dir", self.tmp], "9 labels")
        with open(images, "wb") as f:
            f.write(header + bytes(10 * 784))  # not gzip
        self.expect_error(["train", "--dataset", "mnist", "--data-dir", self.tmp], "not a gzip file")
        with gzip.open(images, "wb") as f:
            f.write(struct.pack(">IIII", 2049, 10, 28, 28) + bytes(10 * 784))
        self.expect_error(["train", "--dataset", "mnist", "--data-dir", self.tmp], "wrong magic number")
        data = gzip.compress(header + bytes(range(256)) * 31)
        with open(images, "wb") as f:
            f.write(data[: len(data) // 2])
        self.expect_error(["train", "--dataset", "mnist", "--data-dir", self.tmp], "truncated")

    def test_bad_checkpoint_and_config_files(self):
        garbage = os.path.join(self.tmp, "garbage.safetensors")
        with open(garbage, "wb") as f:
            f.write(b"\x00" * 3)
        self.expect_error(["eval", garbage], "not a safetensors file")
        config = os.path.join(self.tmp, "c.json")
        with open(config, "w") as f:
            json.dump({"learning_rate": 0.1}, f)
        self.expect_error(["train", "--config", config], "unknown setting 'learning_rate'")

    def test_help_documents_every_flag_with_its_default(self):
        text = fbnet("train", "--help").stdout
        for flag, default in [("--learning-rate", "0.02"), ("--batch-size", "128"), ("--feedback-alpha", "0.3"),
                              ("--noise-scale", "2"), ("--epochs", "30"), ("--dataset", "fashion-mnist")]:
            self.assertIn(flag, text)
            line = next(l for l in text.splitlines() if l.strip().startswith(flag + " "))
            self.assertIn(default, line, line)


def main():
    global FBNET
    parser = argparse.ArgumentParser()
    parser.add_argument("--fbnet", required=True)
    args, rest = parser.parse_known_args()
    FBNET = os.path.abspath(args.fbnet)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
