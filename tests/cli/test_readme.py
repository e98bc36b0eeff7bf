#!/usr/bin/python3
"""The README's commands, run as typed: every `build/fbnet ...` line of its ```sh
blocks runs, in README order, as a real subprocess from a temporary folder
that holds a `build/fbnet` link to the binary under test and a `configs` link
to the repository's, so that later commands find what earlier ones made
(`runs/fb/model.safetensors`, `--resume runs/fb`). The test fails, naming
the command, its exit status and the end of its stderr, if any of them errors.

So that the whole README runs in a few minutes on 2 cores, the test gives the
commands that train small limits (LIMITS: one epoch, a few thousand images or
a few hundred sequences, one seed; a value the command sets itself is
replaced, since fbnet refuses a flag given twice), points `fbnet grid` at a
reduced copy of its grid file (one value per axis, one epoch), and replaces
cluster-only values (`$SLURM_ARRAY_TASK_ID`, `/shared/grid`). A command it
does not know how to limit fails the test before anything runs, rather than
running for an hour; each command also has a timeout and all of them a budget.

Not run: `scripts/run` (the hour-long main job) and `scripts/test` (CI runs it:
it runs this test), and the commands of SKIP, whose data this machine lacks.
The README's example that writes .npy files from Fashion-MNIST (a shell
heredoc) runs first, since the "Using fbnet" block already trains on its
folder.

usage: /usr/bin/python3 tests/cli/test_readme.py --fbnet build/fbnet
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import test_cli  # its main() parses --fbnet, as for test_sequences.py

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(REPOSITORY, "README.md")
FASHION = "/usr/share/datasets/fashion-mnist"

# The set-up commands, not run here: CI runs scripts/test itself, and scripts/run is the main job (about an hour).
SET_UP_COMMANDS = {"scripts/run", "scripts/test"}

# README commands whose data this machine lacks, each with the reason; keep it short.
SKIP = {
    "build/fbnet reproduce table1 --dataset emnist-letters --data-dir DIR":
        "needs the official EMNIST letters files; DIR is a placeholder for their folder",
}

# The settings each kind of command gets, replacing the README's values. Commands absent here and from
# TRAINS_NOTHING fail the test: a new README command must say here how to keep it short.
TRAIN_LIMITS = {"--epochs": "1", "--train-limit": "2000", "--validation-size": "500", "--progress": "never"}
SEQUENCE_LIMITS = {"--epochs": "1", "--train-sequences": "300", "--test-sequences": "100",
                   "--validation-sequences": "100", "--progress": "never"}
LIMITS = {
    "train": TRAIN_LIMITS,
    # Resumed runs only get more epochs than the first run's one (the rest is the run's own config).
    "train --resume": {"--epochs": "2", "--progress": "never"},
    "sequence": SEQUENCE_LIMITS,
    "sequence --resume": {"--epochs": "2", "--progress": "never"},
    # The report's hyperparameters rather than its 120-run grid: `fbnet grid` below runs a grid.
    "reproduce table1": {"--seeds": "1", "--epochs": "1", "--train-limit": "1000", "--validation-size": "500",
                         "--hyperparameters": "report", "--progress": "never"},
    "reproduce controls": {"--seeds": "1", "--epochs": "1", "--train-limit": "1000", "--validation-size": "500",
                           "--progress": "never"},
    "reproduce figure1": {"--seeds": "1", "--ff-epochs": "1", "--epochs": "1", "--lstm-epochs": "1",
                          "--train-sequences": "300", "--test-sequences": "100", "--validation-sequences": "100",
                          "--sweep-learning-rates": "0.001,0.03"},
    "grid": {},  # limited by the reduced grid file (reduced_grid)
}
# Sweeps of a few rates instead of seven.
SWEEP_LIMITS = {"--sweep-learning-rates": "0.01,0.02"}
TRAINS_NOTHING = {"info", "eval", "predict", "show-feedback"}

# Replacements of values that exist only on a cluster: (README token, function of the work folder).
CLUSTER_VALUES = [("$SLURM_ARRAY_TASK_ID", lambda work: "1"),
                  ("/shared/grid", lambda work: os.path.join(work, "cluster-grid"))]

COMMAND_TIMEOUT_SECONDS = 300
TOTAL_BUDGET_SECONDS = 480


def readme_blocks(text, language):
    """The bodies of the README's ```LANGUAGE fenced blocks, as lists of lines."""
    return [body.splitlines() for body in re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)]


def readme_commands(text):
    """(kind, command) in README order: kind "fbnet" with the argument list, "shell" with a heredoc snippet's
    text (run by bash), "set-up" with the line, or "unknown" with the line."""
    commands = []
    for lines in readme_blocks(text, "sh"):
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            while line.rstrip().endswith("\\") and i < len(lines):  # continued lines
                line = line.rstrip()[:-1] + " " + lines[i]
                i += 1
            heredoc = re.search(r"<<-?\s*'?(\w+)'?", line)
            if heredoc:  # the snippet runs as typed, up to its terminator
                end = lines.index(heredoc.group(1), i)
                commands.append(("shell", "\n".join([line, *lines[i:end + 1]]) + "\n"))
                i = end + 1
                continue
            tokens = shlex.split(line, comments=True)  # without a trailing `# comment`
            if not tokens:
                continue
            if tokens[0] == "build/fbnet":
                commands.append(("fbnet", tokens))
            elif tokens[0] in SET_UP_COMMANDS:
                commands.append(("set-up", line))
            else:
                commands.append(("unknown", line))
    return commands


def command_kind(args):
    """The LIMITS key of an fbnet argument list (args without build/fbnet)."""
    if "--help" in args or "-h" in args:
        return "help"
    kind = " ".join(args[:2]) if args[0] == "reproduce" else args[0]
    if "--resume" in args:
        kind += " --resume"
    return kind


def with_settings(args, settings):
    """args with each flag of settings set to its value: replaced where args gives it, appended otherwise."""
    args = list(args)
    for flag, value in settings.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        elif any(a.startswith(flag + "=") for a in args):
            args[next(i for i, a in enumerate(args) if a.startswith(flag + "="))] = f"{flag}={value}"
        else:
            args += [flag, value]
    return args


def reduced_grid(text):
    """A grid file's text with one value per axis (sub-grids' `model` lists kept, so that every sub-grid and
    model still runs), one epoch on few images."""
    lines = ["train-limit = 1000", "validation-size = 500"]
    for line in text.splitlines():
        axis = re.match(r"^(\s*)([\w-]+)\s*=\s*\[([^\]]*)\]", line)
        if axis and axis.group(2) != "model":
            line = f"{axis.group(1)}{axis.group(2)} = [{axis.group(3).split(',')[0].strip()}]"
        line = re.sub(r"^epochs\s*=.*", "epochs = 1", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def limited(args, work):
    """The argument list the test runs for a README command (without build/fbnet), or raises if it does not
    know how to limit it."""
    args = list(args)
    for i, token in enumerate(args):
        for value, replacement in CLUSTER_VALUES:
            if value in token:
                args[i] = token.replace(value, replacement(work))
    kind = command_kind(args)
    if kind == "help" or kind in TRAINS_NOTHING:
        return args
    if kind not in LIMITS:
        raise AssertionError(f"the test does not know how to keep `fbnet {shlex.join(args)}` short: "
                             f"add its kind ({kind!r}) to LIMITS or TRAINS_NOTHING in {os.path.basename(__file__)}")
    settings = dict(LIMITS[kind])
    if "--warmup-epochs" in args:  # warmup needs epochs after it
        settings["--epochs"] = str(int(args[args.index("--warmup-epochs") + 1]) + 1)
    if kind == "reproduce controls" and "sweep" in args:
        settings.update(SWEEP_LIMITS)
    if kind == "grid":
        with open(os.path.join(work, args[1])) as f:
            text = f.read()
        args[1] = "reduced-" + os.path.basename(args[1])  # in the work folder, where commands run
        with open(os.path.join(work, args[1]), "w") as f:
            f.write(reduced_grid(text))
    return with_settings(args, settings)


@unittest.skipUnless(os.path.isdir(FASHION), "Debian's dataset-fashion-mnist is not installed")
class ReadmeCommands(unittest.TestCase):
    """The README's commands in its order, in one work folder, each with its limits."""

    def setUp(self):
        with open(README) as f:
            self.commands = readme_commands(f.read())
        self.work = tempfile.mkdtemp(prefix="fbnet-readme-")
        self.keep_work = False
        os.mkdir(os.path.join(self.work, "build"))
        os.symlink(test_cli.FBNET, os.path.join(self.work, "build", "fbnet"))
        # A link, not a copy: config files' relative paths (../../shared/data/...) are relative to their folder.
        os.symlink(os.path.join(REPOSITORY, "configs"), os.path.join(self.work, "configs"))

    def tearDown(self):
        if self.keep_work:  # what the failed command's predecessors made, to look at
            print(f"kept {self.work}", file=sys.stderr)
        else:
            shutil.rmtree(self.work)

    def run_command(self, argv, label, deadline, shell=False):
        started = time.monotonic()
        timeout = min(COMMAND_TIMEOUT_SECONDS, deadline - started)
        if timeout <= 0:
            self.keep_work = True
            self.fail(f"the README's commands took over {TOTAL_BUDGET_SECONDS} s; not run: {label}")
        try:
            result = subprocess.run(argv, cwd=self.work, capture_output=True, text=True, timeout=timeout, shell=shell,
                                    executable="/bin/bash" if shell else None)
        except subprocess.TimeoutExpired:
            self.keep_work = True
            self.fail(f"{label}\ntook over {timeout:.0f} s: a limit is missing (LIMITS) or too large")
        print(f"{time.monotonic() - started:6.1f} s  {label}", file=sys.stderr)
        if result.returncode != 0:
            self.keep_work = True
            self.fail(f"{label}\nexited {result.returncode}:\n{result.stderr[-2000:]}")

    def test_every_readme_command_runs(self):
        fbnet_commands = [c for kind, c in self.commands if kind == "fbnet"]
        self.assertGreater(len(fbnet_commands), 20, "the README's ```sh blocks gave too few commands")
        self.assertEqual([c for kind, c in self.commands if kind == "unknown"], [],
                         "README commands the test does not know: run or exclude them here")
        readme_lines = {shlex.join(c) for c in fbnet_commands}
        self.assertEqual([c for c in SKIP if c not in readme_lines], [], "SKIP names commands the README lacks")
        # Every command's limits first, so that one the test cannot keep short fails before anything runs.
        planned = [(c, None if shlex.join(c) in SKIP else limited(c[1:], self.work)) for c in fbnet_commands]
        for command, reason in SKIP.items():
            print(f"skipped: {command}  ({reason})", file=sys.stderr)

        deadline = time.monotonic() + TOTAL_BUDGET_SECONDS
        # The .npy example first: the "Using fbnet" block above it already trains on the folder it writes.
        for snippet in [c for kind, c in self.commands if kind == "shell"]:
            self.run_command(snippet, snippet.splitlines()[0], deadline, shell=True)
        for _, args in planned:
            if args is not None:  # None: skipped
                self.run_command(["build/fbnet", *args], "build/fbnet " + shlex.join(args), deadline)


class ReadmeParsing(unittest.TestCase):
    """How the test reads and limits commands, on text of its own."""

    def test_comments_quotes_continuations_and_heredocs(self):
        text = ("```sh\nbuild/fbnet train --model fb   # a comment\n"
                "build/fbnet train --feedback 'h2->h1,h1->x' \\\n    --out runs/x\n"
                "mkdir -p d && python3 - <<'EOF'\nprint(1)  # not a comment\nEOF\n"
                "scripts/run\n```\n```python\nignored\n```\n")
        self.assertEqual(readme_commands(text), [
            ("fbnet", ["build/fbnet", "train", "--model", "fb"]),
            ("fbnet", ["build/fbnet", "train", "--feedback", "h2->h1,h1->x", "--out", "runs/x"]),
            ("shell", "mkdir -p d && python3 - <<'EOF'\nprint(1)  # not a comment\nEOF\n"),
            ("set-up", "scripts/run")])

    def test_limits_replace_the_commands_own_values(self):
        work = "/w"
        self.assertEqual(limited(["train", "--epochs", "100", "--early-stopping", "5"], work),
                         ["train", "--epochs", "1", "--early-stopping", "5", "--train-limit", "2000",
                          "--validation-size", "500", "--progress", "never"])
        self.assertEqual(limited(["train", "--resume", "runs/fb", "--epochs", "40"], work),
                         ["train", "--resume", "runs/fb", "--epochs", "2", "--progress", "never"])
        self.assertEqual(limited(["train", "--warmup-epochs", "2", "--epochs=30"], work)[:4],
                         ["train", "--warmup-epochs", "2", "--epochs=3"])
        self.assertEqual(limited(["eval", "m.safetensors"], work), ["eval", "m.safetensors"])
        with tempfile.TemporaryDirectory() as grid_work:
            os.symlink(os.path.join(REPOSITORY, "configs"), os.path.join(grid_work, "configs"))
            self.assertEqual(limited(["grid", "configs/grid-table1.toml", "--out", "/shared/grid", "--shard",
                                      "$SLURM_ARRAY_TASK_ID/16"], grid_work),
                             ["grid", "reduced-grid-table1.toml", "--out",
                              os.path.join(grid_work, "cluster-grid"), "--shard", "1/16"])
        with self.assertRaisesRegex(AssertionError, "does not know how to keep"):
            limited(["new-subcommand", "--epochs", "30"], work)

    def test_reduced_grid_keeps_sub_grids_and_models(self):
        text = "epochs = 30\nlearning-rate = [0.005, 0.01]\n\n[[grid]]\nmodel = [\"ff\", \"ff-large\"]\n"
        self.assertEqual(reduced_grid(text), "train-limit = 1000\nvalidation-size = 500\nepochs = 1\n"
                                             "learning-rate = [0.005]\n\n[[grid]]\nmodel = [\"ff\", \"ff-large\"]\n")


if __name__ == "__main__":
    test_cli.main()
