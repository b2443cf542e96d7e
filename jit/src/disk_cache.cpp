#include "reluforge/jit/disk_cache.h"

#include "reluforge/detail/files.h"
#include "reluforge/detail/fnv1a.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace reluforge::jit {
namespace fs = std::filesystem;

namespace {

// Entry layout: magic (8 bytes) | key length u32 | key | payload length u64 | payload FNV-1a u64
// | payload.
constexpr char kMagic[8] = {'R', 'F', 'K', 'E', 'R', 'N', '0', '1'};
constexpr const char *kSuffix = ".rfk";

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
    return fs::temp_directory_path() / "reluforge-cache";
}

fs::path DiskCache::entry_path(const fs::path &dir, const std::string &key) {
    char name[32];
    std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(fnv1a(key.data(), key.size())));
    return dir / (std::string(name) + kSuffix);
}

DiskCache::DiskCache(fs::path dir, std::uint64_t cap) : dir_(std::move(dir)), cap_(cap) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
        problem_ = "cannot create " + dir_.string() + ": " + ec.message();
        return;
    }
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
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return fail("cannot open");
    std::string data(static_cast<size_t>(in.tellg()), '\0');
    in.seekg(0);
    if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) return fail("cannot read");
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
    if (!fs::exists(path, ec)) return std::nullopt;
    std::string stored_key, why;
    auto payload = read_entry(path, &stored_key, &why);
    if (payload && stored_key != key) {
        payload.reset();
        why = "entry holds another key";
    }
    if (!payload) {
        if (problem) *problem = path.string() + ": " + why;
        fs::remove(path, ec);
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

std::vector<CacheEntry> DiskCache::list() const {
    std::vector<CacheEntry> out;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir_, ec)) {
        if (e.path().extension() != kSuffix) continue;
        CacheEntry c;
        c.path = e.path();
        c.bytes = e.file_size(ec);
        c.last_used = e.last_write_time(ec);
        if (!read_entry(c.path, &c.key, &c.problem)) c.key.clear();
        out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const CacheEntry &a, const CacheEntry &b) { return a.last_used > b.last_used; });
    return out;
}

std::uint64_t DiskCache::total_bytes() const {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir_, ec)) {
        if (e.path().extension() == kSuffix) total += e.file_size(ec);
    }
    return total;
}

int DiskCache::evict_to(std::uint64_t cap) {
    struct File {
        fs::path path;
        std::uint64_t bytes;
        fs::file_time_type time;
    };
    std::vector<File> files;
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir_, ec)) {
        if (e.path().extension() != kSuffix) continue;
        files.push_back({e.path(), e.file_size(ec), e.last_write_time(ec)});
        total += files.back().bytes;
    }
    std::sort(files.begin(), files.end(), [](const File &a, const File &b) { return a.time < b.time; });
    int removed = 0;
    for (const auto &f : files) {
        if (total <= cap) break;
        if (fs::remove(f.path, ec)) removed++;
        total -= f.bytes;
    }
    return removed;
}

int DiskCache::clear() { return evict_to(0); }

}  // namespace reluforge::jit
