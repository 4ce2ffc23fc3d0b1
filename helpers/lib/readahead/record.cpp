// SPDX-License-Identifier: Apache-2.0
// A recording: which parts of a file are in the page cache now.
//
// Why the page cache: on a boot that read nothing ahead, what is cached of the
// join's files at its end is what the join read (its page faults and reads,
// with the kernel's own read-ahead around them, which is what the disk was
// asked for too). mincore(2) tells it page by page from a mapping of the file;
// mapping reads nothing, and neither does mincore.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "core/fsutil.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::readahead {

namespace {

struct Mapping {
    void* at = MAP_FAILED;
    std::size_t size = 0;
    Mapping(int fd, std::size_t n) : at(::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd, 0)), size(n) {}
    ~Mapping() {
        if (at != MAP_FAILED) ::munmap(at, size);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
};

}  // namespace

std::optional<Recorded> resident(const Paths& paths, std::string_view node_path) {
    const fs::path p = paths.of(node_path);
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    struct stat st {};
    if (f.fd < 0 || ::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    Recorded r;
    r.size = static_cast<std::uint64_t>(st.st_size);
    r.mtime_ns = detail::mtime_ns(st);
    // a time before 1970 a recording cannot hold (recording_problem): no recording, read whole
    if (r.mtime_ns < 0) return std::nullopt;
    if (r.size == 0) return r;
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const Mapping m(f.fd, static_cast<std::size_t>(r.size));
    if (m.at == MAP_FAILED) return std::nullopt;
    std::vector<unsigned char> in((r.size + page - 1) / page);
    if (::mincore(m.at, m.size, in.data()) != 0) return std::nullopt;
    for (std::uint64_t i = 0; i < in.size(); ++i) {
        if (!(in[i] & 1)) continue;
        const std::uint64_t offset = i * page, length = std::min(page, r.size - offset);
        if (!r.ranges.empty()) {
            Range& last = r.ranges.back();
            if (offset - (last.offset + last.length) < record_gap_bytes) {
                last.length = offset + length - last.offset;
                continue;
            }
        }
        if (r.ranges.size() == max_ranges) {
            // more ranges than a line may hold: the rest as one, to the end
            r.ranges.back().length = r.size - r.ranges.back().offset;
            break;
        }
        r.ranges.push_back({offset, length});
    }
    return r;
}

}  // namespace eksnode::readahead
