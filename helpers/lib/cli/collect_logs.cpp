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
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <regex>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "render/containerd.hpp"
#include "render/environment.hpp"
#include "render/kubelet.hpp"

extern char** environ;

namespace eksnode::cli {

const char* const collect_logs_help =
    "Usage: eks-node collect-logs [--output=FILE] [--root=DIR]\n"
    "\n"
    "Writes a tar.gz for a bug report: the journal of eks-node's units, containerd and\n"
    "kubelet; the files the steps rendered, with secrets redacted (tokens, keys, passwords,\n"
    "credentials in proxy URLs, AWS keys; the user data is left out); sysctls, mounts, block\n"
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

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Keys whose values are secrets, matched on the end of the key (lowercase).
bool secret_key(std::string_view key) {
    std::string k = lower(key);
    for (std::string_view s : {"token", "password", "passwd", "secret", "secret_access_key", "secretaccesskey",
                               "client-key-data", "client-key", "key-data", "session_token", "sessiontoken",
                               "private_key", "private-key", "privatekey", "credentials"})
        if (k.ends_with(s)) return true;
    return false;
}

std::string redact_line(std::string line) {
    // "key: value", "key=value", "\"key\": value", "export KEY=value", "- key: value"
    size_t sep = line.find_first_of(":=");
    if (sep != std::string::npos && sep + 1 < line.size() + 1) {
        std::string_view key(line.data(), sep);
        while (!key.empty() && (key.back() == ' ' || key.back() == '"' || key.back() == '\'')) key.remove_suffix(1);
        size_t start = key.find_last_of(" \t\"'{,");
        std::string_view name = start == std::string_view::npos ? key : key.substr(start + 1);
        // the key alone, or after "export", "- ", "#" (a commented-out secret is one too)
        bool one_word = key.substr(0, start == std::string_view::npos ? 0 : start).find_first_not_of(" \t\"'{,-#") ==
                            std::string_view::npos ||
                        key.starts_with("export ");
        std::string_view rest = std::string_view(line).substr(sep + 1);
        bool has_value = rest.find_first_not_of(" \t\"',") != std::string_view::npos;
        if (one_word && !name.empty() && secret_key(name) && has_value) {
            // keep a trailing comma so redacted JSON stays readable
            bool comma = std::string_view(line).ends_with(",");
            line = line.substr(0, sep + 1) + (line[sep] == ':' ? " " : "") + "\"REDACTED\"" + (comma ? "," : "");
        }
    }
    return line;
}

}  // namespace

std::string redact_secrets(std::string_view text) {
    static const std::regex url_credentials(R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s"']+@)");
    static const std::regex aws_key_id(R"((AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16})");
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == std::string_view::npos ? text.size() : nl;
        std::string line = redact_line(std::string(text.substr(pos, end - pos)));
        line = std::regex_replace(line, url_credentials, "$1REDACTED@");
        line = std::regex_replace(line, aws_key_id, "REDACTED");
        out += line;
        if (nl != std::string_view::npos) out += '\n';
        pos = end + 1;
    }
    return out;
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
    std::memcpy(h + 345, prefix.data(), prefix.size());
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

    TarGzWriter tar;
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
        tar.add(fmt::format("{}/{}", top, name), fmt::format("[not collected: {}]\n", why));
        progress(name, fmt::format("not collected: {}", why));
    };
    auto add = [&](const std::string& name, const std::string& data) {
        tar.add(fmt::format("{}/{}", top, name), redact_secrets(data));
        progress(name, fmt::format("{} bytes", data.size()));
    };
    auto command = [&](const std::string& name, const std::vector<std::string>& argv) {
        Spawned s = spawn(argv);
        if (!s.started) return missing(name, fmt::format("{}: {}", argv[0], s.error));
        std::string data = s.output;
        if (s.status != 0) {
            notes += fmt::format("{}: {} exited with status {}\n", name, argv[0], s.status);
            data += fmt::format("\n[{} exited with status {}]\n", argv[0], s.status);
        }
        add(name, data);
    };

    // the journal of this boot: our units, the generator, containerd, kubelet
    // (-u and -t together would AND their matches: the generator gets its own file)
    command("journal/eks-node.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-u", "eks-node*"});
    command("journal/generator.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-t",
                                      "eks-node-generator"});
    command("journal/containerd.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-u",
                                       "containerd.service"});
    command("journal/kubelet.txt", {"journalctl", "--no-pager", "-b", "-o", "short-precise", "-u",
                                    "kubelet.service"});

    // the rendered files, redacted; the user data is left out whole: it is
    // free-form and may carry anything
    note(fmt::format("files{}", path::user_data), "left out (may hold secrets)");
    for (std::string_view p :
         {path::instance_json, path::config_json, path::ca_crt, path::kubelet_config, path::kubelet_user_dropin,
          path::credential_provider_config, path::kubelet_env, path::kubeconfig, render_detail::bootstrap_kubeconfig,
          render_detail::default_env_file, render_detail::kubelet_env_file, render_detail::containerd_env_file,
          render_detail::resolved_dropin_path, path::containerd_config, path::base_runtime_spec,
          render_detail::soci_config_path, path::etc_hosts, path::kubelet_version_txt, path::containerd_version_txt}) {
        std::string name = fmt::format("files{}", p);
        try {
            auto text = read_file_if_exists(paths.of(p));
            if (text) add(name, *text);
            else note(name, "not present");
        } catch (const std::exception& e) {
            note(name, e.what());
        }
    }
    // node.toml.d fragments: the administrator's and the image's configuration
    for (std::string_view dir : {"/usr/lib/eks-node/node.toml.d", "/run/eks-node/node.toml.d",
                                 "/etc/eks-node/node.toml.d"}) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(paths.of(dir), ec)) {
            if (!e.is_regular_file()) continue;
            // the user data's TOML slot holds user data: left out like it
            if (e.path().filename() == "50-user-data.toml") {
                note(fmt::format("files{}/{}", dir, e.path().filename().string()), "left out (user data)");
                continue;
            }
            try {
                add(fmt::format("files{}/{}", dir, e.path().filename().string()), read_file(e.path()));
            } catch (const std::exception& ex) {
                note(fmt::format("files{}/{}", dir, e.path().filename().string()), ex.what());
            }
        }
    }

    // the kernel's and the network's state
    auto proc_file = [&](const std::string& name, std::string_view p) {
        try {
            auto text = read_file_if_exists(paths.of(p));
            if (text) add(name, *text);
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

    tar.add(fmt::format("{}/notes.txt", top), notes.empty() ? "nothing missing\n" : notes);
    progress("notes.txt", fmt::format("{} note{}", std::count(notes.begin(), notes.end(), '\n'),
                                      std::count(notes.begin(), notes.end(), '\n') == 1 ? "" : "s"));
    write_file_atomic(fs::absolute(output), tar.finish(), 0600);
    fmt::print("{}\n", output);
    return EXIT_OK;
}

}  // namespace eksnode::cli
