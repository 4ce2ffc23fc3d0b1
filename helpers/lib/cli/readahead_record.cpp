// SPDX-License-Identifier: Apache-2.0
// `eks-node readahead-record`: what a join read of each file of the image's
// list, added to its line, so that eks-node-readahead reads those ranges and not
// the whole file (eks-node-readahead(8), RECORDING).
//
// Run at the end of a recording boot: a boot of the finished image whose join
// read nothing ahead (/etc/eks-node/readahead.list a link to /dev/null) and
// has started kubelet. What is then in the page cache of the list's files is
// what the join read, and mincore(2) says which pages (readahead::resident).
// The list is read and written at the image's own path (/usr/lib), never
// /etc's: the recording belongs to the image. A file the join did not read at
// all gets a recording with no range ("ranges="); a file not on the image keeps
// its line.
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::cli {

const char* const readahead_record_help =
    "Usage: eks-node readahead-record [--root=DIR] [--print]\n"
    "\n"
    "For an image build, at the end of a recording boot (a join with no read-ahead: the list in\n"
    "/etc/eks-node masked): adds to each line of /usr/lib/eks-node/readahead.list the ranges of\n"
    "the file that are in the page cache now, with its size and modification time, so that\n"
    "eks-node-readahead reads only those while the file is unchanged. Reads no file's data.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "See eks-node-readahead(8).\n";

int readahead_record_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("readahead-record", args);
    if (!parsed.args.empty())
        throw UsageError(fmt::format("readahead-record: unexpected argument \"{}\"", parsed.args[0]));
    const Paths paths(parsed.value("--root").value_or("/"));
    const fs::path p = paths.of(readahead::image_list);
    const std::optional<std::string> read = read_file_if_exists(p);
    if (!read)
        throw ConfigError(std::string(readahead::image_list), "",
                          "not there: `eks-node readahead-list` writes it first");
    const std::string& text = *read;
    if (text.size() > readahead::max_list_bytes)
        throw ConfigError(std::string(readahead::image_list), "",
                          fmt::format("larger than {} KiB: not recorded", readahead::max_list_bytes >> 10));

    std::size_t files = 0, unread = 0;
    std::uint64_t listed = 0, recorded = 0;
    const std::string out = readahead::with_recordings(text, [&](const std::string& path) {
        std::optional<readahead::Recorded> r = readahead::resident(paths, path);
        if (!r) return r;
        ++files;
        listed += r->size;
        if (r->ranges.empty()) ++unread;
        for (const readahead::Range& range : r->ranges) recorded += range.length;
        return r;
    });
    if (parsed.has("--print")) {
        std::fputs(out.c_str(), stdout);
        return EXIT_OK;
    }
    if (out.size() > readahead::max_list_bytes)
        throw ConfigError(
            std::string(readahead::image_list), "",
            fmt::format("would be larger than {} KiB with its ranges: not written", readahead::max_list_bytes >> 10));
    const WriteResult w = write_file_atomic(p, out, 0644);
    fmt::print("{} {}: {} files recorded, {:.1f} of their {:.1f} MiB read by the join, {} not read at all\n",
               w == WriteResult::written ? "wrote" : "kept ", p.string(), files,
               static_cast<double>(recorded) / (1024.0 * 1024.0), static_cast<double>(listed) / (1024.0 * 1024.0),
               unread);
    return EXIT_OK;
}

}  // namespace eksnode::cli
