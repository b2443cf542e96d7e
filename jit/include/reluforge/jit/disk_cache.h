// The JIT's disk cache: compiled kernel objects stored by content key, shared safely by many
// processes. Entries are written to a temporary file and renamed into place, so no reader ever
// sees half an entry; every entry carries its key and a checksum, so a truncated, corrupt or
// foreign file is detected and never loaded. A size cap is kept by evicting the least recently
// used entries (a hit refreshes an entry's modification time).
//
// The cache holds code the process runs, so it trusts only what nobody else can change: the
// directory must be this user's and writable by nobody else (as are the directories above it),
// and an entry must be a regular file of this user that nobody else can write. Anything else
// makes the cache unusable (the engine then keeps kernels in memory) or the entry invalid.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace reluforge::jit {

struct CacheEntry {
    std::filesystem::path path;
    std::string key;        // empty if unreadable
    std::uint64_t bytes = 0;  // file size
    std::filesystem::file_time_type last_used;
    std::string problem;    // why the entry is invalid; empty when it is valid
    bool temporary = false;  // a writer's temporary file, not an entry
};

class DiskCache {
public:
    // $RELUFORGE_CACHE_DIR, else $XDG_CACHE_HOME/reluforge, else ~/.cache/reluforge, else
    // $TMPDIR/reluforge-cache-<uid> (created 0700).
    static std::filesystem::path default_dir();
    static constexpr std::uint64_t kDefaultCapBytes = 512ull << 20;

    DiskCache(std::filesystem::path dir, std::uint64_t cap_bytes = kDefaultCapBytes);

    // False when the directory cannot be created or written, or others could change it: the
    // cache then stores nothing and problem() says why.
    bool usable() const { return usable_; }
    const std::string &problem() const { return problem_; }
    const std::filesystem::path &dir() const { return dir_; }

    // The payload stored under key, if a valid entry exists. An invalid entry is removed and its
    // problem is put in *problem (the caller rebuilds and stores again).
    std::optional<std::string> load(const std::string &key, std::string *problem = nullptr);
    // Stores atomically, then evicts down to the cap. Failures to write are reported in the
    // return value and leave the cache as it was.
    bool store(const std::string &key, const std::string &payload);

    // Every entry, invalid ones and writers' temporary files included, most recently used first.
    std::vector<CacheEntry> list() const;
    std::uint64_t total_bytes() const;
    // Removes what killed writers left: temporaries untouched for min_age that no live process
    // holds (a live writer's flock protects it whatever its age). Returns how many.
    static constexpr std::chrono::seconds kStaleAfter{60};
    int remove_stale_temporaries(std::chrono::seconds min_age = kStaleAfter) const;
    // Removes stale temporaries, anything named like an entry that is not a regular file, then
    // least recently used entries until at most cap bytes remain; returns how many entries.
    int evict_to(std::uint64_t cap);
    int clear();

    static std::filesystem::path entry_path(const std::filesystem::path &dir, const std::string &key);

private:
    std::filesystem::path dir_;
    std::uint64_t cap_;
    bool usable_ = false;
    std::string problem_;
};

// Reads and validates one entry file (a regular file of this user nobody else can write, never
// followed through a link, never blocking): the payload, or nullopt with *problem set.
std::optional<std::string> read_entry(const std::filesystem::path &path, std::string *key,
                                      std::string *problem);

}  // namespace reluforge::jit
