// SPDX-License-Identifier: Apache-2.0
// The join's files read into the page cache at the start of the boot
// (eks-node-readahead(8)). An AMI's root volume is an EBS volume restored from
// a snapshot, which EBS loads lazily: the first read of every block goes to
// Amazon S3, at a latency and a rate far from the volume's own. The image
// build records the files a join opens, in the order it opens them (the
// list, written by `eks-node readahead-list`); at boot eks-node-readahead
// reads them while systemd is still starting its first units, so that
// kubelet, containerd and the steps find them cached.
//
// A line of the list may also carry what a recording boot (a join with no
// read-ahead) read of the file, and the file's size and modification time then:
// the reader reads only those ranges while the file is still the one recorded,
// the whole file when it has changed since (`eks-node readahead-record`).
//
// This module holds what needs nothing but the file system:
//   the list: its text, parsed and written; which file a node reads (list.cpp);
//   a recording: the parts of a file in the page cache (record.cpp);
//   a program's files: itself, its ELF interpreter, the libraries of its
//     DT_NEEDED entries and of its .note.dlopen (found as ld.so finds them:
//     RUNPATH, ld.so.conf, the default directories), or a script's
//     interpreter (elf.cpp, files.cpp);
//   the reader: every file of the list read by a few threads (reader.cpp).
// What a join runs (the units, containerd's and kubelet's programs) is the
// configuration's business: the CLI assembles it (cli/readahead_list.cpp).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/paths.hpp"

namespace eksnode::readahead {

// ---- the list ---------------------------------------------------------------

// The image's list, as the image build writes it, and an admin's, which hides
// it as /etc hides /usr/lib (a link to /dev/null: no list at all).
inline constexpr std::string_view image_list = "/usr/lib/eks-node/readahead.list";
inline constexpr std::string_view admin_list = "/etc/eks-node/readahead.list";
// Bounds of what is read: a list of a join's files is a few hundred lines.
inline constexpr std::size_t max_list_bytes = 1u << 20;
inline constexpr std::size_t max_files = 16384;
inline constexpr std::size_t max_path_bytes = 4096;

// Bounds of a recording: ranges of one file, and the gap between two parts in
// the page cache below which the recorder writes one range over both (a lazily
// loaded volume fetches blocks of 512 KiB: a gap this small is mostly fetched
// anyway, and one read costs less than two).
inline constexpr std::size_t max_ranges = 65536;
inline constexpr std::uint64_t record_gap_bytes = 64u << 10;

inline constexpr std::int64_t ns_per_s = 1'000'000'000;

struct Range {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    bool operator==(const Range&) const = default;
};
// What a recording boot read of a file, and which file that was: its size and
// modification time (ns since the epoch) then. An image changed after its
// recording (a package updated) has new times, and its file is read whole.
struct Recorded {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::vector<Range> ranges;  // ascending, disjoint, none empty, within size
    bool operator==(const Recorded&) const = default;
};

struct List {
    std::vector<std::string> files;            // absolute paths on the node, in the list's order, each once
    std::map<std::string, Recorded> recorded;  // the files whose line carries a recording
    std::vector<std::string> warnings;         // each line skipped, "SOURCE:LINE: why, ignoring"
};

// The text of a list: one absolute path a line; blank lines and lines
// starting with '#' are skipped, blanks around a path are dropped. A line
// that is not a path a list may hold (path_problem) is skipped with a
// warning, a repeated path silently (the first place counts). After a tab, a
// line may carry a recording: "size=N mtime=SECONDS.NANOSECONDS
// ranges=OFFSET+LENGTH,..." (bytes); one that does not read as a recording
// (recording_problem) is a warning, and the file is read whole. Never throws.
List parse_list(std::string_view text, std::string_view source);

// The recording part of a line (after the tab), and why `r` cannot be one ("" when it can).
std::string format_recorded(const Recorded& r);
std::string recording_problem(const Recorded& r);

// The list's text with each file's recording: `of(path)` is what was read of
// it (its line then carries it; with no range when the recorded join did not
// read it, so that nothing of it is read) or nullopt (the line is kept
// as it was: a file not on the image is the reader's to skip). Comments,
// blanks and the order are kept; a recording a line had is replaced.
std::string with_recordings(std::string_view text,
                            const std::function<std::optional<Recorded>(const std::string&)>& of);

// Why `path` cannot be a line of a list ("" when it can): not absolute, a
// "." or ".." component (which would climb out of --root), a control
// character, longer than max_path_bytes.
std::string path_problem(std::string_view path);

// A part of the list under one comment line (what reads these files).
struct Section {
    std::string why;
    std::vector<std::string> files;
};
// The list's text: a header, then each section's comment and files. A file
// that path_problem() refuses, or one listed already, is left out.
std::string format_list(const std::vector<Section>& sections);

// The list a node reads: /etc's if there is one, else /usr/lib's.
struct ListFile {
    std::string path;     // its path on the node; "" when there is none
    bool masked = false;  // /etc's is a link to /dev/null: nothing is read
};
ListFile find_list(const Paths& paths);

// The list at `node_path`, read and parsed. Throws ConfigError naming it when
// it cannot be read or is larger than max_list_bytes.
List read_list(const Paths& paths, std::string_view node_path);

// ---- a recording ------------------------------------------------------------

namespace detail {
// A file's modification time as a recording holds it: ns since the epoch.
inline std::int64_t mtime_ns(const struct stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * ns_per_s + st.st_mtim.tv_nsec;
}
}  // namespace detail

// Whether the file `st` describes is still the one `r` was recorded of: the same
// size and modification time. Only then do its ranges say what a join reads of it.
inline bool still_recorded(const Recorded& r, const struct stat& st) {
    return r.size == static_cast<std::uint64_t>(st.st_size) && r.mtime_ns == detail::mtime_ns(st);
}

// The parts of the file at `node_path` that are in the page cache now
// (mincore(2) of a mapping of it), in ranges merged across gaps below
// record_gap_bytes, with its size and modification time; nullopt when it is no
// regular file there. Mapping a file reads none of it.
std::optional<Recorded> resident(const Paths& paths, std::string_view node_path);

// ---- a program's files --------------------------------------------------------

// What the dynamic loader reads an ELF object by. A file that is not a 64-bit
// little-endian ELF object is nullopt; a cut-short or inconsistent one gives
// what could be read. Never throws, never reads outside the bounds it is given.
struct ElfInfo {
    std::uint16_t machine = 0;             // e_machine
    std::string interpreter;               // PT_INTERP; "" for a static program or a library
    std::vector<std::string> needed;       // DT_NEEDED, in order
    std::vector<std::string> search_path;  // DT_RUNPATH, else DT_RPATH, split at ':'
    // each .note.dlopen entry's sonames, in the order the program would try them
    std::vector<std::vector<std::string>> dlopen;
};
// Reads `size` bytes at `offset` into a string, fewer at the end of the file.
using ReadAt = std::function<std::string(std::uint64_t offset, std::size_t size)>;
std::optional<ElfInfo> parse_elf(const ReadAt& read);
std::optional<ElfInfo> parse_elf(std::string_view bytes);

// A script's interpreter from its first line ("#!/usr/bin/python3 -s" ->
// {"/usr/bin/python3"}; "#!/usr/bin/env python3" -> {"/usr/bin/env",
// "python3"}, the name env looks up); empty when `head` is no "#!" line.
std::vector<std::string> shebang(std::string_view head);

// The files a program reads before its main() runs: found under `paths`' root.
class Files {
public:
    // Reads the loader's configuration (/etc/ld.so.conf and what it includes)
    // under the root; `program_path` is where a name without a slash is looked
    // up (a script's "env NAME"): systemd's PATH for services by default.
    explicit Files(Paths paths, std::vector<std::string> program_path = {});

    // The file `node_path` names on the node, every symbolic link followed
    // within the root (an absolute target is the node's, not the host's); ""
    // when it does not exist or links loop.
    std::string real_path(std::string_view node_path) const;
    // A name looked up in the program path: its real path, "" when none has it.
    std::string find_program(std::string_view name) const;
    // The library ld.so would load for `soname`, needed by an object of
    // `machine` in directory `origin` with `search_path` (RUNPATH, $ORIGIN
    // expanded): its real path, "" when none is found.
    std::string find_library(std::string_view soname, std::uint16_t machine,
                             const std::vector<std::string>& search_path, std::string_view origin) const;

    // `program` (absolute, or a name looked up in the program path) and what
    // its start reads: its interpreter, then the libraries, breadth first, each
    // once, as real paths; a script's interpreter and that one's files. Files
    // already in `seen` are not repeated (and what they need is not walked
    // again); the new ones are added to it. Empty when `program` is not there.
    std::vector<std::string> closure(std::string_view program, std::set<std::string>& seen) const;

    // The library directories, in the order they are searched (for tests and
    // --log-level=debug).
    const std::vector<std::string>& library_dirs() const { return library_dirs_; }

private:
    Paths paths_;
    std::vector<std::string> program_path_;
    std::vector<std::string> library_dirs_;
};

// ---- the reader --------------------------------------------------------------

// Threads reading at once by default: a lazily loaded volume serves several
// requests in parallel, and every one in flight is one the join's own reads
// may queue behind (eks-node-readahead(8), HOW).
inline constexpr unsigned default_jobs = 4;
inline constexpr unsigned max_jobs = 64;
// The size of one read: a file larger than this is shared among the threads.
inline constexpr std::size_t chunk_bytes = 1u << 20;

// How long the reads go on: a file not begun by then is left to the join, which by
// then has read what it needed itself (a join takes seconds to a minute). On a boot
// that keeps the CPU busy the reads, at the idle scheduling class, get little of it;
// past this they would only compete with the first pods (eks-node-readahead(8)).
inline constexpr std::chrono::seconds default_deadline{120};

struct FileOutcome {
    // not_reached: the deadline came before the file was begun
    enum class Kind { read, missing, not_regular, failed, not_reached };
    // what was read of a file: all of it (no recording), the recording's
    // ranges, or all of it because it changed since its recording
    enum class Part { whole, recorded, changed };
    Kind kind = Kind::missing;
    Part part = Part::whole;
    std::uint64_t bytes = 0;  // read
    int error = 0;            // errno of a failed open or read
};
struct ReadReport {
    std::vector<FileOutcome> files;  // one per file, in the list's order
    std::uint64_t bytes = 0;
    unsigned threads = 0;
};

// Reads every file (node paths, under `paths`' root) once into the page cache,
// with at most `jobs` threads (1..max_jobs): the ranges of its recording when
// it has one and is still the file recorded (size and modification time), else
// start to end. A file that is missing, not a regular file or fails to read is
// recorded and skipped. No file is begun after `deadline` (a file begun is read
// to its end).
ReadReport read_ahead(const Paths& paths, const std::vector<std::string>& files, unsigned jobs,
                      std::chrono::steady_clock::time_point deadline,
                      const std::map<std::string, Recorded>& recorded = {});

}  // namespace eksnode::readahead
