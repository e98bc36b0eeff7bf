// Runs child processes, at most `parallel` at a time: the grid's workers.
// Children die with their parent (PR_SET_PDEATHSIG), so a grid killed by
// SIGKILL leaves no orphan writing into its run folders.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace fbnet {

struct ChildJob {
  std::vector<std::string> argv;  // argv[0]: the program, a path or a name on PATH
  std::string log_path;           // stdout and stderr are appended here
  std::string working_dir;        // empty: the parent's
};

struct ChildResult {
  int exit_code = 0;  // meaningful when signal == 0
  int signal = 0;     // the signal that ended the child, or 0
};

// Starts jobs in order; calls on_done(index, result) as each one ends.
// Throws fbnet::Error when a child cannot be started.
void run_child_jobs(const std::vector<ChildJob>& jobs, int parallel,
                    const std::function<void(size_t, const ChildResult&)>& on_done);

// The running program's own executable, to start workers of the same build.
std::string own_executable();

}  // namespace fbnet
