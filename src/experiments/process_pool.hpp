// Runs child processes, at most `parallel` at a time: the grid's workers.
// Children die with their parent (PR_SET_PDEATHSIG), so a grid killed by
// SIGKILL leaves no orphan writing into its run folders. Jobs come from a
// list, or from a source asked each time a slot is free, for callers that
// decide what to run next only then (the grid, which claims runs as it goes).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fbnet {

struct ChildJob {
  std::vector<std::string> argv;  // argv[0]: the program, a path or a name on PATH
  std::string log_path;           // stdout and stderr are appended here
  std::string working_dir;        // empty: the parent's
  int inherited_fd = -1;          // a close-on-exec descriptor the child keeps open (a run's claim), or -1
};

struct ChildResult {
  int exit_code = 0;  // meaningful when signal == 0
  int signal = 0;     // the signal that ended the child, or 0
};

// Starts jobs in order; calls on_done(index, result) as each one ends.
// Throws fbnet::Error when a child cannot be started.
void run_child_jobs(const std::vector<ChildJob>& jobs, int parallel,
                    const std::function<void(size_t, const ChildResult&)>& on_done);

// The next job to start, asked whenever a slot is free: a job, or nothing,
// with `later` set when a job may become ready later (the source is asked
// again when a child ends, or after a short pause) and left false when the
// source is exhausted.
using ChildJobSource = std::function<std::optional<ChildJob>(bool& later)>;

// Runs the source's jobs, at most `parallel` at a time, until it is exhausted
// and every child has ended; on_done(index, result) gets each job's place in
// the order they were started.
void run_child_jobs(const ChildJobSource& next_job, int parallel,
                    const std::function<void(size_t, const ChildResult&)>& on_done);

// The running program's own executable, to start workers of the same build.
std::string own_executable();

}  // namespace fbnet
