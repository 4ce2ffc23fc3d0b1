// SPDX-License-Identifier: Apache-2.0
// A program's files as its start reads them, found under a root: the program,
// its ELF interpreter, the libraries it needs (DT_NEEDED) and those its
// .note.dlopen says it may load, transitively; a script's interpreter. The
// libraries are found as ld.so finds them (ld.so(8)): the object's RUNPATH
// (or RPATH), then the directories of /etc/ld.so.conf (which is what
// ldconfig puts in ld.so.cache), then the default ones; a candidate of
// another machine is passed over, as ld.so does. Symbolic links are followed
// within the root, so the list names each file once, by its real path.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>

#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::readahead {

namespace {

// systemd's PATH for services (systemd.exec(5)), and /sbin and /bin for systems
// that keep them apart from /usr.
const std::vector<std::string> service_path = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                               "/usr/bin",        "/sbin",          "/bin"};
// ld.so's own directories after the cache: x86_64's and aarch64's lib64 (Red Hat's
// layout, AL2023's), then lib (Debian's, whose multiarch directories come from
// ld.so.conf.d).
constexpr std::string_view default_library_dirs[] = {"/lib64", "/usr/lib64", "/lib", "/usr/lib"};
constexpr std::string_view ld_so_conf = "/etc/ld.so.conf";
// Bounds: symbolic links followed for one path (the kernel's own limit), files
// of one program's closure, include levels of ld.so.conf.
constexpr int max_links = 40;
constexpr std::size_t max_closure = 4096;
constexpr int max_conf_depth = 8;
// What is read of a file to tell an ELF object or a script by.
constexpr std::size_t head_bytes = 256;

std::string join(std::string_view dir, std::string_view name) {
    if (dir.empty() || dir.back() != '/') return fmt::format("{}/{}", dir, name);
    return fmt::format("{}{}", dir, name);
}

std::string parent_of(std::string_view p) {
    std::size_t slash = p.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return "/";
    return std::string(p.substr(0, slash));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// "*.conf" style patterns, which is what ld.so.conf includes: '*' and '?', nothing else.
bool glob_match(std::string_view pattern, std::string_view name) {
    if (pattern.empty()) return name.empty();
    if (pattern.front() == '*') {
        for (std::size_t i = 0; i <= name.size(); ++i)
            if (glob_match(pattern.substr(1), name.substr(i))) return true;
        return false;
    }
    if (name.empty()) return false;
    if (pattern.front() != '?' && pattern.front() != name.front()) return false;
    return glob_match(pattern.substr(1), name.substr(1));
}

// An open file of the node, read by offset.
class Object {
public:
    Object(const Paths& paths, const std::string& real) : fd_(::open(paths.of(real).c_str(), flags())) {}
    bool ok() const { return fd_.fd >= 0; }
    std::string read(std::uint64_t offset, std::size_t size) const {
        std::string out(size, '\0');
        std::size_t done = 0;
        while (done < size) {
            ssize_t n = ::pread(fd_.fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        out.resize(done);
        return out;
    }
    ReadAt reader() const {
        return [this](std::uint64_t offset, std::size_t size) { return read(offset, size); };
    }

private:
    static int flags() { return O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK; }
    Fd fd_;
};

bool is_regular(const Paths& paths, const std::string& real) {
    struct stat st {};
    return ::stat(paths.of(real).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The directories of an ld.so.conf and what it includes, in order, each once.
void read_ld_so_conf(const Paths& paths, const std::string& file, int depth, std::vector<std::string>& dirs) {
    if (depth > max_conf_depth) return;
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(paths.of(file));
    } catch (const std::exception&) {
        return;  // unreadable: the loader does without it too
    }
    if (!text) return;
    std::string_view rest = *text;
    while (!rest.empty()) {
        std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        line = trim(line.substr(0, line.find('#')));
        if (line.empty()) continue;
        if (line.starts_with("include") && line.size() > 7 && (line[7] == ' ' || line[7] == '\t')) {
            std::string pattern(trim(line.substr(8)));
            if (!pattern.starts_with('/')) pattern = join(parent_of(file), pattern);
            const std::string dir = parent_of(pattern);
            const std::string name = pattern.substr(pattern.rfind('/') + 1);
            std::vector<std::string> matches;
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(paths.of(dir), ec)) {
                const std::string n = e.path().filename().string();
                if (glob_match(name, n)) matches.push_back(join(dir, n));
            }
            std::sort(matches.begin(), matches.end());  // glob(3) order
            for (const std::string& m : matches) read_ld_so_conf(paths, m, depth + 1, dirs);
            continue;
        }
        // "hwcap N NAME" lines and the like: not directories
        if (line.front() != '/') continue;
        // a directory may be followed by "=TYPE" (libc5 days): the directory alone
        std::string dir(trim(line.substr(0, line.find('='))));
        if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    }
}

}  // namespace

Files::Files(Paths paths, std::vector<std::string> program_path)
    : paths_(std::move(paths)), program_path_(std::move(program_path)) {
    if (program_path_.empty()) program_path_ = service_path;
    read_ld_so_conf(paths_, std::string(ld_so_conf), 0, library_dirs_);
    for (std::string_view d : default_library_dirs)
        if (std::find(library_dirs_.begin(), library_dirs_.end(), d) == library_dirs_.end())
            library_dirs_.emplace_back(d);
}

std::string Files::real_path(std::string_view node_path) const {
    if (node_path.empty() || node_path.front() != '/') return "";
    // what is left to walk, and what has been walked (without links)
    std::string todo(node_path), done;
    int links = 0;
    while (!todo.empty()) {
        std::size_t start = todo.find_first_not_of('/');
        if (start == std::string::npos) break;
        std::size_t end = todo.find('/', start);
        const std::string part = todo.substr(start, end == std::string::npos ? std::string::npos : end - start);
        todo = end == std::string::npos ? "" : todo.substr(end);
        if (part == ".") continue;
        if (part == "..") {
            done = done.empty() ? "" : parent_of(done);
            if (done == "/") done.clear();
            continue;
        }
        const std::string next = done + "/" + part;
        struct stat st {};
        const fs::path host = paths_.of(next);
        if (::lstat(host.c_str(), &st) != 0) return "";
        if (!S_ISLNK(st.st_mode)) {
            done = next;
            continue;
        }
        if (++links > max_links) return "";
        std::error_code ec;
        const std::string target = fs::read_symlink(host, ec).string();
        if (ec || target.empty()) return "";
        // an absolute target starts again at the root, a relative one in this directory
        if (target.front() == '/') done.clear();
        todo = target + todo;
    }
    return done.empty() ? "/" : done;
}

std::string Files::find_program(std::string_view name) const {
    if (name.empty()) return "";
    if (name.find('/') != std::string_view::npos) return name.front() == '/' ? real_path(name) : "";
    for (const std::string& dir : program_path_) {
        std::string real = real_path(join(dir, name));
        if (!real.empty() && is_regular(paths_, real)) return real;
    }
    return "";
}

std::string Files::find_library(std::string_view soname, std::uint16_t machine,
                                const std::vector<std::string>& search_path, std::string_view origin) const {
    if (soname.empty()) return "";
    auto fits = [&](const std::string& candidate) -> std::string {
        const std::string real = real_path(candidate);
        if (real.empty() || !is_regular(paths_, real)) return "";
        Object o(paths_, real);
        if (!o.ok()) return "";
        std::optional<ElfInfo> info = parse_elf(o.reader());
        return info && info->machine == machine ? real : "";
    };
    // a name with a slash is a path (relative ones are the loader's working
    // directory's, which a boot does not have: not followed)
    if (soname.find('/') != std::string_view::npos) return soname.front() == '/' ? fits(std::string(soname)) : "";
    std::vector<std::string> dirs;
    for (const std::string& d : search_path) {
        std::string dir = d;
        for (std::string_view token : {"${ORIGIN}", "$ORIGIN"})
            for (std::size_t at; (at = dir.find(token)) != std::string::npos;) dir.replace(at, token.size(), origin);
        if (dir.starts_with('/')) dirs.push_back(std::move(dir));
    }
    dirs.insert(dirs.end(), library_dirs_.begin(), library_dirs_.end());
    for (const std::string& dir : dirs)
        if (std::string found = fits(join(dir, soname)); !found.empty()) return found;
    return "";
}

std::vector<std::string> Files::closure(std::string_view program, std::set<std::string>& seen) const {
    std::vector<std::string> out;
    std::deque<std::string> queue;
    if (std::string first = find_program(program); !first.empty()) queue.push_back(std::move(first));
    while (!queue.empty() && out.size() < max_closure) {
        const std::string real = std::move(queue.front());
        queue.pop_front();
        if (real.empty() || !is_regular(paths_, real) || !seen.insert(real).second) continue;
        out.push_back(real);
        Object o(paths_, real);
        if (!o.ok()) continue;
        const std::string head = o.read(0, head_bytes);
        if (std::vector<std::string> interp = shebang(head); !interp.empty()) {
            for (const std::string& word : interp) queue.push_back(find_program(word));
            continue;
        }
        std::optional<ElfInfo> info = parse_elf(o.reader());
        if (!info) continue;
        const std::string origin = parent_of(real);
        if (!info->interpreter.empty()) queue.push_back(real_path(info->interpreter));
        for (const std::string& lib : info->needed)
            queue.push_back(find_library(lib, info->machine, info->search_path, origin));
        // the first soname of each dlopen entry that is there, as the program tries them
        for (const std::vector<std::string>& entry : info->dlopen)
            for (const std::string& lib : entry)
                if (std::string found = find_library(lib, info->machine, info->search_path, origin); !found.empty()) {
                    queue.push_back(std::move(found));
                    break;
                }
    }
    return out;
}

}  // namespace eksnode::readahead
