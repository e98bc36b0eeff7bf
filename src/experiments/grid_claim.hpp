// One run, one trainer: a process that trains a grid run first claims it with
// flock(2) on RUN/claim.lock, and another process that finds the claim held
// moves on to another run. The lock belongs to the open file, which the
// trainer inherits (ChildJob::inherited_fd), so the claim lasts while either
// the grid process or its trainer lives, and the kernel drops it when both
// are gone: a killed grid, a cancelled Slurm task or a lost node leaves no
// stale claim behind (on a cluster, as far as its file system's locks reach:
// docs/CLUSTER.md).
#pragma once

#include <optional>
#include <string>

namespace fbnet {

class RunClaim {
 public:
  // Claims the run in `folder` (which must exist), or returns nothing when
  // another process holds it. Throws fbnet::Error naming the file when the
  // file system cannot lock it.
  static std::optional<RunClaim> try_claim(const std::string& folder);
  // Whether a live process holds the run in `folder` now; creates nothing.
  static bool is_held(const std::string& folder);

  RunClaim(RunClaim&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunClaim& operator=(RunClaim&& other) noexcept;
  RunClaim(const RunClaim&) = delete;
  RunClaim& operator=(const RunClaim&) = delete;
  ~RunClaim();

  // The locked file's descriptor (close-on-exec), for the trainer to inherit.
  int fd() const { return fd_; }

 private:
  explicit RunClaim(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace fbnet
