// Files written so that nothing is lost or half-written, and temporary files nobody else can
// plant: for the generator's outputs, the tuning database, the JIT's disk cache and its objects.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace reluforge::detail {

// Writes bytes to a new temporary file beside path (mkstemp: a fresh name, O_EXCL), then renames
// it over path: readers see the old file or the new one, never a part. Returns "" on success,
// else what failed (the temporary file is removed).
std::string write_file_atomically(const std::filesystem::path &path, std::string_view bytes, mode_t mode = 0644);
// The same, throwing Error(bad_argument) with what failed.
void write_file_atomically_or_throw(const std::filesystem::path &path, std::string_view bytes, mode_t mode = 0644);

// The directory for temporary files: $TMPDIR if set, else /tmp. Throws Error(bad_argument) when
// it is not a directory.
std::filesystem::path temp_dir();

// A temporary file or directory of this process, created fresh (mkstemp/mkdtemp: mode 0600/0700,
// never an existing path) under temp_dir() or a given directory, and removed with this object.
class TempPath {
public:
    static TempPath file(std::string_view prefix, std::string_view suffix = "");
    static TempPath directory(std::string_view prefix, const std::filesystem::path &under = {});
    TempPath(TempPath &&other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
    TempPath &operator=(TempPath &&) = delete;
    ~TempPath();
    const std::filesystem::path &path() const { return path_; }

private:
    explicit TempPath(std::filesystem::path p) : path_(std::move(p)) {}
    std::filesystem::path path_;
};

// The whole file; "" for a file that cannot be read.
std::string read_file(const std::filesystem::path &path);

}  // namespace reluforge::detail
