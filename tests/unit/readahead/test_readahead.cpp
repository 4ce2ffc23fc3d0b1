// SPDX-License-Identifier: Apache-2.0
// The join's files read ahead at boot (readahead/): the list's text, ELF objects
// as the loader reads them, a program's files under a root, the reader.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "fixtures.hpp"
#include "readahead/readahead.hpp"

using namespace eksnode;
using eksnode::test::TempRoot;
namespace ra = eksnode::readahead;

namespace {

// ---- a small ELF-64 little-endian object, as a linker would lay one out ----------

constexpr std::uint16_t em_x86_64 = 62, em_aarch64 = 183;

struct ElfSpec {
    std::uint16_t machine = em_x86_64;
    std::string interpreter;
    std::vector<std::string> needed;
    std::string runpath;
    std::string rpath;
    std::string dlopen_json;  // a .note.dlopen descriptor, "" for none
};

void put(std::string& b, std::size_t at, std::uint64_t v, int n) {
    if (b.size() < at + n) b.resize(at + n, '\0');
    for (int i = 0; i < n; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::size_t align(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

std::string make_elf(const ElfSpec& s) {
    constexpr std::uint64_t base = 0x400000;  // the load address: DT_STRTAB is one, not an offset
    const bool interp = !s.interpreter.empty(), note = !s.dlopen_json.empty();
    const std::size_t phnum = 2 + interp + note;  // PT_LOAD, PT_DYNAMIC (+ PT_INTERP, PT_NOTE)
    std::size_t at = 64 + 56 * phnum;
    const std::size_t interp_at = at;
    at += interp ? s.interpreter.size() + 1 : 0;
    // the string table: "\0" first, then each name
    std::string strtab(1, '\0');
    auto add_str = [&](const std::string& str) {
        std::size_t off = strtab.size();
        strtab += str + '\0';
        return off;
    };
    std::vector<std::pair<std::uint64_t, std::uint64_t>> dyn;
    for (const std::string& n : s.needed) dyn.emplace_back(1, add_str(n));
    if (!s.runpath.empty()) dyn.emplace_back(29, add_str(s.runpath));
    if (!s.rpath.empty()) dyn.emplace_back(15, add_str(s.rpath));
    const std::size_t strtab_at = at;
    at = align(at + strtab.size(), 8);
    dyn.emplace_back(5, base + strtab_at);
    dyn.emplace_back(10, strtab.size());
    dyn.emplace_back(0, 0);
    const std::size_t dyn_at = at;
    at += dyn.size() * 16;
    const std::size_t note_at = at;
    std::string notes;
    if (note) {
        put(notes, 0, 4, 4);
        put(notes, 4, s.dlopen_json.size() + 1, 4);
        put(notes, 8, 0x407c0c0a, 4);
        notes += std::string("FDO\0", 4) + s.dlopen_json + '\0';
        notes.resize(align(notes.size(), 4), '\0');
    }
    at += notes.size();

    std::string b(at, '\0');
    b.replace(0, 4, "\177ELF");
    b[4] = 2, b[5] = 1, b[6] = 1;
    put(b, 16, 3, 2);  // ET_DYN
    put(b, 18, s.machine, 2);
    put(b, 20, 1, 4);
    put(b, 32, 64, 8);  // e_phoff
    put(b, 52, 64, 2);
    put(b, 54, 56, 2);
    put(b, 56, phnum, 2);
    std::size_t ph = 64;
    auto phdr = [&](std::uint32_t type, std::uint64_t off, std::uint64_t size) {
        put(b, ph, type, 4);
        put(b, ph + 8, off, 8);
        put(b, ph + 16, base + off, 8);
        put(b, ph + 32, size, 8);
        put(b, ph + 40, size, 8);
        ph += 56;
    };
    phdr(1, 0, at);  // PT_LOAD: the whole file
    if (interp) phdr(3, interp_at, s.interpreter.size() + 1);
    phdr(2, dyn_at, dyn.size() * 16);
    if (note) phdr(4, note_at, notes.size());
    if (interp) b.replace(interp_at, s.interpreter.size(), s.interpreter);
    b.replace(strtab_at, strtab.size(), strtab);
    for (std::size_t i = 0; i < dyn.size(); ++i) {
        put(b, dyn_at + 16 * i, dyn[i].first, 8);
        put(b, dyn_at + 16 * i + 8, dyn[i].second, 8);
    }
    if (note) b.replace(note_at, notes.size(), notes);
    return b;
}

void link(const TempRoot& r, std::string_view node, std::string_view target) {
    const fs::path p = r.paths().of(node);
    fs::create_directories(p.parent_path());
    fs::create_symlink(target, p);
}

}  // namespace

// ---- the list ----------------------------------------------------------------------

TEST_CASE("a list: paths in order, comments and blanks skipped, each path once", "[readahead]") {
    const ra::List l = ra::parse_list(
        "# the join's files\n\n/usr/bin/containerd\n  /usr/bin/kubelet\t\n#/usr/bin/not-this\n/usr/bin/containerd\n"
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/eks-node/readahead.list");
    CHECK(l.files ==
          std::vector<std::string>{"/usr/bin/containerd", "/usr/bin/kubelet", "/usr/lib/x86_64-linux-gnu/libc.so.6"});
    CHECK(l.warnings.empty());
}

TEST_CASE("a list: a line that is no path a list may hold is skipped with a warning naming it", "[readahead]") {
    const ra::List l =
        ra::parse_list("usr/bin/kubelet\n/var/../etc/shadow\n/a/./b\n/x\x01y\n/ok\n/x\r\nrel\tsize=1\n", "L");
    CHECK(l.files == std::vector<std::string>{"/ok"});
    REQUIRE(l.warnings.size() == 6);
    CHECK(l.warnings[0] == "L:1: usr/bin/kubelet: not an absolute path, ignoring");
    CHECK(l.warnings[1] == "L:2: /var/../etc/shadow: a \"..\" component in it, ignoring");
    CHECK(l.warnings[2] == "L:3: /a/./b: a \".\" component in it, ignoring");
    CHECK(l.warnings[3].starts_with("L:4: /x\\x01y: a control character"));
    CHECK(l.warnings[4].starts_with("L:6: /x\\r: a control character"));
    CHECK(l.warnings[5] == "L:7: rel: not an absolute path, ignoring");
}

TEST_CASE("a list: a line's recording after a tab, its ranges by the file", "[readahead]") {
    const ra::List l = ra::parse_list(
        "/whole\n/a \tsize=10 mtime=1.000000005 ranges=0+4,6+4\n"
        "/none\tranges= mtime=0.000000000  size=0\n/a\tsize=1 mtime=0.000000000 ranges=\n",
        "L");
    CHECK(l.files == std::vector<std::string>{"/whole", "/a", "/none"});
    CHECK(l.warnings.empty());
    REQUIRE(l.recorded.size() == 2);
    CHECK(l.recorded.at("/a") == ra::Recorded{10, 1'000'000'005, {{0, 4}, {6, 4}}});
    CHECK(l.recorded.at("/none") == ra::Recorded{0, 0, {}});
}

TEST_CASE("a list: a recording that does not read as one is a warning; the file is read whole", "[readahead]") {
    const std::pair<const char*, const char*> bad[] = {
        {"mtime=1.000000000 ranges=0+1", "size missing"},
        {"size=10 ranges=0+1", "mtime missing"},
        {"size=10 mtime=1.000000000", "ranges missing"},
        {"size=x mtime=1.000000000 ranges=0+1", "size: \"x\" is no number of bytes"},
        {"size=-1 mtime=1.000000000 ranges=0+1", "size: \"-1\" is no number of bytes"},
        {"size=99999999999999999999 mtime=1.000000000 ranges=0+1", "size: \"99999999999999999999\" is no number"},
        {"size=10 mtime=1.5 ranges=0+1", "mtime: \"1.5\" is no SECONDS.NANOSECONDS"},
        {"size=10 mtime=1 ranges=0+1", "mtime: \"1\" is no SECONDS.NANOSECONDS"},
        {"size=10 mtime=1.000000000 ranges=0+4,2+4", "ranges: 2+4 not after the range before"},
        {"size=10 mtime=1.000000000 ranges=8+4", "ranges: 8+4 past the size, 10"},
        {"size=10 mtime=1.000000000 ranges=3+0", "ranges: 3+0 is empty"},
        {"size=10 mtime=1.000000000 ranges=0+4,", "ranges: \"\" is no OFFSET+LENGTH"},
        {"size=10 mtime=1.000000000 ranges=0-4", "ranges: \"0-4\" is no OFFSET+LENGTH"},
        {"size=10 size=10 mtime=1.000000000 ranges=0+1", "size given twice"},
        {"size=10 mtime=1.000000000 ranges=0+1 owner=root", "unknown key \"owner\""},
        {"size=10 mtime=1.000000000 ranges=0+1 junk", "\"junk\" is no KEY=VALUE"},
    };
    for (const auto& [recording, why] : bad) {
        INFO(recording);
        const ra::List l = ra::parse_list(fmt::format("/f\t{}\n", recording), "L");
        CHECK(l.files == std::vector<std::string>{"/f"});
        CHECK(l.recorded.empty());
        REQUIRE(l.warnings.size() == 1);
        CHECK_THAT(l.warnings[0], Catch::StartsWith("L:1: /f: not a recording (") && Catch::Contains(why) &&
                                      Catch::EndsWith("), reading the whole file"));
    }
}

TEST_CASE("format_recorded: read back as the same recording; recording_problem what may not be one", "[readahead]") {
    const ra::Recorded r{123456789, 1'732'900'000'000'000'007, {{0, 4096}, {65536, 8192}, {123456000, 789}}};
    CHECK(ra::recording_problem(r).empty());
    const std::string line = ra::format_recorded(r);
    CHECK(line == "size=123456789 mtime=1732900000.000000007 ranges=0+4096,65536+8192,123456000+789");
    const ra::List l = ra::parse_list("/f\t" + line + "\n", "L");
    CHECK(l.recorded.at("/f") == r);
    CHECK(ra::recording_problem({10, -1, {}}) == "mtime: before 1970");
    CHECK(ra::recording_problem({10, 0, {{0, 5}, {5, 5}}}).empty());
    CHECK(ra::recording_problem({10, 0, {{0, 5}, {5, 6}}}) == "ranges: 5+6 past the size, 10");
    CHECK(ra::recording_problem({UINT64_MAX, 0, {{UINT64_MAX - 1, 2}}}) ==
          fmt::format("ranges: {}+2 past the size, {}", UINT64_MAX - 1, UINT64_MAX));
}

TEST_CASE("with_recordings: each path line with its recording, comments and order kept", "[readahead]") {
    const std::string text =
        "# header\n\n# section\n/read\n/unread\n/gone\n/old\tsize=1 mtime=0.000000000 ranges=0+1\n# end";
    std::vector<std::string> asked;
    const std::string out = ra::with_recordings(text, [&](const std::string& path) -> std::optional<ra::Recorded> {
        asked.push_back(path);
        if (path == "/read") return ra::Recorded{100, 5, {{0, 10}}};
        if (path == "/unread") return ra::Recorded{100, 5, {}};
        if (path == "/old") return ra::Recorded{200, 6, {{100, 100}}};
        return std::nullopt;
    });
    CHECK(asked == std::vector<std::string>{"/read", "/unread", "/gone", "/old"});
    CHECK(out ==
          "# header\n\n# section\n/read\tsize=100 mtime=0.000000005 ranges=0+10\n"
          "/unread\tsize=100 mtime=0.000000005 ranges=\n/gone\n/old\tsize=200 mtime=0.000000006 ranges=100+100\n# end\n");
    const ra::List l = ra::parse_list(out, "L");
    CHECK(l.files == std::vector<std::string>{"/read", "/unread", "/gone", "/old"});
    CHECK(l.warnings.empty());
    // a file the join did not read: a recording with no range, which reads nothing of it
    REQUIRE(l.recorded.count("/unread") == 1);
    CHECK(l.recorded.at("/unread").ranges.empty());
    CHECK(l.recorded.at("/unread").size == 100);
    // a recording that may not be one keeps the line as it was
    CHECK(ra::with_recordings("/f\n", [](const std::string&) { return ra::Recorded{1, 0, {{0, 2}}}; }) == "/f\n");
}

TEST_CASE("a list: more than max_files paths, the rest ignored with one warning", "[readahead]") {
    std::string text;
    for (std::size_t i = 0; i < ra::max_files + 10; ++i) text += "/f/" + std::to_string(i) + "\n";
    const ra::List l = ra::parse_list(text, "L");
    CHECK(l.files.size() == ra::max_files);
    REQUIRE(l.warnings.size() == 1);
    CHECK(l.warnings[0].find("more than 16384 files") != std::string::npos);
}

TEST_CASE("path_problem: what a list line may hold", "[readahead]") {
    CHECK(ra::path_problem("/usr/bin/kubelet").empty());
    CHECK(ra::path_problem("/usr/bin/..hidden").empty());
    CHECK(ra::path_problem("/").empty());
    CHECK_FALSE(ra::path_problem("").empty());
    CHECK_FALSE(ra::path_problem("/usr/..").empty());
    CHECK_FALSE(ra::path_problem("/usr/bin/\x7f").empty());
    CHECK_FALSE(ra::path_problem("/" + std::string(ra::max_path_bytes, 'a')).empty());
}

TEST_CASE("format_list: sections under their comments, read back as the same files", "[readahead]") {
    const std::string text = ra::format_list({{"eks-node-imds.service (its programs)", {"/a", "/b"}},
                                              {"nothing here", {}},
                                              {"containerd\nwith a line break", {"/b", "/c", "relative", "/d"}}});
    CHECK(text.starts_with("# The files a join reads"));
    CHECK(text.find("\n# eks-node-imds.service (its programs)\n/a\n/b\n") != std::string::npos);
    CHECK(text.find("nothing here") == std::string::npos);
    CHECK(text.find("relative") == std::string::npos);
    const ra::List l = ra::parse_list(text, "L");
    CHECK(l.files == std::vector<std::string>{"/a", "/b", "/c", "/d"});
    CHECK(l.warnings.empty());
}

TEST_CASE("find_list: /etc's hides the image's, a link to /dev/null masks both", "[readahead]") {
    TempRoot r;
    CHECK(ra::find_list(r.paths()).path.empty());
    r.write("/usr/lib/eks-node/readahead.list", "/a\n");
    CHECK(ra::find_list(r.paths()).path == "/usr/lib/eks-node/readahead.list");
    r.write("/etc/eks-node/readahead.list", "/b\n");
    CHECK(ra::find_list(r.paths()).path == "/etc/eks-node/readahead.list");
    CHECK(ra::read_list(r.paths(), "/etc/eks-node/readahead.list").files == std::vector<std::string>{"/b"});
    fs::remove(r.paths().of("/etc/eks-node/readahead.list"));
    link(r, "/etc/eks-node/readahead.list", "/dev/null");
    const ra::ListFile masked = ra::find_list(r.paths());
    CHECK(masked.masked);
    CHECK(masked.path == "/etc/eks-node/readahead.list");
}

TEST_CASE("read_list: a missing or oversized list is a ConfigError naming it", "[readahead]") {
    TempRoot r;
    CHECK_THROWS_AS(ra::read_list(r.paths(), "/etc/eks-node/readahead.list"), ConfigError);
    r.write("/etc/eks-node/readahead.list", std::string(ra::max_list_bytes + 1, '#'));
    CHECK_THROWS_WITH(ra::read_list(r.paths(), "/etc/eks-node/readahead.list"),
                      Catch::Contains("/etc/eks-node/readahead.list") && Catch::Contains("larger than"));
}

// ---- ELF objects -------------------------------------------------------------------

TEST_CASE("parse_elf: interpreter, DT_NEEDED in order, RUNPATH, the dlopen notes", "[readahead]") {
    const std::string elf = make_elf({em_x86_64,
                                      "/lib64/ld-linux-x86-64.so.2",
                                      {"libcurl.so.4", "libc.so.6"},
                                      "$ORIGIN/../lib:/opt/x",
                                      "",
                                      R"([{"feature":"bus","soname":["libsystemd.so.0"]},)"
                                      R"({"soname":["libcrypto.so.3","libcrypto.so.1.1"]},{"soname":"bad"}])"});
    const std::optional<ra::ElfInfo> info = ra::parse_elf(elf);
    REQUIRE(info);
    CHECK(info->machine == em_x86_64);
    CHECK(info->interpreter == "/lib64/ld-linux-x86-64.so.2");
    CHECK(info->needed == std::vector<std::string>{"libcurl.so.4", "libc.so.6"});
    CHECK(info->search_path == std::vector<std::string>{"$ORIGIN/../lib", "/opt/x"});
    REQUIRE(info->dlopen.size() == 2);
    CHECK(info->dlopen[0] == std::vector<std::string>{"libsystemd.so.0"});
    CHECK(info->dlopen[1] == std::vector<std::string>{"libcrypto.so.3", "libcrypto.so.1.1"});
}

TEST_CASE("parse_elf: DT_RPATH counts only without DT_RUNPATH", "[readahead]") {
    CHECK(ra::parse_elf(make_elf({em_x86_64, "", {}, "", "/rpath", ""}))->search_path ==
          std::vector<std::string>{"/rpath"});
    CHECK(ra::parse_elf(make_elf({em_x86_64, "", {}, "/runpath", "/rpath", ""}))->search_path ==
          std::vector<std::string>{"/runpath"});
}

TEST_CASE("parse_elf: not ELF-64 little endian is nothing; a cut-short object gives what there is", "[readahead]") {
    CHECK_FALSE(ra::parse_elf("#!/bin/sh\n"));
    CHECK_FALSE(ra::parse_elf(""));
    std::string elf = make_elf({em_aarch64, "/lib/ld-linux-aarch64.so.1", {"libc.so.6"}, "", "", ""});
    std::string elf32 = elf;
    elf32[4] = 1;  // ELFCLASS32
    CHECK_FALSE(ra::parse_elf(elf32));
    CHECK(ra::parse_elf(elf)->machine == em_aarch64);
    // every prefix: no crash, never more than the whole object names
    for (std::size_t n = 0; n <= elf.size(); ++n) {
        const std::optional<ra::ElfInfo> info = ra::parse_elf(std::string_view(elf).substr(0, n));
        if (info) CHECK(info->needed.size() <= 1);
    }
}

TEST_CASE("shebang: a script's interpreter, and the name env runs", "[readahead]") {
    CHECK(ra::shebang("#!/bin/sh\necho") == std::vector<std::string>{"/bin/sh"});
    CHECK(ra::shebang("#! /usr/bin/python3 -s\n") == std::vector<std::string>{"/usr/bin/python3"});
    CHECK(ra::shebang("#!/usr/bin/env python3\n") == std::vector<std::string>{"/usr/bin/env", "python3"});
    CHECK(ra::shebang("#!/usr/bin/env -S python3 -u\n") == std::vector<std::string>{"/usr/bin/env", "python3"});
    CHECK(ra::shebang("#!/usr/bin/env\n") == std::vector<std::string>{"/usr/bin/env"});
    CHECK(ra::shebang("#!python3\n").empty());
    CHECK(ra::shebang("\177ELF").empty());
}

// ---- a program's files under a root --------------------------------------------------

namespace {

// A node: Debian's layout (lib -> usr/lib, multiarch from ld.so.conf.d), a loader
// reached through an absolute link, libc through a versioned name, a library of another
// machine ahead of the right one, a program with RUNPATH $ORIGIN and a dlopen note, and
// a script run through env.
void make_node(const TempRoot& r) {
    r.write("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
    r.write("/etc/ld.so.conf.d/x86_64-linux-gnu.conf", "# Multiarch support\n/usr/lib/x86_64-linux-gnu\n");
    r.write("/etc/ld.so.conf.d/libc.conf", "/usr/local/lib\n");
    link(r, "/lib", "usr/lib");
    link(r, "/lib64/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/ld.so");
    r.write("/usr/lib/x86_64-linux-gnu/ld.so", make_elf({}));
    r.write("/usr/lib/x86_64-linux-gnu/libc-2.36.so", make_elf({}));
    link(r, "/usr/lib/x86_64-linux-gnu/libc.so.6", "libc-2.36.so");
    r.write("/usr/lib/x86_64-linux-gnu/libbar.so.1", make_elf({em_aarch64, "", {}, "", "", ""}));
    r.write("/usr/lib/libbar.so.1", make_elf({em_x86_64, "", {"libc.so.6"}, "", "", ""}));
    r.write("/usr/lib/x86_64-linux-gnu/libdl2.so.1", make_elf({}));
    r.write("/opt/app/lib/libapp.so", make_elf({em_x86_64, "", {"libc.so.6"}, "", "", ""}));
    r.write("/opt/app/bin/prog", make_elf({em_x86_64,
                                           "/lib64/ld-linux-x86-64.so.2",
                                           {"libc.so.6", "libbar.so.1", "libapp.so"},
                                           "$ORIGIN/../lib",
                                           "",
                                           R"([{"soname":["libmissing.so.9","libdl2.so.1"]}])"}));
    r.write("/usr/bin/script", "#!/usr/bin/env python3\nprint()\n");
    r.write("/usr/bin/env", make_elf({em_x86_64, "/lib64/ld-linux-x86-64.so.2", {"libc.so.6"}, "", "", ""}));
    r.write("/usr/bin/python3.11", make_elf({em_x86_64, "", {"libc.so.6"}, "", "", ""}));
    link(r, "/usr/bin/python3", "python3.11");
}

}  // namespace

TEST_CASE("Files: the loader's directories from ld.so.conf, then its own", "[readahead]") {
    TempRoot r;
    make_node(r);
    const ra::Files files(r.paths());
    CHECK(files.library_dirs() == std::vector<std::string>{"/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/lib64",
                                                           "/usr/lib64", "/lib", "/usr/lib"});
}

TEST_CASE("Files: links followed within the root, by their real path", "[readahead]") {
    TempRoot r;
    make_node(r);
    link(r, "/loop/a", "b");
    link(r, "/loop/b", "a");
    const ra::Files files(r.paths());
    CHECK(files.real_path("/lib/x86_64-linux-gnu/libc.so.6") == "/usr/lib/x86_64-linux-gnu/libc-2.36.so");
    CHECK(files.real_path("/lib64/ld-linux-x86-64.so.2") == "/usr/lib/x86_64-linux-gnu/ld.so");
    CHECK(files.real_path("/lib/../etc/ld.so.conf").empty());  // /lib/.. is /usr: no /usr/etc
    CHECK(files.real_path("/usr/lib/../../etc/ld.so.conf") == "/etc/ld.so.conf");
    CHECK(files.real_path("/loop/a").empty());
    CHECK(files.real_path("/nothing").empty());
    CHECK(files.real_path("relative").empty());
}

TEST_CASE("Files: a program's closure, breadth first, each file once", "[readahead]") {
    TempRoot r;
    make_node(r);
    const ra::Files files(r.paths());
    std::set<std::string> seen;
    CHECK(files.closure("/opt/app/bin/prog", seen) ==
          std::vector<std::string>{"/opt/app/bin/prog", "/usr/lib/x86_64-linux-gnu/ld.so",
                                   "/usr/lib/x86_64-linux-gnu/libc-2.36.so",
                                   // the aarch64 libbar ahead of it in the search is passed over
                                   "/usr/lib/libbar.so.1",
                                   // RUNPATH $ORIGIN/../lib
                                   "/opt/app/lib/libapp.so",
                                   // the dlopen note's first soname that is there
                                   "/usr/lib/x86_64-linux-gnu/libdl2.so.1"});
    // what is seen already is not listed again, nor walked
    CHECK(files.closure("/usr/bin/env", seen) == std::vector<std::string>{"/usr/bin/env"});
    CHECK(files.closure("/opt/app/bin/prog", seen).empty());
}

TEST_CASE("Files: a script's interpreter, env's program looked up in the program path", "[readahead]") {
    TempRoot r;
    make_node(r);
    const ra::Files files(r.paths(), {"/usr/bin"});
    std::set<std::string> seen;
    CHECK(files.closure("script", seen) ==
          std::vector<std::string>{"/usr/bin/script", "/usr/bin/env", "/usr/bin/python3.11",
                                   "/usr/lib/x86_64-linux-gnu/ld.so", "/usr/lib/x86_64-linux-gnu/libc-2.36.so"});
    CHECK(files.find_program("python3") == "/usr/bin/python3.11");
    CHECK(files.find_program("nosuch").empty());
    CHECK(files.closure("nosuch", seen).empty());
}

// ---- the reader ----------------------------------------------------------------------

namespace {
// a deadline no test reaches
std::chrono::steady_clock::time_point later() { return std::chrono::steady_clock::now() + std::chrono::hours(1); }
}  // namespace

TEST_CASE("read_ahead: every file read once, the missing and the irregular recorded", "[readahead]") {
    TempRoot r;
    r.write("/empty", "");
    r.write("/small", "0123456789");
    std::string big(ra::chunk_bytes * 3 + ra::chunk_bytes / 2, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    r.write("/big", big);
    r.write("/dir/x", "x");
    REQUIRE(::mkfifo(r.paths().of("/fifo").c_str(), 0600) == 0);
    const std::vector<std::string> list{"/empty", "/small", "/big", "/missing", "/dir", "/fifo", "/dir/x"};
    using K = ra::FileOutcome::Kind;
    for (unsigned jobs : {1u, 3u, 8u}) {
        INFO("jobs " << jobs);
        const ra::ReadReport rep = ra::read_ahead(r.paths(), list, jobs, later());
        REQUIRE(rep.files.size() == list.size());
        CHECK(rep.threads == std::min<unsigned>(jobs, list.size()));
        CHECK(rep.files[0].kind == K::read);
        CHECK(rep.files[0].bytes == 0);
        CHECK(rep.files[1].kind == K::read);
        CHECK(rep.files[1].bytes == 10);
        CHECK(rep.files[2].kind == K::read);
        CHECK(rep.files[2].bytes == big.size());
        CHECK(rep.files[3].kind == K::missing);
        CHECK(rep.files[4].kind == K::not_regular);
        CHECK(rep.files[5].kind == K::not_regular);
        CHECK(rep.files[6].kind == K::read);
        CHECK(rep.bytes == 10 + big.size() + 1);
    }
    CHECK(ra::read_ahead(r.paths(), {}, 4, later()).threads == 1);
}

TEST_CASE("read_ahead: no file begun after the deadline, each recorded as not reached", "[readahead]") {
    TempRoot r;
    r.write("/a", "aaaa");
    r.write("/b", std::string(ra::chunk_bytes * 2, 'b'));
    const std::vector<std::string> list{"/a", "/missing", "/b"};
    for (unsigned jobs : {1u, 4u}) {
        INFO("jobs " << jobs);
        const ra::ReadReport rep = ra::read_ahead(r.paths(), list, jobs, std::chrono::steady_clock::now());
        REQUIRE(rep.files.size() == list.size());
        for (const ra::FileOutcome& f : rep.files) {
            CHECK(f.kind == ra::FileOutcome::Kind::not_reached);
            CHECK(f.bytes == 0);
        }
        CHECK(rep.bytes == 0);
    }
}

namespace {
std::int64_t mtime_of(const TempRoot& r, std::string_view path) {
    struct stat st {};
    REQUIRE(::stat(r.paths().of(path).c_str(), &st) == 0);
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}
}  // namespace

TEST_CASE("read_ahead: a file still as recorded is read by its ranges, a changed one whole", "[readahead]") {
    TempRoot r;
    const std::uint64_t size = ra::chunk_bytes * 3 + 100;
    r.write("/recorded", std::string(size, 'r'));
    r.write("/resized", std::string(size, 's'));
    r.write("/touched", std::string(size, 't'));
    r.write("/plain", "plain");
    r.write("/nothing", std::string(100, 'n'));
    const std::vector<ra::Range> ranges{{10, 20}, {ra::chunk_bytes - 5, ra::chunk_bytes + 10}, {size - 1, 1}};
    const std::map<std::string, ra::Recorded> recorded{
        {"/recorded", {size, mtime_of(r, "/recorded"), ranges}},
        {"/resized", {size + 1, mtime_of(r, "/resized"), ranges}},
        {"/touched", {size, mtime_of(r, "/touched") + 1, ranges}},
        {"/nothing", {100, mtime_of(r, "/nothing"), {}}},
        {"/missing", {1, 0, {{0, 1}}}},
    };
    const std::vector<std::string> list{"/recorded", "/resized", "/touched", "/plain", "/nothing", "/missing"};
    using P = ra::FileOutcome::Part;
    for (unsigned jobs : {1u, 4u}) {
        INFO("jobs " << jobs);
        const ra::ReadReport rep = ra::read_ahead(r.paths(), list, jobs, later(), recorded);
        REQUIRE(rep.files.size() == list.size());
        CHECK(rep.files[0].part == P::recorded);
        CHECK(rep.files[0].bytes == 20 + ra::chunk_bytes + 10 + 1);
        CHECK(rep.files[1].part == P::changed);
        CHECK(rep.files[1].bytes == size);
        CHECK(rep.files[2].part == P::changed);
        CHECK(rep.files[2].bytes == size);
        CHECK(rep.files[3].part == P::whole);
        CHECK(rep.files[3].bytes == 5);
        CHECK(rep.files[4].part == P::recorded);
        CHECK(rep.files[4].kind == ra::FileOutcome::Kind::read);
        CHECK(rep.files[4].bytes == 0);
        CHECK(rep.files[5].kind == ra::FileOutcome::Kind::missing);
        CHECK(rep.bytes == 20 + ra::chunk_bytes + 10 + 1 + 2 * size + 5);
    }
}

TEST_CASE("resident: the pages of a file in the page cache, in ranges merged across small gaps", "[readahead]") {
    // A sparse file: only the pages written are in the page cache (a hole has no page
    // until it is read), whether the file system is a disk's or tmpfs.
    TempRoot r;
    const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t far = 5 * page + ra::record_gap_bytes;  // past the gap after the first range, twice over
    const std::uint64_t size = far + page + page / 2;
    const fs::path p = r.paths().of("/sparse");
    {
        Fd f{::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
        REQUIRE(f.fd >= 0);
        REQUIRE(::ftruncate(f.fd, static_cast<off_t>(size)) == 0);
        const std::string one(page, 'x');
        for (std::uint64_t at : {std::uint64_t{0}, page, far})
            REQUIRE(::pwrite(f.fd, one.data(), one.size(), static_cast<off_t>(at)) == static_cast<ssize_t>(page));
        REQUIRE(::pwrite(f.fd, one.data(), page / 2, static_cast<off_t>(far + page)) == static_cast<ssize_t>(page / 2));
    }
    const std::optional<ra::Recorded> rec = ra::resident(r.paths(), "/sparse");
    REQUIRE(rec);
    CHECK(rec->size == size);
    CHECK(rec->mtime_ns == mtime_of(r, "/sparse"));
    CHECK(rec->ranges == std::vector<ra::Range>{{0, 2 * page}, {far, size - far}});
    CHECK(ra::recording_problem(*rec).empty());
    {
        // a page within the gap after the first range (a page or two of 4 KiB, as on
        // every Linux AL2023 runs) joins it, the hole between included
        Fd f{::open(p.c_str(), O_WRONLY | O_CLOEXEC)};
        REQUIRE(::pwrite(f.fd, "y", 1, static_cast<off_t>(3 * page)) == 1);
        const std::optional<ra::Recorded> again = ra::resident(r.paths(), "/sparse");
        REQUIRE(again);
        CHECK(again->ranges == std::vector<ra::Range>{{0, 4 * page}, {far, size - far}});
    }
    r.write("/empty", "");
    CHECK(ra::resident(r.paths(), "/empty") == ra::Recorded{0, mtime_of(r, "/empty"), {}});
    CHECK_FALSE(ra::resident(r.paths(), "/missing"));
    // a time before 1970, which a recording cannot hold: no recording (the file is read whole)
    r.write("/old", "old");
    const struct timespec before_1970[2] = {{-1, 0}, {-1, 0}};
    REQUIRE(::utimensat(AT_FDCWD, r.paths().of("/old").c_str(), before_1970, 0) == 0);
    CHECK_FALSE(ra::resident(r.paths(), "/old"));
    r.write("/dir/x", "x");
    CHECK_FALSE(ra::resident(r.paths(), "/dir"));
}
