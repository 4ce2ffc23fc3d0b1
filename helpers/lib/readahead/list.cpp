// SPDX-License-Identifier: Apache-2.0
// The list of the join's files: its text, and which one a node reads.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/syntax.hpp"
#include "core/text.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::readahead {

namespace {

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

constexpr std::string_view header =
    "# The files a join reads, in the order it reads them: eks-node-readahead reads them\n"
    "# into the page cache at the start of the boot (eks-node-readahead(8)).\n"
    "# Written at image build by `eks-node readahead-list`, which writes it again.\n"
    "# `eks-node readahead-record` adds to a line, after a tab, what a join read of the file.\n"
    "# To change it on a node, put an edited copy in /etc/eks-node/readahead.list\n"
    "# (a link to /dev/null there: nothing is read).\n";

// A line of a list, its blanks dropped: the path part, and after a tab the
// recording part, if any.
struct Line {
    std::string_view path;
    std::optional<std::string_view> recording;
};
Line split_line(std::string_view raw) {
    std::string_view line = trim_blanks(raw);
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) return {line, std::nullopt};
    return {trim_blanks(line.substr(0, tab)), line.substr(tab + 1)};
}

// a whole decimal number, no sign, no blanks
template <class T>
bool number(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// "SECONDS.NANOSECONDS", nine digits after the point
bool mtime(std::string_view s, std::int64_t& out) {
    const size_t dot = s.find('.');
    std::int64_t sec = 0, nsec = 0;
    if (dot == std::string_view::npos || s.size() - dot - 1 != 9 || !number(s.substr(0, dot), sec) ||
        !number(s.substr(dot + 1), nsec) || sec > INT64_MAX / ns_per_s - 1)
        return false;
    out = sec * ns_per_s + nsec;
    return true;
}

// The recording part of a line ("" and `out` set, else why it is none).
std::string parse_recorded(std::string_view text, Recorded& out) {
    bool size = false, time = false, ranges = false;
    for (size_t pos = 0; pos <= text.size();) {
        size_t end = text.find(' ', pos);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view word = text.substr(pos, end - pos);
        pos = end + 1;
        if (word.empty()) continue;
        const size_t eq = word.find('=');
        const std::string_view key = word.substr(0, eq),
                               value = eq == std::string_view::npos ? "" : word.substr(eq + 1);
        if (eq == std::string_view::npos) return fmt::format("\"{}\" is no KEY=VALUE", one_line(word, 40));
        if (key == "size" && !size) {
            if (!number(value, out.size)) return fmt::format("size: \"{}\" is no number of bytes", one_line(value, 40));
            size = true;
        } else if (key == "mtime" && !time) {
            if (!mtime(value, out.mtime_ns))
                return fmt::format("mtime: \"{}\" is no SECONDS.NANOSECONDS", one_line(value, 40));
            time = true;
        } else if (key == "ranges" && !ranges) {
            for (size_t at = 0; !value.empty();) {
                const size_t comma = value.find(',', at);
                const std::string_view r = value.substr(at, comma == std::string_view::npos ? comma : comma - at);
                const size_t plus = r.find('+');
                Range range;
                if (plus == std::string_view::npos || !number(r.substr(0, plus), range.offset) ||
                    !number(r.substr(plus + 1), range.length))
                    return fmt::format("ranges: \"{}\" is no OFFSET+LENGTH", one_line(r, 60));
                if (out.ranges.size() == max_ranges) return fmt::format("ranges: more than {}", max_ranges);
                out.ranges.push_back(range);
                if (comma == std::string_view::npos) break;
                at = comma + 1;
            }
            ranges = true;
        } else if (key == "size" || key == "mtime" || key == "ranges") {
            return fmt::format("{} given twice", key);
        } else {
            return fmt::format("unknown key \"{}\"", one_line(key, 40));
        }
    }
    if (!size || !time || !ranges) return fmt::format("{} missing", !size ? "size" : !time ? "mtime" : "ranges");
    return recording_problem(out);
}

}  // namespace

std::string recording_problem(const Recorded& r) {
    if (r.mtime_ns < 0) return "mtime: before 1970";
    if (r.ranges.size() > max_ranges) return fmt::format("ranges: more than {}", max_ranges);
    std::uint64_t end = 0;
    for (const Range& range : r.ranges) {
        if (range.length == 0) return fmt::format("ranges: {}+0 is empty", range.offset);
        if (range.offset < end)
            return fmt::format("ranges: {}+{} not after the range before", range.offset, range.length);
        if (range.offset > r.size || range.length > r.size - range.offset)
            return fmt::format("ranges: {}+{} past the size, {}", range.offset, range.length, r.size);
        end = range.offset + range.length;
    }
    return "";
}

std::string format_recorded(const Recorded& r) {
    std::string out =
        fmt::format("size={} mtime={}.{:09} ranges=", r.size, r.mtime_ns / ns_per_s, r.mtime_ns % ns_per_s);
    for (size_t i = 0; i < r.ranges.size(); ++i)
        out += fmt::format("{}{}+{}", i ? "," : "", r.ranges[i].offset, r.ranges[i].length);
    return out;
}

std::string path_problem(std::string_view path) {
    if (path.empty() || path.front() != '/') return "not an absolute path";
    if (path.size() > max_path_bytes) return fmt::format("longer than {} bytes", max_path_bytes);
    for (unsigned char c : path)
        if (c < 0x20 || c == 0x7f) return "a control character in it";
    for (size_t start = 1; start <= path.size();) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(start, end - start);
        if (part == "." || part == "..") return fmt::format("a \"{}\" component in it", part);
        start = end + 1;
    }
    return "";
}

List parse_list(std::string_view text, std::string_view source) {
    List out;
    std::set<std::string_view> seen;
    size_t lineno = 0;
    bool full = false;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++lineno;
        const auto [line, recording] = split_line(raw);
        if (line.empty() || line.front() == '#') continue;
        if (std::string problem = path_problem(line); !problem.empty()) {
            out.warnings.push_back(
                fmt::format("{}:{}: {}: {}, ignoring", source, lineno, one_line(line, 200), problem));
            continue;
        }
        if (!seen.insert(line).second) continue;
        if (out.files.size() == max_files) {
            if (!full)
                out.warnings.push_back(
                    fmt::format("{}:{}: more than {} files, ignoring the rest", source, lineno, max_files));
            full = true;
            continue;
        }
        out.files.emplace_back(line);
        if (!recording) continue;
        Recorded r;
        if (std::string problem = parse_recorded(*recording, r); !problem.empty())
            out.warnings.push_back(fmt::format("{}:{}: {}: not a recording ({}), reading the whole file", source,
                                               lineno, one_line(line, 200), problem));
        else out.recorded.emplace(std::string(line), std::move(r));
    }
    return out;
}

std::string with_recordings(std::string_view text,
                            const std::function<std::optional<Recorded>(const std::string&)>& of) {
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        const std::string_view line = split_line(raw).path;
        std::optional<Recorded> r;
        if (!line.empty() && line.front() != '#' && path_problem(line).empty()) r = of(std::string(line));
        // a file the join did not read keeps its line with no range ("ranges="): the reader
        // reads nothing of it while it is unchanged, and a list written again keeps that too
        // (a comment would hold no size or time to compare, and come back a whole file)
        if (!r || !recording_problem(*r).empty()) out += fmt::format("{}\n", raw);
        else out += fmt::format("{}\t{}\n", line, format_recorded(*r));
    }
    return out;
}

std::string format_list(const std::vector<Section>& sections) {
    std::string out(header);
    std::set<std::string> seen;
    for (const Section& s : sections) {
        std::string lines;
        for (const std::string& f : s.files)
            if (path_problem(f).empty() && seen.insert(f).second) lines += f + "\n";
        if (lines.empty()) continue;
        out += fmt::format("\n# {}\n{}", syntax::comment(s.why), lines);
    }
    return out;
}

ListFile find_list(const Paths& paths) {
    struct stat st {};
    const fs::path admin = paths.of(admin_list);
    if (::lstat(admin.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            if (fs::read_symlink(admin, ec) == "/dev/null") return {std::string(admin_list), true};
        }
        return {std::string(admin_list), false};
    }
    if (::lstat(paths.of(image_list).c_str(), &st) == 0) return {std::string(image_list), false};
    return {};
}

List read_list(const Paths& paths, std::string_view node_path) {
    const fs::path p = paths.of(node_path);
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    if (f.fd < 0)
        throw ConfigError(std::string(node_path), "", fmt::format("cannot be read: {}", std::strerror(errno)));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw ConfigError(std::string(node_path), "", "not a regular file");
    std::string text;
    try {
        text = read_at_most(f.fd, max_list_bytes + 1);
    } catch (const std::system_error& e) {
        throw ConfigError(std::string(node_path), "", fmt::format("cannot be read: {}", e.code().message()));
    }
    if (text.size() > max_list_bytes)
        throw ConfigError(std::string(node_path), "",
                          fmt::format("larger than {} KiB, which no join's list is: not read", max_list_bytes >> 10));
    return parse_list(text, node_path);
}

}  // namespace eksnode::readahead
