// SPDX-License-Identifier: Apache-2.0
// eks-node collect-logs: one tar.gz with what a bug report needs. The archive
// is written here (ustar + zlib, both a few dozen lines) rather than by
// spawning tar(1): the contents are redacted in memory first, so no
// unredacted copy ever touches the disk, and a missing tar cannot break it.
// The system's state comes from its own tools, spawned with an explicit argv
// (no shell); a tool that is missing or fails becomes a note, never a failure.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/redact.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/outputs.hpp"
#include "core/process.hpp"
#include "input/fragments.hpp"

namespace eksnode::cli {

const char* const collect_logs_help =
    "Usage: eks-node collect-logs [--output=FILE] [--root=DIR]\n"
    "\n"
    "Writes a tar.gz for a bug report: the journal of eks-node's units, containerd and\n"
    "kubelet, this boot's and the previous one's; cloud-init's logs and the VPC CNI's\n"
    "(/var/log/aws-routed-eni), their last 64 MiB each; the files the steps rendered, with secrets redacted (every environment value\n"
    "but the known-harmless ones, tokens, keys, passwords, credentials in URLs, AWS keys,\n"
    "and each of them wherever else it appears; the user data is left out); sysctls, mounts, block\n"
    "devices, addresses, routes, nftables and iptables rules, dmesg; and `eks-node status\n"
    "--json`. One progress line per section on stderr; a missing tool or file becomes a note\n"
    "in the archive (notes.txt), not a failure.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "The archive is created with mode 0600. See eks-node(1).\n";

namespace {

constexpr std::string_view top = "eks-node-logs";

// A journal can be hundreds of MiB; past this the archive could not be built
// in memory anyway, so the rest is dropped and the section says so.
constexpr std::size_t max_command_output = std::size_t{1} << 30;
// A log file's newest part is the one a bug report needs; the rest of a
// long-lived node's log would only make the archive too large to attach.
constexpr std::size_t max_log_bytes = std::size_t{64} << 20;

void octal(char* field, size_t width, uint64_t value) {
    // width-1 digits and a NUL, as ustar wants
    std::string digits = fmt::format("{:0{}o}", value, width - 1);
    std::memcpy(field, digits.data(), width - 1);
    field[width - 1] = '\0';
}

}  // namespace

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

namespace {

// How a text is redacted before it goes into the archive (cli/redact.hpp).
enum class Kind { text, json, toml, rendered_toml, environment, as_is };

// Everything is read first and redacted as a whole, so that a secret
// found in one file (config.json's environment, a kubeconfig token) is
// also masked where another text repeats it (a step's error in the journal).
struct Item {
    std::string name;
    std::string data;
    Kind kind;
};

// What a section gathers.
enum class Source {
    rendered_files,  // the files the steps rendered, each redacted by its format (files/...)
    fragments,       // the node.toml.d fragments, as TOML (files/...)
    journal,         // journalctl with the section's matches (the boot among them)
    log_file,        // a log file under --root, its newest max_log_bytes
    log_dir,         // each regular file of a directory under --root, as log_file
    command,         // a tool's stdout and stderr
    file,            // a file under --root (/proc)
    status,          // what `eks-node status --json` prints
};

// One part of the archive. The table below is the archive's layout, in order;
// collect_logs_cmd walks it.
struct Section {
    std::string name;               // the archive member ("files": each file its own)
    Source source;
    std::vector<std::string> what;  // journal matches, a command's argv, or a file's path
    // How the text is redacted; nullopt: each file by its own format.
    std::optional<Kind> redact;
};

const std::vector<Section>& sections() {
    static const std::vector<Section> table = {
        {"files", Source::rendered_files, {}, std::nullopt},
        {"files", Source::fragments, {}, Kind::toml},
        // the journal of this boot: our units, the generator, containerd, kubelet
        // (-u and -t together would AND their matches: the generator gets its own file)
        {"journal/eks-node.txt", Source::journal, {"-b", "-u", "eks-node*"}, Kind::text},
        {"journal/generator.txt", Source::journal, {"-b", "-t", "eks-node-generator"}, Kind::text},
        {"journal/containerd.txt", Source::journal, {"-b", "-u", "containerd.service"}, Kind::text},
        {"journal/kubelet.txt", Source::journal, {"-b", "-u", "kubelet.service"}, Kind::text},
        // a node that rebooted (a kernel update, a failed join retried) shows
        // why in the boot before; without a persistent journal, a note
        {"journal/previous-boot.txt",
         Source::journal,
         {"-b", "-1", "-u", "eks-node*", "-u", "containerd.service", "-u", "kubelet.service"},
         Kind::text},
        // what ran the user data's scripts, and the VPC CNI that gives pods
        // their addresses (a node that joined but stays NotReady)
        {"logs/cloud-init.log", Source::log_file, {"/var/log/cloud-init.log"}, Kind::text},
        {"logs/cloud-init-output.log", Source::log_file, {"/var/log/cloud-init-output.log"}, Kind::text},
        {"logs/aws-routed-eni", Source::log_dir, {"/var/log/aws-routed-eni"}, Kind::text},
        // the kernel's and the network's state
        {"system/sysctl.txt", Source::command, {"sysctl", "-a"}, Kind::text},
        {"system/mounts.txt", Source::file, {"/proc/self/mountinfo"}, Kind::text},
        {"system/modules.txt", Source::file, {"/proc/modules"}, Kind::text},
        {"system/lsblk.txt",
         Source::command,
         {"lsblk", "-a", "-o", "NAME,TYPE,SIZE,FSTYPE,LABEL,MOUNTPOINTS"},
         Kind::text},
        {"network/addresses.txt", Source::command, {"ip", "-d", "address", "show"}, Kind::text},
        {"network/routes.txt", Source::command, {"ip", "route", "show", "table", "all"}, Kind::text},
        {"network/routes6.txt", Source::command, {"ip", "-6", "route", "show", "table", "all"}, Kind::text},
        {"network/rules.txt", Source::command, {"ip", "rule", "show"}, Kind::text},
        {"network/nftables.txt", Source::command, {"nft", "list", "ruleset"}, Kind::text},
        {"network/iptables.txt", Source::command, {"iptables-save"}, Kind::text},
        {"network/ip6tables.txt", Source::command, {"ip6tables-save"}, Kind::text},
        {"system/dmesg.txt", Source::command, {"dmesg"}, Kind::text},
        // without spawning ourselves
        {"status.json", Source::status, {}, Kind::text},
    };
    return table;
}

// The last `max` bytes of a file, from a line's start where one begins in
// them, "[cut: ...]" first; nullopt when the file does not exist.
std::optional<std::string> read_tail(const fs::path& p, std::size_t max) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(p, ec))) return std::nullopt;
        throw Error(fmt::format("{}: {}", p.string(), std::strerror(errno)));
    }
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
    const std::size_t from = size > max ? size - max : 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string text(size - from, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (from == 0) return text;
    if (std::size_t nl = text.find('\n'); nl != std::string::npos) text.erase(0, nl + 1);
    return fmt::format("[cut: the first {} bytes left out]\n", size - text.size()) + text;
}

// The archive's members as they are gathered, and the notes on what is missing.
class Collection {
public:
    explicit Collection(const Paths& p) : paths(p) {}

    void gather(const Section& s) {
        switch (s.source) {
        case Source::rendered_files: return rendered_files();
        case Source::fragments: return fragments(*s.redact);
        case Source::journal: {
            std::vector<std::string> argv{"journalctl", "--no-pager", "-o", "short-precise"};
            argv.insert(argv.end(), s.what.begin(), s.what.end());
            return command(s.name, argv, *s.redact, Reread::on_rotation);
        }
        case Source::command: return command(s.name, s.what, *s.redact);
        case Source::file: return file(s.name, s.what.at(0), *s.redact);
        case Source::log_file: return log_file(s.name, s.what.at(0), *s.redact);
        case Source::log_dir: return log_dir(s.name, s.what.at(0), *s.redact);
        case Source::status: return status(s.name, *s.redact);
        }
    }

    // The tar.gz of everything gathered, redacted.
    std::string archive();

private:
    const Paths& paths;
    std::vector<Item> items;
    std::string notes;

    void progress(std::string_view section, std::string_view what) const {
        fmt::print(stderr, "collect-logs: {:<34} {}\n", section, what);
    }
    void note(std::string_view section, std::string_view why) {
        notes += fmt::format("{}: {}\n", section, why);
        progress(section, why);
    }
    // a section that could not be collected still has its file, saying why,
    // so the archive always lists the same sections
    void missing(const std::string& name, std::string_view why) {
        notes += fmt::format("{}: {}\n", name, why);
        items.push_back({name, fmt::format("[not collected: {}]\n", why), Kind::as_is});
        progress(name, fmt::format("not collected: {}", why));
    }
    void add(const std::string& name, std::string data, Kind kind = Kind::text) {
        progress(name, fmt::format("{} bytes", data.size()));
        items.push_back({name, std::move(data), kind});
    }
    // journalctl skips the active journal file whole when journald rotates it while the
    // files are opened, and says so on stderr (systemd issue #40053, open in 2026): a bug
    // report would lack the newest entries, those of the failure. Read again, twice at most.
    enum class Reread { never, on_rotation };
    static constexpr std::string_view rotated_away = "is truncated, ignoring file";
    static constexpr int max_reads = 3;

    // argv[0] from PATH, no shell; stdout and stderr in the order written
    void command(const std::string& name, const std::vector<std::string>& argv, Kind kind,
                 Reread reread = Reread::never) {
        ProcessOptions options;
        options.stderr_to = ProcessOptions::Stderr::merge;
        options.max_output = max_command_output;
        ProcessResult p = run_process(argv, options);
        for (int reads = 1; reread == Reread::on_rotation && reads < max_reads && p.started &&
                            p.out.find(rotated_away) != std::string::npos;
             ++reads)
            p = run_process(argv, options);
        if (reread == Reread::on_rotation && p.out.find(rotated_away) != std::string::npos)
            notes += fmt::format("{}: {} skipped a journal file in {} reads (journald rotating it)\n", name, argv[0],
                                 max_reads);
        int status = p.exited ? p.exit_status : 128 + p.signal;
        // 127 and no word: a shell's "command not found", for tools run through env or wrappers
        if ((!p.started && p.spawn_error == ENOENT) || (p.started && status == 127 && p.out.empty()))
            return missing(name, fmt::format("{}: not installed", argv[0]));
        if (!p.started) return missing(name, fmt::format("{}: {}", argv[0], std::strerror(p.spawn_error)));
        std::string data = std::move(p.out);
        if (p.truncated) data += fmt::format("\n[cut at {} MiB]\n", max_command_output >> 20);
        if (status != 0) {
            notes += fmt::format("{}: {} exited with status {}\n", name, argv[0], status);
            data += fmt::format("\n[{} exited with status {}]\n", argv[0], status);
        }
        add(name, std::move(data), kind);
    }
    void file(const std::string& name, std::string_view p, Kind kind) {
        try {
            auto text = read_file_if_exists(paths.of(p));
            if (text) add(name, std::move(*text), kind);
            else missing(name, fmt::format("{} not present", p));
        } catch (const std::exception& e) {
            missing(name, e.what());
        }
    }
    void log_file(const std::string& name, std::string_view p, Kind kind) {
        try {
            std::optional<std::string> text = read_tail(paths.of(p), max_log_bytes);
            if (!text) return missing(name, fmt::format("{} not present", p));
            add(name, std::move(*text), kind);
        } catch (const std::exception& e) {
            missing(name, e.what());
        }
    }
    // each file its own member, in name order; rotated logs (ipamd.log.1) too
    void log_dir(const std::string& name, std::string_view p, Kind kind) {
        // a member, not a directory: tar reads a name ending in "/" as one
        const fs::path dir = paths.of(p);
        std::error_code ec;
        if (!fs::is_directory(fs::symlink_status(dir, ec)))
            return missing(name + "/not-collected.txt", fmt::format("{} not present", p));
        std::vector<fs::path> files;
        for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
            if (e.is_regular_file(ec) && !e.is_symlink(ec)) files.push_back(e.path());
        if (ec) return missing(name + "/not-collected.txt", fmt::format("{}: {}", p, ec.message()));
        std::sort(files.begin(), files.end());
        if (files.empty()) note(name + "/", fmt::format("{} is empty", p));
        for (const fs::path& f : files)
            log_file(fmt::format("{}/{}", name, f.filename().string()), fmt::format("{}/{}", p, f.filename().string()),
                     kind);
    }
    void status(const std::string& name, Kind kind) {
        try {
            add(name, dump_pretty(status_report(), 2), kind);
        } catch (const std::exception& e) {
            missing(name, fmt::format("eks-node status: {}", e.what()));
        }
    }
    void rendered_files();
    void fragments(Kind kind);
};

void Collection::rendered_files() {
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
        // JSON, TOML and environment files are parsed and redacted by key
        // (a TOML table of headers is masked whole, which a line alone cannot
        // tell); the rest (YAML, PEM, text) as text, which masks
        // secret-looking values anywhere.
        const Kind kind = o.format == outputs::Format::json   ? Kind::json
                          : o.format == outputs::Format::toml ? Kind::rendered_toml
                          : o.format == outputs::Format::env  ? Kind::environment
                                                              : Kind::text;
        if (!o.is_pattern()) {
            collect(o.path, kind);
            continue;
        }
        // a family (a unit's environment): each file there
        std::vector<std::string> files = outputs::present(o, paths);
        for (const std::string& f : files) collect(f, kind);
        if (files.empty()) note(fmt::format("files{}", o.path), "none present");
    }
    for (std::string_view p : {path::kubelet_version_txt, path::containerd_version_txt}) collect(p, Kind::text);
}

void Collection::fragments(Kind kind) {
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
                add(name, input::read_fragment_file(p), kind);
            } catch (const std::exception& ex) {
                note(name, ex.what());
            }
        }
    }

}

std::string Collection::archive() {
    // Redact by format (which also learns the secrets), then mask every
    // learned secret in every item. A file that does not parse as its format
    // is left out: its secrets could not be told from the rest.
    Redactor redactor;
    for (Item& it : items) {
        try {
            switch (it.kind) {
            case Kind::json: it.data = redactor.json_text(it.data); break;
            case Kind::toml: it.data = redactor.toml_text(it.data); break;
            case Kind::rendered_toml: it.data = redactor.rendered_toml(it.data); break;
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
    return tar.finish();
}

}  // namespace

int collect_logs_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("collect-logs", args);
    if (!parsed.args.empty()) throw UsageError(fmt::format("collect-logs: unexpected argument \"{}\"", parsed.args[0]));
    const Paths paths(parsed.value("--root").value_or("/"));
    std::string output = parsed.value("--output").value_or("");
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

    Collection c(paths);
    for (const Section& s : sections()) c.gather(s);
    write_file_atomic(fs::absolute(output), c.archive(), 0600);
    fmt::print("{}\n", output);
    return EXIT_OK;
}

}  // namespace eksnode::cli
