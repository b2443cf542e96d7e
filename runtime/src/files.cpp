#include "reluforge/detail/files.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <climits>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace reluforge::detail {
namespace fs = std::filesystem;

namespace {
std::string errno_text() { return std::strerror(errno); }

// mkstemp/mkdtemp want a writable template ending in XXXXXX.
std::vector<char> name_template(const fs::path &dir, std::string_view prefix) {
    const std::string t = (dir / (std::string(prefix) + "XXXXXX")).string();
    return std::vector<char>(t.c_str(), t.c_str() + t.size() + 1);
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}
}  // namespace

std::string write_file_atomically(const fs::path &path, std::string_view bytes, mode_t mode) {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    auto name = name_template(dir, "." + path.filename().string() + ".tmp.");
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return fmt::format("cannot create a temporary file in {}: {}", dir.string(), errno_text());
    ::flock(fd, LOCK_EX);  // marks it live for remove_stale_temporaries
    const std::string tmp = name.data();
    std::string problem;
    if (!write_all(fd, bytes)) problem = fmt::format("cannot write {}: {}", tmp, errno_text());
    else if (::fchmod(fd, mode) != 0) problem = fmt::format("cannot set the mode of {}: {}", tmp, errno_text());
    if (::close(fd) != 0 && problem.empty()) problem = fmt::format("cannot write {}: {}", tmp, errno_text());
    if (problem.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) {
        problem = fmt::format("cannot rename {} to {}: {}", tmp, path.string(), errno_text());
    }
    if (!problem.empty()) ::unlink(tmp.c_str());
    return problem;
}

void write_file_atomically_or_throw(const fs::path &path, std::string_view bytes, mode_t mode) {
    if (std::string problem = write_file_atomically(path, bytes, mode); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, problem);
    }
}

fs::path temp_dir() {
    const char *env = std::getenv("TMPDIR");
    const fs::path dir = env && *env ? fs::path(env) : fs::path("/tmp");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("the directory for temporary files, {}{}, is not a directory", dir.string(),
                                env && *env ? " ($TMPDIR)" : ""));
    }
    return dir;
}

TempPath TempPath::file(std::string_view prefix, std::string_view suffix) {
    const fs::path dir = temp_dir();
    auto name = name_template(dir, prefix);
    name.insert(name.end() - 1, suffix.begin(), suffix.end());
    const int fd = ::mkstemps(name.data(), static_cast<int>(suffix.size()));
    if (fd < 0) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("cannot create a temporary file in {}: {}", dir.string(), errno_text()));
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::flock(fd, LOCK_EX);
    return TempPath(name.data(), fd);
}

TempPath TempPath::directory(std::string_view prefix, const fs::path &under) {
    const fs::path dir = under.empty() ? temp_dir() : under;
    auto name = name_template(dir, prefix);
    if (!::mkdtemp(name.data())) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("cannot create a temporary directory in {}: {}", dir.string(), errno_text()));
    }
    const int fd = ::open(name.data(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) ::flock(fd, LOCK_EX);
    return TempPath(name.data(), fd);
}

TempPath::~TempPath() {
    if (!path_.empty()) {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

MemoryFile::MemoryFile(const char *name) : fd_(::memfd_create(name, MFD_CLOEXEC)) {
    if (fd_ < 0) throw Error(ErrorCode::bad_argument, fmt::format("cannot create an in-memory file: {}", errno_text()));
}

MemoryFile::~MemoryFile() { ::close(fd_); }

std::string MemoryFile::path() const { return fmt::format("/proc/self/fd/{}", fd_); }

std::string MemoryFile::contents() const {
    std::string out;
    char buffer[1 << 16];
    for (off_t at = 0;;) {
        const ssize_t n = ::pread(fd_, buffer, sizeof buffer, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buffer, size_t(n));
        at += n;
    }
    return out;
}

int remove_stale_temporaries(const fs::path &dir, std::string_view prefix, std::string_view infix,
                             std::chrono::seconds min_age) {
    int removed = 0;
    std::error_code ec;
    const auto now = fs::file_time_type::clock::now();
    for (const auto &e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.compare(0, prefix.size(), prefix) != 0 || name.find(infix, prefix.size()) == std::string::npos) continue;
        struct stat st {};
        if (::lstat(e.path().c_str(), &st) != 0 || st.st_uid != ::geteuid()) continue;
        std::error_code time_ec;
        const auto written = S_ISLNK(st.st_mode) ? now - min_age : fs::last_write_time(e.path(), time_ec);
        if (time_ec || now - written < min_age) continue;
        if (!S_ISLNK(st.st_mode)) {
            // A live writer holds an flock on it; O_NONBLOCK so a FIFO cannot hang us.
            const int fd = ::open(e.path().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) continue;
            const bool live = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
            ::close(fd);
            if (live) continue;
        }
        std::error_code rm;
        if (fs::remove_all(e.path(), rm) > 0 && !rm) removed++;
    }
    return removed;
}

std::string untrusted_file_problem(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return fmt::format("cannot stat: {}", errno_text());
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    if (st.st_uid != ::geteuid()) return fmt::format("owned by uid {}, not by this user (uid {})", st.st_uid, ::geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH)) return fmt::format("writable by group or others (mode {:o})", st.st_mode & 07777);
    return "";
}

namespace {
// Creates dir and its missing parents with mode 0700 (whatever the umask).
std::string create_private(const fs::path &dir) {
    fs::path at;
    for (const auto &part : dir) {
        at /= part;
        struct stat st {};
        if (::stat(at.c_str(), &st) == 0) continue;
        if (errno != ENOENT) return fmt::format("cannot stat {}: {}", at.string(), errno_text());
        if (::mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
            return fmt::format("cannot create {}: {}", at.string(), errno_text());
        }
    }
    return "";
}
}  // namespace

std::string private_directory_problem(const fs::path &dir, fs::path *real) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(dir, ec).lexically_normal();
    if (ec) return fmt::format("cannot resolve {}: {}", dir.string(), ec.message());
    if (std::string problem = create_private(absolute); !problem.empty()) return problem;
    char resolved[PATH_MAX];
    if (!::realpath(absolute.c_str(), resolved)) return fmt::format("cannot resolve {}: {}", dir.string(), errno_text());
    const fs::path path(resolved);
    const uid_t me = ::geteuid();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fmt::format("cannot stat {}: {}", path.string(), errno_text());
    if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a directory", path.string());
    if (st.st_uid != me) {
        return fmt::format("{} is owned by uid {}, not by this user (uid {})", path.string(), st.st_uid, me);
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return fmt::format("{} is writable by group or others (mode {:o})", path.string(), st.st_mode & 07777);
    }
    // Whoever can rename entries of a directory above can swap this one for their own.
    for (fs::path above = path.parent_path(); ; above = above.parent_path()) {
        if (::stat(above.c_str(), &st) != 0) return fmt::format("cannot stat {}: {}", above.string(), errno_text());
        if (st.st_uid != me && st.st_uid != 0) {
            return fmt::format("{} lies in {}, which is owned by uid {}, not by this user or root", path.string(),
                               above.string(), st.st_uid);
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
            return fmt::format("{} lies in {}, which group or others can write (mode {:o})", path.string(),
                               above.string(), st.st_mode & 07777);
        }
        if (above == above.parent_path()) break;
    }
    if (real) *real = path;
    return "";
}

FileLock::FileLock(const fs::path &path) {
    const std::string lock = path.string() + ".lock";
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) throw Error(ErrorCode::bad_argument, fmt::format("cannot open the lock file {}: {}", lock, errno_text()));
    while (::flock(fd_, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const std::string why = errno_text();
        ::close(fd_);
        throw Error(ErrorCode::bad_argument, fmt::format("cannot lock {}: {}", lock, why));
    }
}

FileLock::~FileLock() { ::close(fd_); }

std::string read_file(const fs::path &path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return "";  // a FIFO would block, a directory fail later
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace reluforge::detail
