// eks-node collect-logs: one tar.gz with what a bug report needs. The archive
// is written here (ustar + zlib, both a few dozen lines) rather than by
// spawning tar(1): the contents are redacted in memory first, so no
// unredacted copy ever touches the disk, and a missing tar cannot break it.
// The system's state comes from its own tools, spawned with an explicit argv
// (no shell); a tool that is missing or fails becomes a note, never a failure.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/redact.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/outputs.hpp"

extern char** environ;

namespace eksnode::cli {

const char* const collect_logs_help =
    "Usage: eks-node collect-logs [--output=FILE] [--root=DIR]\n"
    "\n"
    "Writes a tar.gz for a bug report: the journal of eks-node's units, containerd and\n"
    "kubelet; the files the steps rendered, with secrets redacted (every environment value\n"
    "but the known-harmless ones, tokens, keys, passwords, credentials in URLs, AWS keys,\n"
    "and each of them wherever else it appears; the user data is left out); sysctls, mounts, block\n"
    "devices, addresses, routes, nftables and iptables rules, dmesg; and `eks-node status\n"
    "--json`. One progress line per section on stderr; a missing tool or file becomes a note\n"
    "in the archive (notes.txt), not a failure.\n"
    "\n"
    "  --output=FILE  the archive (default: eks-node-logs-HOST-YYYYmmddTHHMMSS.tar.gz here)\n"
    "  --root=DIR     read the rendered files and /proc under DIR\n"
    "  --help         show this help\n"
    "\n"
    "The archive is created with mode 0600. See eks-node(1).\n";

namespace {

constexpr std::string_view top = "eks-node-logs";

struct Spawned {
    bool started = false;
    int status = 0;  // exit status, or 128+signal
    std::string output;  // stdout and stderr, interleaved
    std::string error;   // why it did not start
};

// Runs argv[0] from PATH with stdout+stderr into a pipe; no shell.
Spawned spawn(const std::vector<std::string>& argv) {
    Spawned s;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        s.error = std::strerror(errno);
        return s;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int r = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (r != 0) {
        close(fds[0]);
        s.error = r == ENOENT ? "not installed" : std::strerror(r);
        return s;
    }
    s.started = true;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) s.output.append(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    s.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    // a shell's "command not found" convention, for tools run through env or wrappers
    if (s.status == 127 && s.output.empty()) s.started = false, s.error = "not installed";
    return s;
}

void octal(char* field, size_t width, uint64_t value) {
    // width-1 digits and a NUL, as ustar wants
    std::string digits = fmt::format("{:0{}o}", value, width - 1);
    std::memcpy(field, digits.data(), width - 1);
    field[width - 1] = '\0';
}

}  // namespace

std::string redact_secrets(std::string_view text) {
    Redactor r;
    std::string once = r.text(text);
    return r.scrub(std::move(once));
}

void TarGzWriter::add(std::string_view name, std::string_view data, unsigned mode) {
    char h[512] = {};
    std::string_view prefix, base = name;
    if (name.size() > 100) {
        // ustar splits a long name at a '/' into prefix (155) and name (100)
        size_t slash = name.rfind('/', 155);
        if (slash == std::string_view::npos || name.size() - slash - 1 > 100)
            throw Error(fmt::format("collect-logs: archive name too long: {}", name));
        prefix = name.substr(0, slash);
        base = name.substr(slash + 1);
    }
    std::memcpy(h, base.data(), base.size());
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, data.size());
    octal(h + 136, 12, static_cast<uint64_t>(std::time(nullptr)));
    std::memset(h + 148, ' ', 8);  // the checksum counts its own field as spaces
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, "root", 4);
    std::memcpy(h + 297, "root", 4);
    // an empty view's data() may be null, which memcpy must not get even for 0 bytes
    if (!prefix.empty()) std::memcpy(h + 345, prefix.data(), prefix.size());
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::string chk = fmt::format("{:06o}", sum);
    std::memcpy(h + 148, chk.data(), 6);
    h[154] = '\0';
    h[155] = ' ';
    tar_.append(h, sizeof h);
    tar_.append(data);
    tar_.append((512 - data.size() % 512) % 512, '\0');
}

std::string TarGzWriter::finish() {
    tar_.append(1024, '\0');  // two zero blocks end the archive
    z_stream z{};
    // 15 + 16: a gzip wrapper, not zlib's
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error("collect-logs: deflateInit2 failed");
    std::string out(deflateBound(&z, tar_.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(tar_.data());
    z.avail_in = static_cast<uInt>(tar_.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int r = deflate(&z, Z_FINISH);
    size_t produced = out.size() - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) throw Error("collect-logs: deflate failed");
    out.resize(produced);
    return out;
}

int collect_logs_cmd(const std::vector<std::string>& args) {
    Paths paths;
    std::string output;
    for (const std::string& a : args) {
        if (a.starts_with("--output="))
            output = a.substr(9);
        else if (a.starts_with("--root="))
            paths = Paths(a.substr(7));
        else
            throw UsageError(fmt::format("collect-logs: unexpected argument \"{}\"", a));
    }
    if (output.empty()) {
        char host[256] = "node";
        gethostname(host, sizeof host - 1);
        std::time_t t = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        output = fmt::format("eks-node-logs-{}-{}.tar.gz", host, stamp);
    }

    // Everything is read first and redacted as a whole, so that a secret
    // found in one file (config.json's environment, a kubeconfig token) is
    // also masked where another text repeats it (a step's error in the journal).
    enum class Kind { text, json, toml, environment, as_is };
    struct Item {
        std::string name;
        std::string data;
        Kind kind;
    };
    std::vector<Item> items;
    std::string notes;
    auto progress = [&](std::string_view section, std::string_view what) {
        fmt::print(stderr, "collect-logs: {:<34} {}\n", section, what);
    };
    auto note = [&](std::string_view section, std::string_view why) {
        notes += fmt::format("{}: {}\n", section, why);
        progress(section, why);
    };
    // a section that could not be collected still has its file, saying why,
    // so the archive always lists the same sections
    auto missing = [&](const std::string& name, std::string_view why) {
        notes += fmt::format("{}: {}\n", name, why);
        items.push_back({name, fmt::format("[not collected: {}]\n", why), Kind::as_is});
        progress(name, fmt::format("not collected: {}", why));
    };
    auto add = [&](const std::string& name, std::string data, Kind kind = Kind::text) {
        progress(name, fmt::format("{} bytes", data.size()));
        items.push_back({name, std::move(data), kind});
    };
    auto command = [&](const std::string& name, const std::vector<std::string>& argv) {
        Spawned s = spawn(argv);
        if (!s.started) return missing(name, fmt::format("{}: {}", argv[0], s.error));
        std::string data = s.output;
        if (s.status != 0) {
            notes += fmt::format("{}: {} exited with status {}\n", name, argv[0], s.status);
            data += fmt::format("\n[{} exited with status {}]\n", argv[0], s.status);
        }
        add(name, std::move(data));
    };

    // The steps' outputs (core/outputs.hpp), then the versions the image
    // records, which eks-node-config reads. Each is redacted by its format; a
    // secret with no format to redact by (the user data: free-form, it may
    // carry anything) is left out whole.
    auto collect = [&](std::string_view p, Kind kind) {
        std::string name = fmt::format("files{}", p);
        try {
            auto text = read_file_if_exists(paths.of(p));
            if (text) add(name, std::move(*text), kind);
            else note(name, "not present");
        } catch (const std::exception& e) {
            note(name, e.what());
        }
    };
    for (const outputs::Output& o : outputs::all) {
        if (o.secret && o.format == outputs::Format::text) {
            note(fmt::format("files{}", o.path), "left out (may hold secrets)");
            continue;
        }
        // JSON and environment files are redacted by key; the rest (TOML,
        // YAML, PEM, text) as text, which masks secret-looking values anywhere.
        switch (o.format) {
            case outputs::Format::json: collect(o.path, Kind::json); break;
            case outputs::Format::env: collect(o.path, Kind::environment); break;
            default: collect(o.path, Kind::text); break;
        }
    }
    for (std::string_view p : {path::kubelet_version_txt, path::containerd_version_txt}) collect(p, Kind::text);
    // node.toml.d fragments: the administrator's and the image's configuration
    for (std::string_view dir : {"/usr/lib/eks-node/node.toml.d", "/run/eks-node/node.toml.d",
                                 "/etc/eks-node/node.toml.d"}) {
        std::error_code ec;
        std::vector<fs::path> fragments;
        for (const auto& e : fs::directory_iterator(paths.of(dir), ec))
            if (e.is_regular_file()) fragments.push_back(e.path());
        std::sort(fragments.begin(), fragments.end());
        for (const fs::path& p : fragments) {
            std::string name = fmt::format("files{}/{}", dir, p.filename().string());
            // the user data's TOML slot holds user data: left out like it
            if (p.filename() == "50-user-data.toml") {
                note(name, "left out (user data)");
                continue;
            }
            try {
                add(name, read_file(p), Kind::toml);
            } catch (const std::exception& ex) {
                note(name, ex.what());
            }
        }
    }

    // the journal of this boot: our units, the generator, containerd, kubelet
    // (-u and -t together would AND their matches: the generator gets its own file)
    command("journal/eks-node.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-u", "eks-node*"});
    command("journal/generator.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-t",
                                      "eks-node-generator"});
    command("journal/containerd.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-u",
                                       "containerd.service"});
    command("journal/kubelet.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-u",
                                    "kubelet.service"});

    // the kernel's and the network's state
    auto proc_file = [&](const std::string& name, std::string_view p) {
        try {
            auto text = read_file_if_exists(paths.of(p));
            if (text) add(name, std::move(*text));
            else missing(name, fmt::format("{} not present", p));
        } catch (const std::exception& e) {
            missing(name, e.what());
        }
    };
    command("system/sysctl.txt", {"sysctl", "-a"});
    proc_file("system/mounts.txt", "/proc/self/mountinfo");
    proc_file("system/modules.txt", "/proc/modules");
    command("system/lsblk.txt", {"lsblk", "-a", "-o", "NAME,TYPE,SIZE,FSTYPE,LABEL,MOUNTPOINTS"});
    command("network/addresses.txt", {"ip", "-d", "address", "show"});
    command("network/routes.txt", {"ip", "route", "show", "table", "all"});
    command("network/routes6.txt", {"ip", "-6", "route", "show", "table", "all"});
    command("network/rules.txt", {"ip", "rule", "show"});
    command("network/nftables.txt", {"nft", "list", "ruleset"});
    command("network/iptables.txt", {"iptables-save"});
    command("network/ip6tables.txt", {"ip6tables-save"});
    command("system/dmesg.txt", {"dmesg"});

    // what `eks-node status --json` prints, without spawning ourselves
    try {
        add("status.json", dump_pretty(status_report(), 2));
    } catch (const std::exception& e) {
        missing("status.json", fmt::format("eks-node status: {}", e.what()));
    }

    // Redact by format (which also learns the secrets), then mask every
    // learned secret in every item. A file that does not parse as its format
    // is left out: its secrets could not be told from the rest.
    Redactor redactor;
    for (Item& it : items) {
        try {
            switch (it.kind) {
            case Kind::json: it.data = redactor.json_text(it.data); break;
            case Kind::toml: it.data = redactor.toml_text(it.data); break;
            case Kind::environment: it.data = redactor.environment_file(it.data); break;
            case Kind::text: it.data = redactor.text(it.data); break;
            case Kind::as_is: break;
            }
        } catch (const std::exception& e) {
            note(it.name, fmt::format("left out (may hold secrets): {}", e.what()));
            it.data = fmt::format("[not collected: {}]\n", e.what());
            it.kind = Kind::as_is;
        }
    }
    TarGzWriter tar;
    for (Item& it : items) {
        tar.add(fmt::format("{}/{}", top, it.name), redactor.scrub(std::move(it.data)));
        it.data = std::string();  // a journal can be hundreds of MiB: hold it once, in the archive
    }

    tar.add(fmt::format("{}/notes.txt", top), notes.empty() ? "nothing missing\n" : redactor.scrub(notes));
    progress("notes.txt", fmt::format("{} note{}", std::count(notes.begin(), notes.end(), '\n'),
                                      std::count(notes.begin(), notes.end(), '\n') == 1 ? "" : "s"));
    write_file_atomic(fs::absolute(output), tar.finish(), 0600);
    fmt::print("{}\n", output);
    return EXIT_OK;
}

}  // namespace eksnode::cli
