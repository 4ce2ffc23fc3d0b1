// SPDX-License-Identifier: Apache-2.0
// eks-node-containerd: the drop-ins containerd imports (config.d/*.toml),
// read without trusting them, each with what will go wrong with it over our
// config.toml, and their fingerprints for config.toml's header.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/paths.hpp"
#include "format/toml_json.hpp"
#include "render/containerd.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace detail {

namespace {

struct DropinText {
    std::optional<std::string> text;  // nullopt: not read (`problem` says why)
    std::string problem;
    std::string fingerprint;
};

// A drop-in's bytes, without waiting on a FIFO or reading past the check's
// limit: it is no file of ours, and a render step must not hang on one.
DropinText read_dropin(const fs::path& p) {
    DropinText r;
    Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (f.fd < 0) {
        r.problem = fmt::format("cannot be opened ({}): not checked", std::strerror(errno));
        return r;
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r.problem = "not a regular file: containerd will not start while it is there";
        return r;
    }
    if (static_cast<uint64_t>(st.st_size) > dropin_check_bytes) {
        r.problem = fmt::format("{} bytes, more than eks-node checks ({} MiB): not checked", st.st_size,
                                dropin_check_bytes >> 20);
        r.fingerprint = fmt::format("{}-bytes", st.st_size);
        return r;
    }
    std::string text;
    try {
        text = read_at_most(f.fd, static_cast<size_t>(st.st_size) + 1);
    } catch (const std::system_error& e) {
        r.problem = fmt::format("cannot be read ({})", std::strerror(e.code().value()));
        return r;
    }
    const size_t have = text.size();
    if (have > dropin_check_bytes) {  // grew while being read
        r.problem = fmt::format("more than eks-node checks ({} MiB): not checked", dropin_check_bytes >> 20);
        r.fingerprint = "growing";
        return r;
    }
    r.fingerprint = fnv1a64_hex(text);
    r.text = std::move(text);
    return r;
}

// containerd 1.x merges an imported file plugin by plugin: a [plugins."ID"]
// (or [proxy_plugins.NAME]) table replaces config.toml's table of that name
// whole. containerd 2 merges them key by key (containerd#9982).
void check_replaced_tables(const toml::table& dropin, const json& ours, std::vector<std::string>& warnings) {
    for (const char* section : {"plugins", "proxy_plugins"}) {
        const toml::table* theirs = dropin[section].as_table();
        auto mine = ours.find(section);
        if (!theirs || mine == ours.end() || !mine->is_object()) continue;
        for (const auto& [key, value] : *theirs) {
            auto it = mine->find(std::string(key.str()));
            if (it == mine->end() || !value.is_table()) continue;
            std::vector<std::string> lost;
            for (auto k = it->begin(); k != it->end(); ++k) lost.push_back(k.key());
            std::sort(lost.begin(), lost.end());
            warnings.push_back(fmt::format(
                "[{}.\"{}\"] replaces config.toml's whole table of that name (containerd 1.x imports merge table "
                "by table, not key by key): eks-node's {} there no longer apply; set single keys in "
                "spec.containerd.config (eks-node merges those key by key) instead",
                section, key.str(), fmt::join(lost, ", ")));
        }
    }
}

ContainerdDropin check_dropin(const std::string& node_path, const fs::path& file, const json* ours,
                              bool containerd_1x) {
    ContainerdDropin d{node_path, "", {}};
    DropinText read = read_dropin(file);
    d.fingerprint = read.fingerprint;
    if (!read.text) {
        d.warnings.push_back(read.problem);
        return d;
    }
    toml::table doc;
    try {
        doc = format::parse_toml(*read.text, node_path);
    } catch (const ConfigError& e) {
        d.warnings.push_back(fmt::format("{}: containerd will not start while it is there", e.problem()));
        return d;
    }
    if (!ours) return d;
    const int64_t version = doc["version"].value_or(int64_t{0});
    const int64_t our_version = ours->value("version", 0);
    if (version > our_version)
        d.warnings.push_back(
            fmt::format("version {} is newer than config.toml's {}: containerd will not start "
                        "while it is there",
                        version, our_version));
    // containerd 2.3 migrates an older drop-in's server settings into their
    // plugins, file by file, but reads a version 4 one as it stands.
    if (version >= 4 && our_version >= 4)
        for (const LegacyServerKey& k : legacy_server_keys(format::toml_to_json(doc, node_path, "")))
            d.warnings.push_back(
                fmt::format("{} is not read by containerd in a version 4 file: set it in "
                            "[plugins.\"{}\"] instead",
                            k.key, k.plugin));
    if (containerd_1x) check_replaced_tables(doc, *ours, d.warnings);
    return d;
}

}  // namespace

// The drop-ins over `ours` (config.toml as data; nullptr when it cannot be
// rendered: the files are then checked on their own).
std::vector<ContainerdDropin> dropins_over(const json* ours, bool containerd_1x, const Paths& paths) {
    std::vector<ContainerdDropin> out;
    const std::string dir(path::containerd_dropin_dir);
    std::error_code ec;
    fs::directory_iterator it(paths.of(dir), ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory)
            out.push_back({dir, "", {fmt::format("cannot be listed ({}): its files are not checked", ec.message())}});
        return out;
    }
    // containerd's glob *.toml; Go's filepath.Glob sorts what matches
    std::vector<std::string> names;
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name.ends_with(".toml")) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names)
        out.push_back(check_dropin(dir + "/" + name, paths.of(dir + "/" + name), ours, containerd_1x));
    return out;
}

}  // namespace detail

std::vector<ContainerdDropin> containerd_dropins(const json& cfg, const Paths& paths) {
    std::optional<json> ours;
    try {
        ours = detail::containerd_config(cfg);
    } catch (const Error&) {
        ours.reset();  // config.json is broken: its own checks say so
    }
    return detail::dropins_over(ours ? &*ours : nullptr, ours && !detail::containerd_at_least(cfg, "2.0"), paths);
}

}  // namespace eksnode::render
