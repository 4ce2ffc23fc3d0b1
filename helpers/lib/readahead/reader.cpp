// SPDX-License-Identifier: Apache-2.0
// The list's files read into the page cache by a few threads.
//
// How: plain pread(2)s of up to chunk_bytes into a buffer of each thread's,
// not readahead(2) or posix_fadvise(POSIX_FADV_WILLNEED). Those only queue the
// I/O and return (each call clamped to the device's optimal request size), so
// the step could neither tell when the blocks have arrived nor bound what it
// has in flight: a whole list queued at once is hundreds of MiB the join's own
// first reads would wait behind, on a device where each request goes to S3.
// A read returns once its blocks are in the page cache; `jobs` threads keep
// that many requests of about a MiB in flight (the kernel splits each into
// requests of the device's size), enough for a lazily loaded volume's
// parallelism and little for a demand read to queue behind. The copy into the
// buffer is the price: ~0.2 ms of CPU per MiB (30-50 ms of system time for 180
// MiB already cached, measured with GNU time), against the milliseconds the
// same MiB takes to come from S3.
//
// Order: the list's. It is written in the order the join reads (the steps,
// containerd, kubelet, then what the first pods need), not largest first: the
// volume's rate is the same whatever the order, so the order only decides what
// is cached first, and the join should find its next file there. A file larger
// than a chunk is shared among the threads that come free, in order, so a
// large binary (containerd, kubelet) is read with all of them rather than by
// one thread while the others have nothing left to do.
//
// A file with a recording that still matches is read by its ranges only, each
// cut into chunks the same way, with the kernel's read-ahead off for our reads
// (POSIX_FADV_RANDOM): the recording holds what the recorded boot's reads
// brought in, the kernel's read-ahead around them included, and no more should
// come from the volume.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "core/fsutil.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::readahead {

namespace {

// One open file, shared by the threads reading its chunks.
struct Open {
    std::size_t index = 0;
    Fd fd;
    std::vector<Range> chunks;                // what is read, in pieces of at most chunk_bytes; at least one
    std::size_t next = 0;                     // the next chunk's index (under the lock)
    std::atomic<std::uint64_t> remaining{1};  // chunks not read yet: the one to read the last records the file
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<int> error{0};
};

class Reader {
public:
    Reader(const Paths& paths, const std::vector<std::string>& files, const std::map<std::string, Recorded>& recorded,
           ReadReport& report, std::chrono::steady_clock::time_point deadline)
        : paths_(paths), files_(files), recorded_(recorded), report_(report), deadline_(deadline) {}

    void work() {
        std::unique_ptr<char[]> buf(new char[chunk_bytes]);
        for (;;) {
            std::shared_ptr<Open> f;
            std::size_t chunk = 0;
            bool fresh = false;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                // what is left of the files opened already, the earliest first
                while (!open_.empty() && open_.front()->next >= open_.front()->chunks.size()) open_.pop_front();
                if (!open_.empty()) {
                    f = open_.front();
                    chunk = f->next++;
                } else if (next_file_ < files_.size() && std::chrono::steady_clock::now() >= deadline_) {
                    // the rest is left to the join: recorded as not reached
                    for (; next_file_ < files_.size(); ++next_file_)
                        report_.files[next_file_].kind = FileOutcome::Kind::not_reached;
                    return;
                } else if (next_file_ < files_.size()) {
                    f = std::make_shared<Open>();
                    f->index = next_file_++;
                    fresh = true;
                } else {
                    return;
                }
            }
            if (fresh) {
                if (!start(*f)) continue;
                if (f->chunks.size() > 1) offer(f);
            }
            read_chunk(*f, f->chunks[chunk], buf.get());
            if (f->remaining.fetch_sub(1) == 1) finish(*f);
        }
    }

private:
    // Opens the file, outside the lock: on a lazily loaded volume even its
    // inode may be a first read. False when there is nothing to read (recorded).
    bool start(Open& f) {
        FileOutcome& out = report_.files[f.index];
        const fs::path p = paths_.of(files_[f.index]);
        // O_NOATIME: reading ahead is not the file's use (refused for a file of
        // another owner: then without it); O_NONBLOCK: a FIFO in the list does not block
        const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOATIME;
        int fd = ::open(p.c_str(), flags);
        if (fd < 0 && errno == EPERM) fd = ::open(p.c_str(), flags & ~O_NOATIME);
        if (fd < 0) {
            out.kind = errno == ENOENT || errno == ENOTDIR ? FileOutcome::Kind::missing : FileOutcome::Kind::failed;
            out.error = errno == ENOENT || errno == ENOTDIR ? 0 : errno;
            return false;
        }
        f.fd.fd = fd;
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            out.kind = FileOutcome::Kind::not_regular;
            return false;
        }
        const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
        const auto r = recorded_.find(files_[f.index]);
        const bool by_ranges = r != recorded_.end() && still_recorded(r->second, st);
        if (r != recorded_.end()) out.part = by_ranges ? FileOutcome::Part::recorded : FileOutcome::Part::changed;
        if (by_ranges) {
            for (const Range& range : r->second.ranges) cut(f.chunks, range);
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
        } else {
            cut(f.chunks, {0, size});
            // a larger window for the kernel's own read-ahead past each of our reads
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        }
        if (f.chunks.empty()) f.chunks.push_back({0, 0});
        f.remaining = f.chunks.size();
        f.next = 1;  // this thread reads the first chunk
        return true;
    }

    // `range` in chunks of at most chunk_bytes, after `chunks`
    static void cut(std::vector<Range>& chunks, Range range) {
        for (std::uint64_t at = range.offset; at < range.offset + range.length; at += chunk_bytes)
            chunks.push_back({at, std::min<std::uint64_t>(chunk_bytes, range.offset + range.length - at)});
    }

    // The file's further chunks, for whichever thread comes free, at the file's
    // place in the list.
    void offer(const std::shared_ptr<Open>& f) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto at = std::upper_bound(open_.begin(), open_.end(), f->index,
                                   [](std::size_t i, const std::shared_ptr<Open>& o) { return i < o->index; });
        open_.insert(at, f);
    }

    void read_chunk(Open& f, Range chunk, char* buf) {
        if (f.error.load() != 0) return;
        const std::uint64_t end = chunk.offset + chunk.length;
        for (std::uint64_t at = chunk.offset; at < end;) {
            ssize_t n = ::pread(f.fd.fd, buf, static_cast<std::size_t>(end - at), static_cast<off_t>(at));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                int expected = 0;
                f.error.compare_exchange_strong(expected, errno);
                return;
            }
            if (n == 0) return;  // shorter than it was: what there is has been read
            at += static_cast<std::uint64_t>(n);
            f.bytes += static_cast<std::uint64_t>(n);
        }
    }

    void finish(Open& f) {
        FileOutcome& out = report_.files[f.index];
        out.bytes = f.bytes.load();
        out.error = f.error.load();
        out.kind = out.error ? FileOutcome::Kind::failed : FileOutcome::Kind::read;
    }

    const Paths& paths_;
    const std::vector<std::string>& files_;
    const std::map<std::string, Recorded>& recorded_;
    ReadReport& report_;
    const std::chrono::steady_clock::time_point deadline_;
    std::mutex mutex_;
    std::deque<std::shared_ptr<Open>> open_;  // files with chunks left, in the list's order
    std::size_t next_file_ = 0;
};

}  // namespace

ReadReport read_ahead(const Paths& paths, const std::vector<std::string>& files, unsigned jobs,
                      std::chrono::steady_clock::time_point deadline, const std::map<std::string, Recorded>& recorded) {
    ReadReport report;
    report.files.resize(files.size());
    jobs = std::clamp(jobs, 1u, max_jobs);
    report.threads = static_cast<unsigned>(std::min<std::size_t>(jobs, std::max<std::size_t>(files.size(), 1)));
    Reader reader(paths, files, recorded, report, deadline);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < report.threads; ++i) threads.emplace_back([&reader] { reader.work(); });
    reader.work();
    for (std::thread& t : threads) t.join();
    for (const FileOutcome& f : report.files) report.bytes += f.bytes;
    return report;
}

}  // namespace eksnode::readahead
