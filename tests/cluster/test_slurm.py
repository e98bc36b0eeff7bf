#!/usr/bin/python3
"""`fbnet grid --slurm` against a real Slurm: a single-node cluster started on
this machine for the test, from Debian's slurmctld, slurmd and munge.

Everything the cluster needs lives in a temporary folder: a generated
slurm.conf (process tracking from /proc, no cgroups, SlurmUser root, this host
as its only node with its real CPUs and memory, ports of its own), a munge key
and munged's socket. munged, slurmctld and slurmd run in the foreground as
children of this test, which stops each of them by its process id when it
ends, however it ends.

On that cluster, with the grid GRID (4 runs of 3 epochs on 20,000 training
images) and the scripts `fbnet grid --slurm` writes (an array of 2 tasks, one
shard each, and a report job after them):
  1. submitted as printed, the report job's report (grid.csv, and each run's
     metrics and checkpoint tensors) equals a local `fbnet grid` of the file,
     and the options given (partition, time, an sbatch option) reached Slurm;
  2. submitted again into a fresh folder, array task 1 is cancelled (scancel)
     in the middle of a run and task 2 is requeued (scontrol requeue) in the
     middle of one: task 2 starts again and resumes its run, the report job
     reports task 1's runs as missing, and submitting again resumes the
     cancelled run and ends with the same report as the local grid: nothing
     lost, nothing trained twice from the start.

Skipped (exit status 77, which CTest reports as skipped), saying why, where
Slurm cannot run here: not root (the daemons run jobs as root), the packages
or Fashion-MNIST missing. A cluster that is installed but does not come up is
a failure, with the daemons' logs.

usage: /usr/bin/python3 tests/cluster/test_slurm.py --fbnet build/fbnet
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

FASHION = "/usr/share/datasets/fashion-mnist"
SKIP = 77
PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "scancel", "scontrol", "sinfo", "squeue"]
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

EPOCHS = 3
GRID = f"""epochs = {EPOCHS}
train-limit = 20000
validation-size = 1000
model = "ff"
learning-rate = [0.01, 0.04]
momentum = [0.5, 0.7]
"""
PARTITION = "fbnet-test"
ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
         "DEADLINE")
WAIT_SECONDS = 240  # for any one job or state; the whole test takes under a minute here


def why_slurm_cannot_run():
    """The reason this machine cannot start the cluster, or None."""
    if not sys.platform.startswith("linux"):
        return "Slurm's daemons run on Linux only"
    missing = [p for p in PROGRAMS if shutil.which(p, path=SEARCH_PATH) is None]
    if missing:
        return (f"{', '.join(missing)} not installed (Debian packages slurmctld, slurmd, slurm-client and munge; "
                "scripts/setup --with-tests installs them)")
    if os.geteuid() != 0:
        return "not root: this single-node cluster runs its daemons and jobs as root (SlurmUser=root)"
    if not os.path.isdir(FASHION):
        return "Debian's dataset-fashion-mnist is not installed"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as error:
        return f"({error})"


def wait_until(predicate, what, timeout=WAIT_SECONDS, interval=0.05):
    """predicate()'s first true value, or AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"waited {timeout} s for {what}")


class Cluster:
    """munged, slurmctld and slurmd on this host, configured in `folder`; a context manager that stops them."""

    def __init__(self, folder):
        self.folder = folder
        self.daemons = []  # (name, Popen), in start order
        self.submitted = []  # job ids, cancelled before the daemons stop
        self.node = socket.gethostname().split(".")[0]
        self.env = {**os.environ, "SLURM_CONF": self.path("slurm.conf"), "PATH": SEARCH_PATH}

    def path(self, name):
        return os.path.join(self.folder, name)

    def node_line(self):
        """This host as `slurmd -C` sees it (CPUs, sockets, cores, memory), renamed and addressed on loopback."""
        found = subprocess.run([shutil.which("slurmd", path=SEARCH_PATH), "-C"], capture_output=True, text=True)
        line = found.stdout.splitlines()[0] if found.returncode == 0 and found.stdout else ""
        hardware = " ".join(w for w in line.split() if re.match(
            r"(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=\d+$", w))
        return f"NodeName={self.node} NodeAddr=127.0.0.1 {hardware or f'CPUs={os.cpu_count()}'} State=UNKNOWN"

    def write_config(self):
        for name in ("state", "spool"):
            os.makedirs(self.path(name))
        with open(self.path("munge.key"), "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(self.path("munge.key"), 0o600)
        open(self.path("plugstack.conf"), "w").close()
        config = f"""# A single-node cluster for fbnet's test: nothing outside {self.folder} is read or written.
ClusterName=fbnettest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.path("munge.socket")}
StateSaveLocation={self.path("state")}
SlurmdSpoolDir={self.path("spool")}
SlurmctldPidFile={self.path("slurmctld.pid")}
SlurmdPidFile={self.path("slurmd.pid")}
SlurmctldLogFile={self.path("slurmctld.log")}
SlurmdLogFile={self.path("slurmd.log")}
PlugStackConfig={self.path("plugstack.conf")}
# Processes tracked through /proc, no task binding: no cgroups needed.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Several jobs share the node, one CPU each.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=600
{self.node_line()}
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.path("slurm.conf"), "w") as f:
            f.write(config)

    def start(self, name, argv):
        log = open(self.path(f"{name}.out"), "w")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.daemons.append((name, process))
        return process

    def logs(self):
        return "\n".join(f"--- {name}:\n{tail(self.path(name))}" for name in
                         ("munged.out", "slurmctld.out", "slurmctld.log", "slurmd.out", "slurmd.log"))

    def __enter__(self):
        try:
            self.write_config()
            program = lambda name: shutil.which(name, path=SEARCH_PATH)
            self.start("munged", [program("munged"), "--foreground", f"--socket={self.path('munge.socket')}",
                                  f"--key-file={self.path('munge.key')}", f"--pid-file={self.path('munged.pid')}",
                                  f"--seed-file={self.path('munged.seed')}", f"--log-file={self.path('munged.log')}"])
            wait_until(lambda: os.path.exists(self.path("munge.socket")) or self.died(), "munged's socket", 20)
            self.start("slurmctld", [program("slurmctld"), "-D", "-f", self.path("slurm.conf")])
            self.start("slurmd", [program("slurmd"), "-D", "-f", self.path("slurm.conf"), "-N", self.node])
            wait_until(lambda: self.died() or "idle" in self.slurm("sinfo", "-h", "-o", "%T", check=False).stdout,
                       "the node to be idle", 60, 0.25)
            dead = self.died()
            if dead:
                raise AssertionError(f"{dead} exited with status {dict(self.daemons)[dead].returncode}")
            return self
        except BaseException as error:
            self.stop()
            raise AssertionError(f"the cluster did not come up: {error}\n{self.logs()}") from error

    def __exit__(self, *exception):
        self.stop()

    def died(self):
        """The name of a daemon that has exited, or None."""
        return next((name for name, process in self.daemons if process.poll() is not None), None)

    def stop(self):
        # Jobs first, so that no job step outlives the daemons; then each daemon by its process id, newest first.
        if self.submitted and not self.died():
            self.slurm("scancel", *self.submitted, check=False)
            try:
                wait_until(lambda: not self.slurm("squeue", "-h", check=False).stdout.strip(), "jobs to end", 30, 0.2)
            except AssertionError:
                print("warning: jobs still queued while the cluster stops", file=sys.stderr)
        for name, process in reversed(self.daemons):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.daemons = []

    def slurm(self, *argv, check=True):
        result = subprocess.run([shutil.which(argv[0], path=SEARCH_PATH), *argv[1:]], capture_output=True, text=True,
                                env=self.env, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"{shlex.join(argv)} exited {result.returncode}: {result.stderr}")
        return result

    def job(self, job_id):
        """scontrol's fields of one job (an array task as ID_K), or {} once Slurm has forgotten it."""
        result = self.slurm("scontrol", "show", "job", "-o", job_id, check=False)
        if result.returncode != 0 or not result.stdout.strip():
            return {}
        return dict(re.findall(r"(\w+)=(\S*)", result.stdout.splitlines()[0]))

    def wait_for_job(self, job_id):
        """The job's fields once it has ended."""
        def ended():
            job = self.job(job_id)
            return job if job.get("JobState") in ENDED else None
        return wait_until(ended, f"job {job_id} to end", interval=0.2)

    def submit(self, command):
        """Runs the submit command `fbnet grid --slurm` printed; returns (array job id, report job id)."""
        result = subprocess.run(shlex.split(command), capture_output=True, text=True, env=self.env, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"{command} exited {result.returncode}: {result.stderr}")
        found = re.search(r"submitted array job (\d+) \(2 tasks\) and report job (\d+)", result.stdout)
        if not found:
            raise AssertionError(f"{command} printed: {result.stdout}")
        self.submitted += found.groups()
        return found.groups()


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def grid_state(out):
    """Per run: metrics without timings, and the checkpoint's tensor bytes."""
    state = {}
    for run in sorted(os.listdir(os.path.join(out, "runs"))):
        folder = os.path.join(out, "runs", run)
        metrics = [{k: v for k, v in r.items() if not k.endswith(("seconds", "_per_second"))}
                   for r in read_jsonl(os.path.join(folder, "metrics.jsonl"))]
        with open(os.path.join(folder, "checkpoint.safetensors"), "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            f.seek(8 + size)
            state[run] = (metrics, f.read())
    return state


def read(path):
    with open(path) as f:
        return f.read()


class Test:
    def __init__(self, fbnet, folder):
        self.fbnet = fbnet
        self.folder = folder
        self.grid = os.path.join(folder, "grid.toml")
        with open(self.grid, "w") as f:
            f.write(GRID)
        self.local = os.path.join(folder, "local")

    def run_fbnet(self, *args):
        result = subprocess.run([self.fbnet, *args], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise AssertionError(f"fbnet {shlex.join(args)} exited {result.returncode}: {result.stderr}")
        return result.stdout

    def scripts(self, out, *flags):
        """Writes the grid's Slurm scripts into `out`; returns the submit command fbnet printed."""
        printed = self.run_fbnet("grid", self.grid, "--out", out, "--slurm", "--array-size", "2", "--partition",
                                 PARTITION, *flags)
        return re.search(r"submit both with:\n  (.+)\n", printed).group(1)

    def check_same_as_local(self, out, what):
        if read(os.path.join(out, "grid.csv")) != read(os.path.join(self.local, "grid.csv")):
            raise AssertionError(f"{what}: grid.csv differs from the local grid's:\n"
                                 f"{read(os.path.join(out, 'grid.csv'))}\nlocal:\n"
                                 f"{read(os.path.join(self.local, 'grid.csv'))}")
        if grid_state(out) != grid_state(self.local):
            raise AssertionError(f"{what}: the runs' metrics or checkpoint tensors differ from the local grid's")

    def submitted_as_printed(self, cluster):
        out = os.path.join(self.folder, "submitted")
        command = self.scripts(out, "--time", "10:00", "--sbatch=--comment=fbnet-slurm-test")
        array, report = cluster.submit(command)
        job = cluster.job(array)
        expected = {"Partition": PARTITION, "TimeLimit": "00:10:00", "Comment": "fbnet-slurm-test", "Requeue": "1"}
        if {key: job.get(key) for key in expected} != expected:
            raise AssertionError(f"the options given did not reach Slurm: {job}")
        merged = cluster.wait_for_job(report)
        if (merged["JobState"], merged.get("ExitCode")) != ("COMPLETED", "0:0"):
            raise AssertionError(f"the report job ended {merged}:\n{tail(merged.get('StdOut', ''))}")
        for task in ("1", "2"):
            if cluster.job(f"{array}_{task}").get("JobState") != "COMPLETED":
                raise AssertionError(f"array task {task}: {cluster.job(f'{array}_{task}')}")
        self.check_same_as_local(out, "submitted as printed")
        print("  report job's report equals the local grid's; partition, time limit and sbatch option reached Slurm")

    def cancelled_requeued_and_resubmitted(self, cluster):
        out = os.path.join(self.folder, "interrupted")
        command = self.scripts(out)
        array, report = cluster.submit(command)

        def run_in_progress(task, array_job):
            """The run array task `task` is training with some but not all epochs done, or None."""
            log = os.path.join(out, "slurm", "logs", f"grid-{array_job}_{task}.out")
            if not os.path.exists(log):
                return None
            text = read(log)
            for run in re.findall(r"^grid: (?:training|resuming) (\S+)", text, re.M)[::-1]:
                if re.search(rf"^grid: \[\d+/\d+\] {re.escape(run)} ", text, re.M):
                    continue  # ended
                # A checkpoint to resume from (metrics.jsonl is written just before it), and at least one whole
                # epoch still to train, so that the run cannot finish before the cancel or requeue lands.
                folder = os.path.join(out, "runs", run)
                if not os.path.exists(os.path.join(folder, "checkpoint.safetensors")):
                    return None
                return run if len(read_jsonl(os.path.join(folder, "metrics.jsonl"))) <= EPOCHS - 2 else None
            return None

        cancelled = wait_until(lambda: run_in_progress("1", array), "array task 1 to be in the middle of a run")
        cluster.slurm("scancel", f"{array}_1")
        requeued = wait_until(lambda: run_in_progress("2", array), "array task 2 to be in the middle of a run")
        cluster.slurm("scontrol", "requeue", f"{array}_2")
        # A requeued job waits two minutes before it may start again (its begin time); this test need not, but it
        # must wait out the second of the requeue: slurmd revokes the job's credential then, to the second, and
        # kills a relaunch whose new credential is dated the same second ("Job credential revoked", seen once).
        wait_until(lambda: cluster.job(f"{array}_2").get("Reason") == "BeginTime", "task 2 to be requeued", 60, 0.1)
        cluster.slurm("scontrol", "update", f"JobId={array}_2", "StartTime=now+2")
        merged = cluster.wait_for_job(report)
        task1, task2 = cluster.job(f"{array}_1"), cluster.job(f"{array}_2")
        if (task1.get("JobState"), task2.get("JobState"), task2.get("Restarts")) != ("CANCELLED", "COMPLETED", "1"):
            raise AssertionError(f"task 1: {task1}\ntask 2: {task2}")
        if (merged["JobState"], merged.get("ExitCode")) != ("COMPLETED", "0:0"):
            raise AssertionError(f"the report job after the cancelled task ended {merged}")
        log2 = read(os.path.join(out, "slurm", "logs", f"grid-{array}_2.out"))
        if not re.search(rf"^grid: resuming {re.escape(requeued)} after epoch [1-9]", log2, re.M):
            raise AssertionError(f"requeued task 2 did not resume {requeued}:\n{log2}")
        rows = {line.split(",")[0]: line.split(",") for line in read(os.path.join(out, "grid.csv")).splitlines()}
        status = rows["id"].index("status")
        if rows[cancelled][status] != "partial" or rows[requeued][status] != "finished":
            raise AssertionError(f"after the cancel, the report says:\n{read(os.path.join(out, 'grid.csv'))}")
        if "0 not yet run or partial" in read(os.path.join(out, "grid.md")):
            raise AssertionError("the report after the cancelled task claims nothing is missing")

        array2, report2 = cluster.submit(command)
        merged = cluster.wait_for_job(report2)
        if (merged["JobState"], merged.get("ExitCode")) != ("COMPLETED", "0:0"):
            raise AssertionError(f"the report job after resubmitting ended {merged}")
        log1 = read(os.path.join(out, "slurm", "logs", f"grid-{array2}_1.out"))
        if not re.search(rf"^grid: resuming {re.escape(cancelled)} after epoch [1-9]", log1, re.M):
            raise AssertionError(f"the resubmitted task 1 did not resume {cancelled}:\n{log1}")
        log2 = read(os.path.join(out, "slurm", "logs", f"grid-{array2}_2.out"))
        if re.search(r"^grid: (training|resuming)", log2, re.M):
            raise AssertionError(f"the resubmitted task 2 trained runs its first submission finished:\n{log2}")
        # Each run's log: one `fbnet train` per start; only the interrupted runs were started twice, by resuming.
        for run in os.listdir(os.path.join(out, "runs")):
            starts = read(os.path.join(out, "runs", run, "log.txt")).count("run folder: ")
            if starts != (2 if run in (cancelled, requeued) else 1):
                raise AssertionError(f"{run} was started {starts} times")
        self.check_same_as_local(out, "cancelled, requeued and resubmitted")
        print(f"  task 1 cancelled during {cancelled}, task 2 requeued during {requeued}: task 2 resumed its run, the "
              "report job reported the cancelled runs missing, and submitting again resumed them; the report "
              "equals the local grid's")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fbnet", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (it is kept on failure)")
    args = parser.parse_args()
    reason = why_slurm_cannot_run()
    if reason:
        print(f"SKIPPED: Slurm cannot run on this machine: {reason}")
        return SKIP
    started = time.monotonic()
    folder = tempfile.mkdtemp(prefix="fbnet-slurm-")
    os.chmod(folder, 0o755)  # munged refuses a socket folder that others cannot enter
    keep = args.keep
    try:
        test = Test(os.path.abspath(args.fbnet), folder)
        test.run_fbnet("grid", test.grid, "--out", test.local, "--jobs", "2")
        print(f"local grid: {time.monotonic() - started:.0f} s")
        cluster_started = time.monotonic()
        with Cluster(os.path.join(folder, "cluster")) as cluster:
            print(f"cluster up (munged, slurmctld, slurmd): {time.monotonic() - cluster_started:.0f} s")
            try:
                phase = time.monotonic()
                test.submitted_as_printed(cluster)
                print(f"submitted as printed: {time.monotonic() - phase:.0f} s")
                phase = time.monotonic()
                test.cancelled_requeued_and_resubmitted(cluster)
                print(f"cancelled, requeued, resubmitted: {time.monotonic() - phase:.0f} s")
            except BaseException:
                print(f"squeue:\n{cluster.slurm('squeue', check=False).stdout}\n{cluster.logs()}", file=sys.stderr)
                raise
        print(f"PASSED in {time.monotonic() - started:.0f} s (every daemon stopped)")
        return 0
    except BaseException:
        keep = True
        raise
    finally:
        if keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
