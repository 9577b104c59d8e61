// runtime/packed_weights.cpp - writing, checking and mapping LIB.weights (docs/PACKED_WEIGHTS.md).
#include "runtime/packed_weights.h"

#include "support/error.h"
#include "support/files.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace gpt2c {

namespace {

constexpr char kMagic[8] = {'G', 'P', 'T', '2', 'C', 'P', 'K', 'W'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kAlign = 4096;                 // every tensor starts on a page
constexpr uint64_t kChunkBytes = uint64_t(4) << 20;  // one data checksum per 4 MiB
constexpr uint64_t kMaxHeaderBytes = uint64_t(64) << 20;
constexpr uint32_t kKindRaw = 0, kKindPrepared = 1;
constexpr int kCheckpointSamples = 256;          // 4 KiB each, spread over the checkpoint
constexpr size_t kSampleBytes = 4096;

// Fixed part of the header, little-endian as this machine writes it (a pack is
// only ever read by the architecture its library runs on).
struct FileHeader {
    char magic[8];
    uint32_t version;
    uint32_t n_entries;
    uint64_t header_bytes;  // this struct, the entries and the chunk checksums, padded to kAlign
    uint64_t file_bytes;
    uint64_t library_bytes;
    uint64_t library_hash;
    uint64_t checkpoint_bytes;
    int64_t checkpoint_mtime_ns;
    uint64_t checkpoint_sample_hash;
    uint64_t chunk_bytes;
    uint64_t n_chunks;     // over [header_bytes, file_bytes)
    uint64_t header_hash;  // XXH3-64 of the header area with this field zero
};

struct Entry {
    uint32_t kind;   // kKindRaw or kKindPrepared
    uint32_t index;  // into library.weights() or library.prepared()
    uint64_t offset;
    uint64_t bytes;
};

struct CheckpointIdentity {
    uint64_t bytes = 0;
    int64_t mtime_ns = 0;
    uint64_t sample_hash = 0;
};

uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void read_exactly(int fd, void* out, size_t bytes, uint64_t offset, const std::string& path) {
    auto* p = static_cast<char*>(out);
    while (bytes > 0) {
        const ssize_t n = ::pread(fd, p, bytes, off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("{}: cannot read {} bytes at offset {}: {}", path, bytes, offset, n < 0 ? std::strerror(errno) : "end of file");
        p += n;
        bytes -= size_t(n);
        offset += uint64_t(n);
    }
}

void write_exactly(int fd, const void* data, size_t bytes, uint64_t offset, const std::string& path) {
    const auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
        const ssize_t n = ::pwrite(fd, p, std::min<size_t>(bytes, size_t(1) << 30), off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("{}: cannot write: {}", path, n < 0 ? std::strerror(errno) : "no progress");
        p += n;
        bytes -= size_t(n);
        offset += uint64_t(n);
    }
}

// Which library made the pack: its file's size and checksum (the prepared
// layout is the library's code, so nothing less identifies it).
std::pair<uint64_t, uint64_t> library_identity(const CompiledLibrary& library) {
    const std::string bytes = read_file(library.path(), size_t(1) << 32);
    return {bytes.size(), XXH3_64bits(bytes.data(), bytes.size())};
}

// Which checkpoint the pack was made from, cheaply: size, modification time,
// and a checksum of its safetensors header and 256 pages spread over the file.
CheckpointIdentity checkpoint_identity(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail("{}: cannot stat: {}", path, std::strerror(errno));
    CheckpointIdentity id;
    id.bytes = uint64_t(st.st_size);
    id.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    std::vector<char> buffer(kSampleBytes);
    uint64_t header_end = std::min<uint64_t>(id.bytes, 8);
    if (id.bytes >= 8) {
        uint64_t header_len = 0;
        read_exactly(f.fd, &header_len, 8, 0, path);
        header_end = std::min<uint64_t>(id.bytes, 8 + std::min<uint64_t>(header_len, kMaxHeaderBytes));
    }
    for (uint64_t at = 0; at < header_end; at += kSampleBytes) {
        const size_t n = size_t(std::min<uint64_t>(kSampleBytes, header_end - at));
        read_exactly(f.fd, buffer.data(), n, at, path);
        XXH3_64bits_update(state, buffer.data(), n);
    }
    if (id.bytes > header_end) {
        const uint64_t span = id.bytes - header_end;
        for (int s = 0; s < kCheckpointSamples; ++s) {
            const uint64_t at = header_end + span * uint64_t(s) / kCheckpointSamples;
            const size_t n = size_t(std::min<uint64_t>(kSampleBytes, id.bytes - at));
            read_exactly(f.fd, buffer.data(), n, at, path);
            XXH3_64bits_update(state, buffer.data(), n);
        }
    }
    id.sample_hash = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return id;
}

std::string format_mtime(int64_t ns) {
    const std::time_t seconds = std::time_t(ns / 1000000000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

// The tensors a pack holds, in file order: raw weights forward reads, then prepared ones.
std::vector<Entry> layout(const CompiledLibrary& library, uint64_t data_start) {
    std::vector<Entry> entries;
    for (size_t i = 0; i < library.weights().size(); ++i)
        if (library.weights()[i].used_by_forward)
            entries.push_back({kKindRaw, uint32_t(i), 0, uint64_t(library.weights()[i].numel()) * sizeof(float)});
    for (size_t p = 0; p < library.prepared().size(); ++p)
        if (library.prepared()[p].used_by_forward)
            entries.push_back({kKindPrepared, uint32_t(p), 0, uint64_t(library.prepared()[p].bytes)});
    uint64_t at = data_start;
    for (Entry& e : entries) {
        e.offset = at;
        at = round_up(at + e.bytes, kAlign);
    }
    return entries;
}

uint64_t header_bytes_for(size_t n_entries, uint64_t n_chunks) {
    return round_up(sizeof(FileHeader) + n_entries * sizeof(Entry) + n_chunks * sizeof(uint64_t), kAlign);
}

uint64_t hash_header(std::vector<char> header) {
    std::memset(header.data() + offsetof(FileHeader, header_hash), 0, sizeof(uint64_t));
    return XXH3_64bits(header.data(), header.size());
}

const std::string& entry_name(const CompiledLibrary& library, const Entry& e) {
    return e.kind == kKindRaw ? library.weights()[e.index].name : library.prepared()[e.index].name;
}

// Checksums chunk c of [data, data + bytes) on the pool: task c hashes chunk c.
struct ChunkHashJob {
    const char* base;
    uint64_t begin, end;  // the checksummed byte range of the file
    uint64_t* hashes;
    static void run(void* arg, int64_t first, int64_t last) {
        auto* job = static_cast<ChunkHashJob*>(arg);
        for (int64_t c = first; c < last; ++c) {
            const uint64_t from = job->begin + uint64_t(c) * kChunkBytes;
            const uint64_t to = std::min(job->end, from + kChunkBytes);
            job->hashes[c] = XXH3_64bits(job->base + from, to - from);
        }
    }
};

std::vector<uint64_t> chunk_hashes(const char* base, uint64_t begin, uint64_t end, ThreadPool& pool) {
    const uint64_t n = (end - begin + kChunkBytes - 1) / kChunkBytes;
    std::vector<uint64_t> hashes(n);
    ChunkHashJob job{base, begin, end, hashes.data()};
    pool.parallel_for(&ChunkHashJob::run, &job, int64_t(n));
    return hashes;
}

}  // namespace

std::string packed_weights_path(const std::string& library_path) {
    std::filesystem::path p(library_path);
    if (p.extension() == ".so") p.replace_extension();
    return p.string() + ".weights";
}

void write_packed_weights(const CompiledLibrary& library, const std::string& checkpoint_path,
                          const ForwardWeights& weights, const std::string& path, ThreadPool& pool) {
    // The header's size depends on the chunk count, which depends on the header's size: settle it.
    const size_t n_entries = layout(library, 0).size();
    uint64_t header_bytes = header_bytes_for(n_entries, 0), file_bytes = 0;
    std::vector<Entry> entries;
    for (;;) {
        entries = layout(library, header_bytes);
        file_bytes = entries.empty() ? header_bytes : entries.back().offset + entries.back().bytes;
        const uint64_t needed = header_bytes_for(n_entries, (file_bytes - header_bytes + kChunkBytes - 1) / kChunkBytes);
        if (needed == header_bytes) break;
        header_bytes = needed;
    }

    const std::string temporary = temporary_path_for(path);
    Fd f{::open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (f.fd < 0) fail("{}: cannot create: {}", temporary, std::strerror(errno));
    try {
        if (::ftruncate(f.fd, off_t(file_bytes)) != 0) fail("{}: cannot size to {} bytes: {}", temporary, file_bytes, std::strerror(errno));
        for (const Entry& e : entries) {
            const float* data = e.kind == kKindRaw ? weights.raw.at(e.index) : weights.prepared.at(e.index);
            if (!data) fail("internal error: packing {}: the model has no buffer for it", entry_name(library, e));
            write_exactly(f.fd, data, size_t(e.bytes), e.offset, temporary);
        }
        // Checksums of what is now in the file (read back through the page cache).
        const std::vector<uint64_t> chunks = chunk_hashes(
            static_cast<const char*>(FileMapping::map(f.fd, file_bytes, MAP_SHARED, 0, temporary).data()),
            header_bytes, file_bytes, pool);

        const auto [library_bytes, library_hash] = library_identity(library);
        CheckpointIdentity checkpoint = checkpoint_identity(checkpoint_path);
        FileHeader h{};
        std::memcpy(h.magic, kMagic, sizeof kMagic);
        h.version = kVersion;
        h.n_entries = uint32_t(entries.size());
        h.header_bytes = header_bytes;
        h.file_bytes = file_bytes;
        h.library_bytes = library_bytes;
        h.library_hash = library_hash;
        h.checkpoint_bytes = checkpoint.bytes;
        h.checkpoint_mtime_ns = checkpoint.mtime_ns;
        h.checkpoint_sample_hash = checkpoint.sample_hash;
        h.chunk_bytes = kChunkBytes;
        h.n_chunks = chunks.size();
        std::vector<char> header(header_bytes, 0);
        std::memcpy(header.data(), &h, sizeof h);
        std::memcpy(header.data() + sizeof h, entries.data(), entries.size() * sizeof(Entry));
        std::memcpy(header.data() + sizeof h + entries.size() * sizeof(Entry), chunks.data(), chunks.size() * sizeof(uint64_t));
        h.header_hash = hash_header(header);
        std::memcpy(header.data(), &h, sizeof h);
        write_exactly(f.fd, header.data(), header.size(), 0, temporary);
        if (::fsync(f.fd) != 0) fail("{}: cannot sync: {}", temporary, std::strerror(errno));
        if (std::rename(temporary.c_str(), path.c_str()) != 0) fail("{}: cannot rename to {}: {}", temporary, path, std::strerror(errno));
    } catch (...) {
        ::unlink(temporary.c_str());
        throw;
    }
}

std::optional<PackedWeights> PackedWeights::open(const std::string& path, const CompiledLibrary& library,
                                                 const std::string& checkpoint_path, ThreadPool& pool,
                                                 std::string* why_not) {
    why_not->clear();
    // O_NONBLOCK: a FIFO in the library's place must not block the load (it is refused below).
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (f.fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        fail("{}: cannot open packed weights: {}", path, std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) fail("{}: cannot stat: {}", path, std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("{}: not a regular file; expected packed weights (gpt2c pack-weights)", path);
    const uint64_t size = uint64_t(st.st_size);

    // The header: magic, version, its own checksum, and the file size it promises.
    FileHeader h{};
    if (size < sizeof h) fail("{}: {} bytes is too short for packed weights (a {}-byte header at least)", path, size, sizeof h);
    read_exactly(f.fd, &h, sizeof h, 0, path);
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0)
        fail("{}: not a gpt2c packed weights file (expected the magic GPT2CPKW)", path);
    if (h.version != kVersion)
        fail("{}: packed weights format version {}; this runtime reads version {} (re-run gpt2c pack-weights)", path, h.version, kVersion);
    if (h.header_bytes < sizeof h || h.header_bytes > kMaxHeaderBytes || h.header_bytes > size)
        fail("{}: header size {} is impossible for a {}-byte file", path, h.header_bytes, size);
    std::vector<char> header(h.header_bytes);
    read_exactly(f.fd, header.data(), header.size(), 0, path);
    if (hash_header(header) != h.header_hash) fail("{}: the header is damaged (its checksum differs)", path);
    if (h.file_bytes != size)
        fail("{}: the file is {} bytes but its header says {} (truncated or appended to)", path, size, h.file_bytes);
    if (h.chunk_bytes != kChunkBytes || h.n_chunks != (size - h.header_bytes + kChunkBytes - 1) / kChunkBytes ||
        sizeof h + uint64_t(h.n_entries) * sizeof(Entry) + h.n_chunks * sizeof(uint64_t) > h.header_bytes)
        fail("{}: the header's tables do not fit the file", path);

    // Stale: made by another library or from another checkpoint.
    const auto [library_bytes, library_hash] = library_identity(library);
    if (library_bytes != h.library_bytes || library_hash != h.library_hash) {
        *why_not = fmt::format("{} was packed by another build of {}", path, library.path());
        return std::nullopt;
    }
    if (!checkpoint_path.empty()) {
        const CheckpointIdentity now = checkpoint_identity(checkpoint_path);
        if (now.bytes != h.checkpoint_bytes)
            *why_not = fmt::format("{} was packed from a {}-byte {}; it is now {} bytes", path, h.checkpoint_bytes, checkpoint_path, now.bytes);
        else if (now.mtime_ns != h.checkpoint_mtime_ns)
            *why_not = fmt::format("{} was packed from {} as modified {}; it was modified {} since", path, checkpoint_path,
                                   format_mtime(h.checkpoint_mtime_ns), format_mtime(now.mtime_ns));
        else if (now.sample_hash != h.checkpoint_sample_hash)
            *why_not = fmt::format("{} was packed from a different {} (same size and time, other bytes)", path, checkpoint_path);
        if (!why_not->empty()) return std::nullopt;
    }

    // The table must be exactly what this library's forward reads.
    std::vector<Entry> entries(h.n_entries);
    std::memcpy(entries.data(), header.data() + sizeof h, entries.size() * sizeof(Entry));
    const std::vector<Entry> expected = layout(library, h.header_bytes);
    if (entries.size() != expected.size()) fail("{}: holds {} tensors; the library reads {}", path, entries.size(), expected.size());
    for (size_t k = 0; k < entries.size(); ++k) {
        const Entry& e = entries[k];
        const Entry& want = expected[k];
        if (e.kind != want.kind || e.index != want.index || e.offset != want.offset || e.bytes != want.bytes)
            fail("{}: tensor {} of the table is not {} ({} bytes at {}) as the library expects", path, k,
                 entry_name(library, want), want.bytes, want.offset);
    }

    PackedWeights packed;
    packed.path_ = path;
    // MAP_POPULATE: one call maps every page in, far cheaper than a fault per few pages.
    packed.mapping_ = FileMapping::map(f.fd, size, MAP_SHARED, MAP_POPULATE, path);
    const char* base = static_cast<const char*>(packed.mapping_.data());
    std::vector<uint64_t> stored(h.n_chunks);
    std::memcpy(stored.data(), header.data() + sizeof h + entries.size() * sizeof(Entry), stored.size() * sizeof(uint64_t));
    const std::vector<uint64_t> actual = chunk_hashes(base, h.header_bytes, size, pool);
    for (uint64_t c = 0; c < h.n_chunks; ++c) {
        if (actual[c] == stored[c]) continue;
        const uint64_t at = h.header_bytes + c * kChunkBytes;
        std::string inside = "padding";
        for (const Entry& e : entries)
            if (at < e.offset + e.bytes && e.offset < at + kChunkBytes) {
                inside = entry_name(library, e);
                break;
            }
        fail("{}: the data is damaged: bytes {}..{} (in {}) do not match their checksum", path, at,
             std::min(size, at + kChunkBytes), inside);
    }

    packed.weights_.raw.assign(library.weights().size(), nullptr);
    packed.weights_.prepared.assign(library.prepared().size(), nullptr);
    for (const Entry& e : entries) {
        const auto* data = reinterpret_cast<const float*>(base + e.offset);
        (e.kind == kKindRaw ? packed.weights_.raw : packed.weights_.prepared)[e.index] = data;
    }
    return packed;
}

}  // namespace gpt2c
