// SPDX-License-Identifier: Apache-2.0
// The join's files read ahead at boot (readahead/): the list's text, ELF objects
// as the loader reads them, a program's files under a root, the reader.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

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
    const ra::List l = ra::parse_list("usr/bin/kubelet\n/var/../etc/shadow\n/a/./b\n/tab\there\n/ok\n/x\r\n", "L");
    CHECK(l.files == std::vector<std::string>{"/ok"});
    REQUIRE(l.warnings.size() == 5);
    CHECK(l.warnings[0] == "L:1: usr/bin/kubelet: not an absolute path, ignoring");
    CHECK(l.warnings[1] == "L:2: /var/../etc/shadow: a \"..\" component in it, ignoring");
    CHECK(l.warnings[2] == "L:3: /a/./b: a \".\" component in it, ignoring");
    CHECK(l.warnings[3].starts_with("L:4: /tab\\there: a control character"));
    CHECK(l.warnings[4].starts_with("L:6: /x\\r: a control character"));
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
