// flock(2) claims on grid runs.
#include "experiments/grid_claim.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/error.hpp"
#include "formats/atomic_file.hpp"

namespace fbnet {
namespace {

// flock, retried when a signal interrupts it; true when locked, false when another open file holds a lock.
bool lock(int fd, int operation, const std::string& path) {
  while (::flock(fd, operation | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    const int error = errno;
    ::close(fd);
    fail("cannot lock {}: {}; fbnet grid claims each run with a file lock so that two processes never train one "
         "run, and needs a file system that supports flock(2) for --out (docs/CLUSTER.md)", path, std::strerror(error));
  }
  return true;
}

}  // namespace

std::optional<RunClaim> RunClaim::try_claim(const std::string& folder) {
  const std::string path = path_in(folder, "claim.lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  FBNET_CHECK(fd >= 0, "cannot open {}: {}", path, std::strerror(errno));
  if (!lock(fd, LOCK_EX, path)) {
    ::close(fd);
    return std::nullopt;
  }
  return RunClaim(fd);
}

bool RunClaim::is_held(const std::string& folder) {
  const std::string path = path_in(folder, "claim.lock");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // never claimed
  // A shared lock conflicts only with a claim; released at once by close.
  const bool free = lock(fd, LOCK_SH, path);
  ::close(fd);
  return !free;
}

RunClaim& RunClaim::operator=(RunClaim&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

RunClaim::~RunClaim() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace fbnet
