// SPDX-License-Identifier: Apache-2.0
// Fragment files and the settings steps read before user data is known. Kept
// apart from the rest of the config model on purpose: eks-node-imds links
// only this and the TOML reader (format/toml_json.cpp, toml++), not the whole
// model with its YAML dependency, which cost it more start-up time and memory
// than its own work.
#include "input/fragments.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/text.hpp"
#include "core/toml.hpp"
#include "format/limits.hpp"
#include "format/toml_json.hpp"

namespace eksnode::input {

namespace {

constexpr std::string_view fragment_subdir = "node.toml.d";

bool is_fragment_name(const std::string& name) {
    return name.size() > 5 && name.ends_with(".toml") && name.front() != '.';
}

// A configuration file's path is written into generated files (SourcePath=,
// comments, config.json's origins, sysctl.d): a name they could not carry
// as one line of text is refused, naming the file, before it is read.
void check_file_name(const fs::path& p) {
    const std::string name = p.filename().string();
    bool control =
        std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (control || !is_utf8_text(name))
        throw ConfigError(p.string(), "",
                          "a file name with a control character or bytes that are not UTF-8, which no generated "
                          "file could name (SourcePath=, comments, config.json's origins): rename the file");
}

}  // namespace

std::string read_fragment_file(const fs::path& p) {
    const std::string source = p.string();
    auto not_regular = [&](mode_t mode) {
        std::error_code ec;
        const char* what = S_ISFIFO(mode)   ? "a FIFO"
                           : S_ISCHR(mode)  ? "a character device"
                           : S_ISBLK(mode)  ? "a block device"
                           : S_ISSOCK(mode) ? "a socket"
                           : S_ISDIR(mode)  ? "a directory"
                                            : "an unknown kind of file";
        return ConfigError(source, "",
                           fmt::format("{}{}, not a regular file: a fragment is read only from a regular file (or "
                                       "a symlink to one)",
                                       what, fs::is_symlink(p, ec) ? " behind a symlink" : ""));
    };
    // stat() first: a device is refused without being opened (opening some
    // acts, /dev/watchdog arms the watchdog).
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        if (errno == ENOENT) throw ConfigError(source, "", "no such file (a symlink to nothing?)");
        throw Error(fmt::format("{}: cannot be read: {}", source, std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) throw not_regular(st.st_mode);
    // O_NONBLOCK: should the name turn into a FIFO in between, open() does not wait for a writer.
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    if (f.fd < 0) throw Error(fmt::format("{}: cannot open: {}", source, std::strerror(errno)));
    if (::fstat(f.fd, &st) != 0) throw Error(fmt::format("{}: cannot be read: {}", source, std::strerror(errno)));
    if (!S_ISREG(st.st_mode)) throw not_regular(st.st_mode);
    // one byte past the bound tells there is more without reading on
    std::string text;
    try {
        text = read_at_most(f.fd, format::limits::user_data_bytes + 1);
    } catch (const std::system_error& e) {
        throw Error(fmt::format("{}: read failed: {}", source, std::strerror(e.code().value())));
    }
    if (text.size() > format::limits::user_data_bytes)
        throw ConfigError(source, "",
                          fmt::format("larger than {} MiB, the bound of any configuration file: not read",
                                      format::limits::user_data_bytes >> 20));
    return text;
}

bool is_mask(const fs::path& p) {
    std::error_code ec;
    if (fs::is_symlink(p, ec)) return fs::read_symlink(p, ec) == "/dev/null";
    return fs::is_regular_file(p, ec) && fs::file_size(p, ec) == 0;
}

std::vector<FragmentFile> fragment_files(const Paths& paths) {
    // Later directories override earlier ones name by name.
    std::map<std::string, fs::path> by_name;
    for (std::string_view dir : config_dirs) {
        fs::path d = paths.of(dir) / fragment_subdir;
        std::error_code ec;
        for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
            std::string name = it->path().filename().string();
            if (!is_fragment_name(name)) continue;
            check_file_name(it->path());
            by_name[name] = it->path();
        }
    }
    std::vector<FragmentFile> out;
    out.reserve(by_name.size());
    for (auto& [name, p] : by_name) out.push_back({name, p});  // std::map: sorted by name
    return out;
}

std::vector<fs::path> nodeadm_dropins(const Paths& paths) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(paths.of(nodeadm_dropin_dir), ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        bool nodeconfig = name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
        std::error_code type_ec;
        if (!nodeconfig || name.front() == '.') continue;
        check_file_name(it->path());
        if (fs::is_regular_file(it->path(), type_ec)) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    return out;
}

json static_settings_table(const Paths& paths, std::string_view table) {
    const std::string slot = std::string(user_data_slot) + ".toml";
    const std::string field = fmt::format("settings.{}", table);
    json merged = json::object();
    for (const FragmentFile& f : fragment_files(paths)) {
        if (f.name == slot || is_mask(f.path)) continue;
        const std::string source = f.path.string();
        toml::table doc = format::parse_toml(read_fragment_file(f.path), source);
        const toml::node* section = doc.at_path(field).node();
        if (!section) continue;
        if (!section->is_table()) throw ConfigError(source, field, "must be a table");
        // Later fragments win key by key, as in the full merge.
        json values = format::toml_to_json(*section, source, field);
        for (auto& [k, v] : values.items()) merged[k] = std::move(v);
    }
    return merged;
}

}  // namespace eksnode::input
