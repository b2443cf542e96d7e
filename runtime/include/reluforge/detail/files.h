// Files written so that nothing is lost or half-written, and temporary files nobody else can
// plant: for the generator's outputs, the tuning database, the JIT's disk cache and its objects.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace reluforge::detail {

// Writes bytes to a new temporary file beside path (mkstemp: a fresh name, O_EXCL), then renames
// it over path: readers see the old file or the new one, never a part. The temporary file is
// named ".<name>.tmp.XXXXXX" and flock'ed while it is written (see remove_stale_temporaries).
// Returns "" on success, else what failed (the temporary file is removed).
std::string write_file_atomically(const std::filesystem::path &path, std::string_view bytes, mode_t mode = 0644);
// The same, throwing Error(bad_argument) with what failed.
void write_file_atomically_or_throw(const std::filesystem::path &path, std::string_view bytes, mode_t mode = 0644);

// The directory for temporary files: $TMPDIR if set, else /tmp. Throws Error(bad_argument) when
// it is not a directory.
std::filesystem::path temp_dir();

// A temporary file or directory of this process, created fresh (mkstemp/mkdtemp: mode 0600/0700,
// never an existing path) under temp_dir() or a given directory, and removed with this object.
// It holds an flock on the path while it lives, so a cleaner can tell it from the leftover of a
// killed process (remove_stale_temporaries).
class TempPath {
public:
    static TempPath file(std::string_view prefix, std::string_view suffix = "");
    static TempPath directory(std::string_view prefix, const std::filesystem::path &under = {});
    TempPath(TempPath &&other) noexcept : path_(std::move(other.path_)), lock_fd_(other.lock_fd_) {
        other.path_.clear();
        other.lock_fd_ = -1;
    }
    TempPath &operator=(TempPath &&) = delete;
    ~TempPath();
    const std::filesystem::path &path() const { return path_; }

private:
    TempPath(std::filesystem::path p, int lock_fd) : path_(std::move(p)), lock_fd_(lock_fd) {}
    std::filesystem::path path_;
    int lock_fd_ = -1;
};

// A file that lives only in memory (memfd) but has a path other code can open and write, as
// Halide's compile does: a killed process leaves nothing behind. Throws Error(bad_argument) when
// the kernel offers no memfd.
class MemoryFile {
public:
    explicit MemoryFile(const char *name);
    MemoryFile(const MemoryFile &) = delete;
    MemoryFile &operator=(const MemoryFile &) = delete;
    ~MemoryFile();
    std::string path() const;  // /proc/self/fd/N
    std::string contents() const;

private:
    int fd_;
};

// Removes the leftovers of killed processes among dir's entries whose names start with prefix and
// contain infix: entries of this user, untouched for min_age, that no live process holds an flock
// on (TempPath, write_file_atomically). A live writer's temporary is never removed. Returns how
// many were removed.
int remove_stale_temporaries(const std::filesystem::path &dir, std::string_view prefix, std::string_view infix,
                             std::chrono::seconds min_age);

// Makes sure dir is a directory only this user can change: it is created (mode 0700, with any
// missing parents) if absent; it must be owned by this user and not writable by group or others,
// and every directory above it owned by this user or root and writable by others only when
// sticky (as /tmp), so nobody else can replace it. Returns its real path in *real and "" when it
// is, else why not.
std::string private_directory_problem(const std::filesystem::path &dir, std::filesystem::path *real);

// Why a file opened as fd is not to be trusted as this user's own: not a regular file, owned by
// another user, or writable by group or others; "" when it is.
std::string untrusted_file_problem(int fd);

// An exclusive lock for read-modify-write of path by several processes: flock on "<path>.lock"
// (created 0600, never followed through a link), held until destruction and released by the
// kernel if the process dies. Throws Error(bad_argument) naming the lock file when it cannot be
// opened.
class FileLock {
public:
    explicit FileLock(const std::filesystem::path &path);
    FileLock(const FileLock &) = delete;
    FileLock &operator=(const FileLock &) = delete;
    ~FileLock();

private:
    int fd_;
};

// The whole file; "" for a file that cannot be read.
std::string read_file(const std::filesystem::path &path);

}  // namespace reluforge::detail
