// fork/exec/waitpid with parent-death signals.
#include "experiments/process_pool.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace fbnet {
namespace {

// A child's last words when it cannot become its job, composed before fork: after it, the child may only make
// async-signal-safe calls, which formatting and strerror are not.
class StartFailure {
 public:
  explicit StartFailure(const ChildJob& job)
      : enter_(fmt::format("fbnet: cannot enter {} to run {}: ", job.working_dir, job.argv[0])),
        keep_claim_(fmt::format("fbnet: cannot keep the run's claim open for {}: ", job.argv[0])),
        run_(fmt::format("fbnet: cannot run {}: ", job.argv[0])) {
    for (int error : {ENOENT, EACCES, ENOTDIR, ENOEXEC, ETXTBSY, E2BIG, ENOMEM, ELOOP, ENAMETOOLONG, EBADF})
      reasons_.emplace_back(error, std::strerror(error));
  }

  // In the child: writes why to stderr (the log) and ends with the shell's codes: 127 when the program is not
  // found, 126 for any other failure.
  [[noreturn]] void cannot_enter(int error) const { report(enter_, error, 126); }
  [[noreturn]] void cannot_keep_claim(int error) const { report(keep_claim_, error, 126); }
  [[noreturn]] void cannot_run(int error) const { report(run_, error, error == ENOENT ? 127 : 126); }

 private:
  static void put(const char* text, size_t size) {
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, text, size);
  }
  [[noreturn]] void report(const std::string& what, int error, int status) const {
    put(what.data(), what.size());
    const auto known = std::find_if(reasons_.begin(), reasons_.end(), [&](const auto& r) { return r.first == error; });
    if (known != reasons_.end()) {
      put(known->second.data(), known->second.size());
    } else {  // "error N", the digits written by hand
      char digits[16];
      size_t at = sizeof digits;
      for (unsigned value = static_cast<unsigned>(error); at == sizeof digits || value != 0; value /= 10)
        digits[--at] = static_cast<char>('0' + value % 10);
      put("error ", 6);
      put(digits + at, sizeof digits - at);
    }
    put("\n", 1);
    ::_exit(status);
  }

  std::string enter_, keep_claim_, run_;
  std::vector<std::pair<int, std::string>> reasons_;  // errno, strerror
};

pid_t start_child(const ChildJob& job) {
  FBNET_CHECK(!job.argv.empty(), "a child job without a program (its log: {})", job.log_path);
  const StartFailure failure(job);
  const int log = ::open(job.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  FBNET_CHECK(log >= 0, "cannot open {}: {}", job.log_path, std::strerror(errno));
  std::vector<char*> argv;
  for (const std::string& arg : job.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // In the child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    if (!job.working_dir.empty() && ::chdir(job.working_dir.c_str()) != 0) failure.cannot_enter(errno);
    // Kept across exec, so that what it holds (a run's flock claim) lasts as long as the child.
    if (job.inherited_fd >= 0 && ::fcntl(job.inherited_fd, F_SETFD, 0) != 0) failure.cannot_keep_claim(errno);
    ::execvp(argv[0], argv.data());  // a bare name is looked up on PATH
    failure.cannot_run(errno);
  }
  const int fork_error = errno;
  ::close(log);
  FBNET_CHECK(pid > 0, "cannot start {}: {}", job.argv[0], std::strerror(fork_error));
  return pid;
}

}  // namespace

void run_child_jobs(const std::vector<ChildJob>& jobs, int parallel,
                    const std::function<void(size_t, const ChildResult&)>& on_done) {
  size_t next = 0;
  run_child_jobs([&](bool&) { return next < jobs.size() ? std::optional<ChildJob>(jobs[next++]) : std::nullopt; },
                 parallel, on_done);
}

void run_child_jobs(const ChildJobSource& next_job, int parallel,
                    const std::function<void(size_t, const ChildResult&)>& on_done) {
  FBNET_CHECK(parallel >= 1, "--jobs: must be at least 1, got {}", parallel);
  // How often a source with jobs for later is asked again while no child ends.
  constexpr auto kPause = std::chrono::milliseconds(500);
  std::map<pid_t, size_t> running;
  size_t started = 0;
  while (true) {
    bool later = false;
    while (static_cast<int>(running.size()) < parallel) {
      later = false;
      std::optional<ChildJob> job = next_job(later);
      if (!job) break;
      running[start_child(*job)] = started++;
    }
    if (running.empty()) {
      if (!later) return;
      std::this_thread::sleep_for(kPause);
      continue;
    }
    // With a free slot and jobs for later, look again after a pause rather than wait for a child.
    const bool poll = later && static_cast<int>(running.size()) < parallel;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, poll ? WNOHANG : 0);
    if (pid == 0) {
      std::this_thread::sleep_for(kPause);
      continue;
    }
    if (pid < 0) {
      FBNET_CHECK(errno == EINTR, "waitpid failed: {}", std::strerror(errno));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    ChildResult result;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    const size_t index = it->second;
    running.erase(it);
    on_done(index, result);
  }
}

std::string own_executable() {
  std::error_code error;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  FBNET_CHECK(!error, "cannot find the fbnet executable (/proc/self/exe): {}", error.message());
  return path.string();
}

}  // namespace fbnet
