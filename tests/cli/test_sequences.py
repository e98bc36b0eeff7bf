#!/usr/bin/python3
"""End-to-end tests of experiment 2 through the fbnet binary, as real
subprocesses on real Fashion-MNIST: reproduce figure1 with both variants of
the feedback net (as the authors ran it, and SGD with a learning-rate sweep)
and the LSTM, show-feedback, and sequences of words on letter datasets.

usage: /usr/bin/python3 tests/cli/test_sequences.py --fbnet build/fbnet
"""
import json
import os
import shutil
import tempfile
import unittest

import test_cli
from test_cli import FASHION, SHARED_PARTIAL_EMNIST, fbnet, read_jsonl, safetensors_data, safetensors_header, write_fake_emnist


TINY_SEQUENCES = ["--train-sequences", "300", "--test-sequences", "100", "--validation-size", "1000"]


def read_csv(path):
    with open(path) as f:
        lines = f.read().splitlines()
    names = lines[0].split(",")
    return [dict(zip(names, line.split(","))) for line in lines[1:]]


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class Sequences(unittest.TestCase):
    """Experiment 2 end to end on Fashion-MNIST: reproduce figure1 (FF, FB as the authors ran it and with SGD,
    LSTM, over 2 seeds), show-feedback."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fbnet-seq-")
        cls.out = os.path.join(cls.tmp, "figure1")
        cls.args = ["reproduce", "figure1", "--seeds", "2", "--ff-epochs", "1", "--epochs", "2", "--lstm-epochs", "1",
                    "--learning-rate", "0.00001", "--sweep-learning-rates", "0.001,0.03", "--validation-sequences",
                    "100", *TINY_SEQUENCES, "--out", cls.out]
        cls.first = fbnet(*cls.args)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_table_figure_and_rerun(self):
        self.assertIn("Figure 1 on fashion-mnist", self.first.stdout)
        rows = read_csv(os.path.join(self.out, "figure1.csv"))
        self.assertEqual(len(rows), 2 * 3 * 3 * 5)  # variants x conditions x nets x positions
        self.assertEqual({(r["variant"], r["condition"], r["net"]) for r in rows},
                         {(v, c, n) for v in ("authors", "sgd") for c in ("normal", "noisy", "random")
                          for n in ("ff", "fb", "lstm")})
        for r in rows:
            self.assertEqual(r["seeds"], "2")
            self.assertTrue(0 <= float(r["accuracy_mean"]) <= 100)
        # The report's numbers stand beside the FF and FB rows.
        self.assertEqual([r["report_accuracy"] for r in rows if r["variant"] == "authors" and r["condition"] == "noisy"
                          and r["net"] == "fb"], ["90.8", "96.1", "95.9", "65.8", "73.5"])
        for variant in ("authors", "sgd"):
            for stem in (f"figure1-{variant}", f"figure1-{variant}-epochs"):
                for extension in ("png", "svg", "gp", "dat"):
                    name = f"{stem}.{extension}"
                    self.assertGreater(os.path.getsize(os.path.join(self.out, "figures", name)), 100, name)
        by_key = {(r["variant"], r["condition"], r["net"], r["position"]): r["accuracy_mean"] for r in rows}
        for variant in ("authors", "sgd"):
            for net in ("ff", "fb", "lstm"):
                # Normal and noisy share their samples: positions 1-3 are the same images.
                for position in ("1", "2", "3"):
                    self.assertEqual(by_key[(variant, "normal", net, position)], by_key[(variant, "noisy", net, position)])
        # FF and the LSTM are the same nets in both variants; FB is not.
        for net in ("ff", "lstm"):
            self.assertEqual(by_key[("authors", "noisy", net, "5")], by_key[("sgd", "noisy", net, "5")])
        with open(os.path.join(self.out, "figure1.csv")) as f:
            first_csv = f.read()
        again = fbnet(*self.args)  # everything finished: nothing retrained, the same table
        self.assertNotIn("sequence runs to train", again.stdout)
        with open(os.path.join(self.out, "figure1.csv")) as f:
            self.assertEqual(f.read(), first_csv)
        # One variant alone, from the same runs.
        authors_only = fbnet(*self.args, "--variants", "authors")
        self.assertNotIn("sequence runs to train", authors_only.stdout)
        self.assertEqual({r["variant"] for r in read_csv(os.path.join(self.out, "figure1.csv"))}, {"authors"})
        fbnet(*self.args)

    def test_paired_differences_and_epoch_curves(self):
        rows = read_csv(os.path.join(self.out, "figure1.csv"))
        mean = {(r["variant"], r["condition"], r["net"], r["position"]): float(r["accuracy_mean"]) for r in rows}
        paired = read_csv(os.path.join(self.out, "figure1-paired.csv"))
        self.assertEqual(len(paired), 2 * 3 * 5)
        for r in paired:
            key = (r["variant"], r["condition"])
            difference = mean[(*key, "fb", r["position"])] - mean[(*key, "ff", r["position"])]
            self.assertAlmostEqual(float(r["fb_minus_ff_mean"]), difference, places=3)
            self.assertLessEqual(float(r["ci95_low"]), float(r["fb_minus_ff_mean"]))
            self.assertGreaterEqual(float(r["ci95_high"]), float(r["fb_minus_ff_mean"]))
        epochs = read_csv(os.path.join(self.out, "figure1-epochs.csv"))
        # Per variant: 5 normal positions, 2 noisy ones and the last random one, over 2 epochs.
        self.assertEqual(len(epochs), 2 * (5 + 2 + 1) * 2)
        last = {(r["variant"], r["condition"], r["position"]): float(r["fb_accuracy_mean"]) for r in epochs
                if r["epoch"] == "2"}
        for (variant, condition, position), value in last.items():
            self.assertAlmostEqual(value, mean[(variant, condition, "fb", position)], places=3)

    def test_sweep_chooses_on_validation_and_the_variants_train_as_named(self):
        sweep = read_csv(os.path.join(self.out, "figure1-sweep.csv"))
        self.assertEqual([r["learning_rate"] for r in sweep], ["0.001", "0.03"])
        chosen = max(sweep, key=lambda r: float(r["validation_mean"]))["learning_rate"]
        sequences = os.path.join(self.out, "sequences")
        self.assertTrue(os.path.isfile(os.path.join(sequences, f"fb-sgd-lr{chosen}-seed1", "results.json")))
        other = "0.03" if chosen == "0.001" else "0.001"
        self.assertFalse(os.path.exists(os.path.join(sequences, f"fb-sgd-lr{other}-seed1")))
        with open(os.path.join(self.out, "figure1.md")) as f:
            self.assertIn(f"| {chosen} (chosen) |", f.read())
        for folder, accumulation, rate in ((f"fb-authors-seed1", "running-sum", 1e-05),
                                           (f"fb-sgd-lr{chosen}-seed1", "zeroed", float(chosen))):
            with open(os.path.join(sequences, folder, "config.json")) as f:
                config = json.load(f)["config"]
            self.assertEqual((config["gradient-accumulation"], config["learning-rate"]), (accumulation, rate))
        # Validation sequences are measured every epoch, and come from held-out training images.
        record = read_jsonl(os.path.join(sequences, "fb-authors-seed0", "metrics.jsonl"))[-1]
        self.assertEqual(sorted(record["positions"]), ["noisy", "normal", "random", "validation"])

    def test_a_sequence_run_applies_the_running_sum(self):
        with open(os.path.join(self.out, "sequences", "fb-authors-seed0", "config.json")) as f:
            ff_model = json.load(f)["config"]["ff-model"]
        losses = {}
        for accumulation in ("zeroed", "running-sum"):
            out = os.path.join(self.tmp, f"sequence-{accumulation}")
            fbnet("sequence", "--ff-model", ff_model, "--learning-rate", "0.001", "--epochs", "1",
                  "--gradient-accumulation", accumulation, *TINY_SEQUENCES, "--progress", "never", "--out", out)
            losses[accumulation] = read_jsonl(os.path.join(out, "metrics.jsonl"))[0]["train_loss"]
        self.assertNotEqual(losses["zeroed"], losses["running-sum"])

    def test_fb_run_keeps_the_ff_weights(self):
        fb = os.path.join(self.out, "sequences", "fb-authors-seed0")
        with open(os.path.join(fb, "config.json")) as f:
            config = json.load(f)
        ff_model = config["config"]["ff-model"]
        ff_header, fb_header = safetensors_header(ff_model), safetensors_header(os.path.join(fb, "model.safetensors"))
        ff_bytes, fb_bytes = safetensors_data(ff_model), safetensors_data(os.path.join(fb, "model.safetensors"))
        for name in ("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"):
            a, b = ff_header[name]["data_offsets"], fb_header[name]["data_offsets"]
            self.assertEqual(ff_bytes[a[0]:a[1]], fb_bytes[b[0]:b[1]], name)
        self.assertEqual(fb_header["feedback.0.weight"]["shape"], [784, 500])
        self.assertEqual(config["trained_parameters"], 784 * 500 + 784)
        self.assertEqual(len(config["allowed"]), 50)

    def test_show_feedback_draws_inputs_and_feedback(self):
        fb = os.path.join(self.out, "sequences", "fb-authors-seed0")
        result = fbnet("show-feedback", fb, "--count", "2", "--condition", "noisy")
        self.assertIn("feedback-noisy.png", result.stdout)
        stem = os.path.join(fb, "figures", "feedback-noisy")
        self.assertGreater(os.path.getsize(stem + ".png"), 1000)
        with open(stem + ".dat") as f:
            blocks = [b for b in f.read().split("\n\n\n") if b.strip()]
        self.assertEqual(len(blocks), 2 * 5 * 2)  # sequences x positions x (input, feedback)
        lstm = os.path.join(self.out, "sequences", "lstm-seed0")
        result = fbnet("show-feedback", lstm, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("has no feedback to show", result.stderr)

    def test_a_run_given_to_the_other_experiments_command_is_named(self):
        fb = os.path.join(self.out, "sequences", "fb-authors-seed0")
        cases = [(["eval", os.path.join(fb, "model.safetensors")], "is from a sequence run (experiment 2)"),
                 (["train", "--resume", fb], f"--resume: {fb} is a sequence run (experiment 2); continue it with "
                                             f"fbnet sequence --resume {fb}"),
                 (["sequence", "--resume", fb, "--out", fb + "-copy"], "--out: --resume continues the run in its own folder")]
        for args, needle in cases:
            with self.subTest(args=args):
                result = fbnet(*args, check=False)
                self.assertEqual(result.returncode, 2)
                self.assertIn(needle, result.stderr)

    def test_a_finished_run_is_not_overwritten(self):
        fb = os.path.join(self.out, "sequences", "fb-authors-seed0")
        with open(os.path.join(fb, "results.json")) as f:
            before = f.read()
        result = fbnet("sequence", "--net", "lstm", "--out", fb, *TINY_SEQUENCES, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("already holds a finished sequence run", result.stderr)
        with open(os.path.join(fb, "results.json")) as f:
            self.assertEqual(f.read(), before)

    def test_an_interrupted_run_resumes_and_trains_only_the_rest(self):
        lstm = ["sequence", "--net", "lstm", "--learning-rate", "0.05", "--momentum", "0.9", *TINY_SEQUENCES,
                "--progress", "never"]
        interrupted, straight = os.path.join(self.tmp, "lstm-interrupted"), os.path.join(self.tmp, "lstm-straight")
        fbnet(*lstm, "--epochs", "1", "--out", interrupted)
        os.remove(os.path.join(interrupted, "results.json"))  # as if killed after its checkpoint
        refused = fbnet(*lstm, "--epochs", "2", "--out", interrupted, check=False)
        self.assertEqual(refused.returncode, 2)
        self.assertIn("pass --resume", refused.stderr)
        resumed = fbnet("sequence", "--resume", interrupted, "--epochs", "2").stdout
        # The second process trained epoch 2 only.
        self.assertEqual([line.split("epoch")[1].split()[0] for line in resumed.splitlines() if " epoch " in line],
                         ["2/2"])
        fbnet(*lstm, "--epochs", "2", "--out", straight)
        metrics = [read_jsonl(os.path.join(folder, "metrics.jsonl")) for folder in (interrupted, straight)]
        self.assertEqual(test_cli.without_timings(metrics[0]), test_cli.without_timings(metrics[1]))
        results = []
        for folder in (interrupted, straight):
            with open(os.path.join(folder, "results.json")) as f:
                results.append(json.load(f)["conditions"])
        self.assertEqual(results[0], results[1])
        self.assertEqual(safetensors_data(os.path.join(interrupted, "checkpoint.safetensors")),
                         safetensors_data(os.path.join(straight, "checkpoint.safetensors")))


class SequencesOfWords(unittest.TestCase):
    """Letter datasets take their allowed sequences from a word list."""

    def test_words_from_the_list_and_missing_letters(self):
        tmp = tempfile.mkdtemp(prefix="fbnet-words-")
        try:
            write_fake_emnist(tmp)
            words = os.path.join(tmp, "words")
            with open(words, "w") as f:
                f.write("Apple\nbread\nzebra\nit's\nhi\n")
            out = os.path.join(tmp, "lstm")
            fbnet("sequence", "--net", "lstm", "--dataset", "emnist-letters", "--data-dir", tmp, "--validation-size",
                  "60", "--words", words, "--allowed", "6", "--train-sequences", "40", "--test-sequences", "20",
                  "--epochs", "1", "--progress", "never", "--out", out)
            with open(os.path.join(out, "config.json")) as f:
                allowed = json.load(f)["allowed"]
            self.assertEqual(len(allowed), 6)
            self.assertTrue(set(allowed) <= {"bread", "zebra"}, allowed)
            with open(os.path.join(out, "results.json")) as f:
                self.assertEqual(len(json.load(f)["conditions"]["normal"]["lstm"]["accuracy"]), 5)
        finally:
            shutil.rmtree(tmp)

    def test_partial_emnist_refuses_words_with_letters_it_lacks(self):
        shared = SHARED_PARTIAL_EMNIST
        if not os.path.isdir(shared):
            self.skipTest("../shared/data/emnist-letters-partial is absent")
        if not os.path.exists("/usr/share/dict/words"):
            self.skipTest("/usr/share/dict/words is absent (Debian's wamerican)")
        result = fbnet("sequence", "--net", "lstm", "--dataset", "emnist-letters-partial", "--data-dir", shared,
                       "--validation-size", "1000", "--out", os.path.join(tempfile.gettempdir(), "fbnet-never"),
                       check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--missing-letters filter", result.stderr)


if __name__ == "__main__":
    test_cli.main()
