// SPDX-License-Identifier: Apache-2.0
// The list of the join's files: its text, and which one a node reads.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
    "# To change it on a node, put an edited copy in /etc/eks-node/readahead.list\n"
    "# (a link to /dev/null there: nothing is read).\n";

}  // namespace

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
        std::string_view line = trim_blanks(raw);
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
