// SPDX-License-Identifier: Apache-2.0
// The list eks-node-readahead reads at boot (readahead::parse_list): the image's, or an
// admin's copy in /etc, any text. Never an exception; every path it gives is one a list
// may hold, once, at most max_files of them, each warning one line; every recording
// it keeps is one of a listed file that recording_problem() accepts and that
// format_recorded() writes back as itself; the list format_list() writes of them
// reads back as the same paths, and with_recordings() with the recordings read as
// the same paths and recordings (one with nothing read too). Byte 0's low bit sends the
// rest to the ELF reader instead (readahead::parse_elf, what `eks-node readahead-list`
// and validate --image read an image's programs with) and the script reader
// (readahead::shebang): no exception, no read outside the bytes, names bounded.
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "fuzz.hpp"
#include "readahead/readahead.hpp"

namespace {

namespace ra = eksnode::readahead;

void list(std::string_view text) {
    const ra::List l = ra::parse_list(text, "/etc/eks-node/readahead.list");
    if (l.files.size() > ra::max_files) fuzz::broken("more files than max_files");
    std::set<std::string> seen;
    for (const std::string& f : l.files) {
        if (!ra::path_problem(f).empty()) fuzz::broken("a path the list may not hold accepted");
        if (!seen.insert(f).second) fuzz::broken("a path given twice");
    }
    for (const std::string& w : l.warnings)
        if (w.find('\n') != std::string::npos || w.size() > 4096) fuzz::broken("a warning not one bounded line");
    const ra::List again = ra::parse_list(ra::format_list({{"a comment", l.files}}), "again");
    if (again.files != l.files || !again.warnings.empty()) fuzz::broken("format_list does not read back as itself");
    for (const auto& [path, r] : l.recorded) {
        if (!seen.count(path)) fuzz::broken("a recording of a file not listed");
        if (!ra::recording_problem(r).empty()) fuzz::broken("a recording accepted that recording_problem refuses");
        const ra::List one = ra::parse_list("/f\t" + ra::format_recorded(r), "one");
        if (one.recorded.size() != 1 || one.recorded.begin()->second != r)
            fuzz::broken("format_recorded does not read back as itself");
    }
    if (l.files.size() == ra::max_files) return;  // files past the limit would come in again
    const std::string recorded = ra::with_recordings(text, [&](const std::string& path) -> std::optional<ra::Recorded> {
        const auto r = l.recorded.find(path);
        return r == l.recorded.end() ? std::nullopt : std::optional<ra::Recorded>(r->second);
    });
    // every file comes back with its recording, one with no range (not read) too
    const ra::List back = ra::parse_list(recorded, "recorded");
    if (back.files != l.files) fuzz::broken("with_recordings does not read back as the same files");
    if (back.recorded != l.recorded) fuzz::broken("with_recordings does not read back as the same recordings");
}

void elf(std::string_view bytes) {
    if (std::optional<ra::ElfInfo> info = ra::parse_elf(bytes)) {
        auto bounded = [](const std::string& s) { return s.size() <= ra::max_path_bytes; };
        if (!bounded(info->interpreter)) fuzz::broken("an interpreter longer than a path");
        for (const std::string& n : info->needed)
            if (!bounded(n) || n.empty()) fuzz::broken("a DT_NEEDED name empty or longer than a path");
        for (const std::string& n : info->search_path)
            if (!bounded(n)) fuzz::broken("a search path longer than a path");
    }
    const std::vector<std::string> words = ra::shebang(bytes);
    if (words.size() > 2 || (!words.empty() && words.front().front() != '/'))
        fuzz::broken("a script's interpreter that is not one absolute path (and env's name)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view rest = fuzz::text(data + 1, size - 1);
    if (data[0] & 1) elf(rest);
    else list(rest);
    return 0;
}
