#include "reluforge/jit/disk_cache.h"

#include "reluforge/detail/files.h"
#include "reluforge/detail/fnv1a.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace reluforge::jit {
namespace fs = std::filesystem;

namespace {

// Entry layout: magic (8 bytes) | key length u32 | key | payload length u64 | payload FNV-1a u64
// | payload.
constexpr char kMagic[8] = {'R', 'F', 'K', 'E', 'R', 'N', '0', '1'};
constexpr const char *kSuffix = ".rfk";
// A writer's temporary is ".<hash>.rfk.tmp.XXXXXX" (write_file_atomically).

std::uint64_t fnv1a(const char *p, size_t n) { return fnv1a64(std::string_view(p, n)); }

template <typename T>
void put(std::string &out, T v) {
    out.append(reinterpret_cast<const char *>(&v), sizeof v);
}

template <typename T>
bool get(const std::string &in, size_t &at, T *v) {
    if (in.size() - at < sizeof(T)) return false;
    std::memcpy(v, in.data() + at, sizeof(T));
    at += sizeof(T);
    return true;
}

}  // namespace

fs::path DiskCache::default_dir() {
    if (const char *d = std::getenv("RELUFORGE_CACHE_DIR"); d && *d) return d;
    if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "reluforge";
    if (const char *h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "reluforge";
    // Per user: a shared name under /tmp could be created first by someone else.
    fs::path tmp = "/tmp";
    try {
        tmp = detail::temp_dir();
    } catch (const std::exception &) {
    }
    return tmp / ("reluforge-cache-" + std::to_string(::geteuid()));
}

fs::path DiskCache::entry_path(const fs::path &dir, const std::string &key) {
    char name[32];
    std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(fnv1a(key.data(), key.size())));
    return dir / (std::string(name) + kSuffix);
}

DiskCache::DiskCache(fs::path dir, std::uint64_t cap) : dir_(std::move(dir)), cap_(cap) {
    // The cache holds code this process will run: only a directory nobody else can change will do.
    fs::path real;
    if (std::string problem = detail::private_directory_problem(dir_, &real); !problem.empty()) {
        problem_ = problem;
        return;
    }
    dir_ = real;
    std::error_code ec;
    // Writable? A probe file is the only reliable test (permissions, read-only mounts, quotas).
    const fs::path probe = dir_ / ".probe";
    if (std::string problem = detail::write_file_atomically(probe, "probe", 0600); !problem.empty()) {
        problem_ = problem;
        return;
    }
    fs::remove(probe, ec);
    usable_ = true;
}

std::optional<std::string> read_entry(const fs::path &path, std::string *key, std::string *problem) {
    auto fail = [&](const std::string &why) -> std::optional<std::string> {
        if (problem) *problem = why;
        return std::nullopt;
    };
    // No symbolic links, and a FIFO must not block: then only a regular file of this user, which
    // nobody else can write, is read.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return fail(errno == ELOOP ? "a symbolic link, not a regular file" : std::string("cannot open: ") + std::strerror(errno));
    }
    std::string data;
    std::string untrusted = detail::untrusted_file_problem(fd);
    if (untrusted.empty()) {
        char buffer[1 << 16];
        for (;;) {
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) untrusted = std::string("cannot read: ") + std::strerror(errno);
            if (n <= 0) break;
            data.append(buffer, size_t(n));
        }
    }
    ::close(fd);
    if (!untrusted.empty()) return fail(untrusted);
    size_t at = 0;
    if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
        return fail("not a reluforge cache entry (bad magic)");
    }
    at = sizeof kMagic;
    std::uint32_t key_len = 0;
    if (!get(data, at, &key_len) || data.size() - at < key_len) return fail("truncated header");
    std::string stored_key = data.substr(at, key_len);
    at += key_len;
    std::uint64_t len = 0, sum = 0;
    if (!get(data, at, &len) || !get(data, at, &sum)) return fail("truncated header");
    if (data.size() - at != len) return fail("truncated payload (expected " + std::to_string(len) + " bytes)");
    if (fnv1a(data.data() + at, len) != sum) return fail("checksum mismatch");
    if (key) *key = stored_key;
    return data.substr(at);
}

std::optional<std::string> DiskCache::load(const std::string &key, std::string *problem) {
    if (!usable_) return std::nullopt;
    const fs::path path = entry_path(dir_, key);
    std::error_code ec;
    if (fs::symlink_status(path, ec).type() == fs::file_type::not_found) return std::nullopt;
    std::string stored_key, why;
    auto payload = read_entry(path, &stored_key, &why);
    if (payload && stored_key != key) {
        payload.reset();
        why = "entry holds another key";
    }
    if (!payload) {
        if (problem) *problem = path.string() + ": " + why;
        fs::remove(path, ec);  // a non-empty directory stays; storing then fails and says so
        return std::nullopt;
    }
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // recently used
    return payload;
}

bool DiskCache::store(const std::string &key, const std::string &payload) {
    if (!usable_) return false;
    std::string data(kMagic, sizeof kMagic);
    put<std::uint32_t>(data, static_cast<std::uint32_t>(key.size()));
    data += key;
    put<std::uint64_t>(data, payload.size());
    put<std::uint64_t>(data, fnv1a(payload.data(), payload.size()));
    data += payload;

    if (!detail::write_file_atomically(entry_path(dir_, key), data, 0600).empty()) return false;
    evict_to(cap_);
    return true;
}

namespace {
bool is_temporary(const std::string &name) {
    return name.size() > 1 && name[0] == '.' && name.find(std::string(kSuffix) + ".tmp.") != std::string::npos;
}
}  // namespace

std::vector<CacheEntry> DiskCache::list() const {
    std::vector<CacheEntry> out;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir_, ec)) {
        const std::string name = e.path().filename().string();
        const bool temporary = is_temporary(name);
        if (e.path().extension() != kSuffix && !temporary) continue;
        CacheEntry c;
        c.path = e.path();
        c.temporary = temporary;
        std::error_code entry_ec;
        const auto status = e.symlink_status(entry_ec);
        c.bytes = status.type() == fs::file_type::regular ? e.file_size(entry_ec) : 0;
        if (entry_ec) c.bytes = 0;
        c.last_used = fs::last_write_time(c.path, entry_ec);
        if (temporary) {
            c.problem = "a writer's temporary file";
        } else if (!read_entry(c.path, &c.key, &c.problem)) {
            c.key.clear();
        } else if (entry_path(dir_, c.key).filename() != c.path.filename()) {
            c.problem = "its name does not match its key (the engine would never load it)";
            c.key.clear();
        }
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const CacheEntry &a, const CacheEntry &b) { return a.last_used > b.last_used; });
    return out;
}

std::uint64_t DiskCache::total_bytes() const {
    // Sizes only: no entry needs reading for this.
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir_, ec)) {
        if (e.path().extension() != kSuffix && !is_temporary(e.path().filename().string())) continue;
        std::error_code entry_ec;
        if (e.symlink_status(entry_ec).type() != fs::file_type::regular) continue;
        const std::uint64_t bytes = e.file_size(entry_ec);
        if (!entry_ec) total += bytes;
    }
    return total;
}

int DiskCache::remove_stale_temporaries(std::chrono::seconds min_age) const {
    return detail::remove_stale_temporaries(dir_, ".", std::string(kSuffix) + ".tmp.", min_age);
}

int DiskCache::evict_to(std::uint64_t cap) {
    remove_stale_temporaries();
    struct File {
        fs::path path;
        std::uint64_t bytes;
        fs::file_time_type time;
    };
    std::vector<File> files;
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir_, ec)) {
        if (e.path().extension() != kSuffix || is_temporary(e.path().filename().string())) continue;
        std::error_code entry_ec;
        const bool regular = e.symlink_status(entry_ec).type() == fs::file_type::regular;
        const std::uint64_t bytes = regular ? e.file_size(entry_ec) : 0;
        const auto time = fs::last_write_time(e.path(), entry_ec);
        // Not an entry at all (directory, link, FIFO): evicted first, whatever the cap.
        files.push_back({e.path(), entry_ec ? 0 : bytes, regular ? time : fs::file_time_type::min()});
        total += files.back().bytes;
    }
    std::sort(files.begin(), files.end(), [](const File &a, const File &b) { return a.time < b.time; });
    int removed = 0;
    for (const auto &f : files) {
        if (total <= cap && f.time != fs::file_time_type::min()) break;
        std::error_code rm;
        if (fs::remove(f.path, rm)) removed++;
        total -= f.bytes;
    }
    return removed;
}

int DiskCache::clear() { return evict_to(0); }

}  // namespace reluforge::jit
