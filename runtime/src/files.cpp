#include "reluforge/detail/files.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
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
    ::close(fd);
    return TempPath(name.data());
}

TempPath TempPath::directory(std::string_view prefix, const fs::path &under) {
    const fs::path dir = under.empty() ? temp_dir() : under;
    auto name = name_template(dir, prefix);
    if (!::mkdtemp(name.data())) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("cannot create a temporary directory in {}: {}", dir.string(), errno_text()));
    }
    return TempPath(name.data());
}

TempPath::~TempPath() {
    if (path_.empty()) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string read_file(const fs::path &path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return "";  // a FIFO would block, a directory fail later
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace reluforge::detail
