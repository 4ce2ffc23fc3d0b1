// SPDX-License-Identifier: Apache-2.0
// spec.instance.storage.volumes: the entries, checked; the EBS name in NVMe
// identify data; what a probe of a volume means. See storage/ebs.hpp.
#include "storage/ebs.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/syntax.hpp"
#include "core/text.hpp"

namespace eksnode::storage {

namespace {

bool within(std::string_view path, std::string_view dir) {
    return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

// The targets instance.localStorage takes for itself, and what it calls them.
std::vector<std::pair<std::string, std::string>> local_storage_claims(const json& config) {
    std::vector<std::pair<std::string, std::string>> out;
    std::optional<Settings> s;
    try {
        s = settings_from_config(config, "config.json");
    } catch (const std::exception&) {
        return out;  // refused on its own, with its own words
    }
    if (!s) return out;
    out.emplace_back(s->mount_path, "spec.instance.localStorage.mountPath");
    if (s->strategy == Strategy::mount) return out;
    for (const Bind& b : binds_for(s->node)) {
        if (!b.disable.empty() &&
            std::find(s->disabled_mounts.begin(), s->disabled_mounts.end(), b.disable) != s->disabled_mounts.end())
            continue;
        out.emplace_back(b.where, fmt::format("spec.instance.localStorage.strategy {} (its bind mount; "
                                              "disabledMounts: {} keeps it off the array)",
                                              strategy_name(s->strategy), b.disable.empty() ? "none" : b.disable));
    }
    return out;
}

}  // namespace

std::string Volume::field() const { return fmt::format("spec.instance.storage.volumes[{}]", index); }
std::string Volume::link() const { return fmt::format("{}/{}", ebs_link_dir, index); }

std::string normalise_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return "";
    std::string out;
    size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view part = path.substr(i, j - i);
        i = j;
        if (part.empty()) continue;
        if (part == "." || part == "..") return "";
        out += '/';
        out += part;
    }
    return out;  // "" for "/"
}

std::vector<Volume> volumes_from_config(const json& config, const SourceOf& source_of) {
    std::vector<Volume> out;
    const json* spec = config.is_object() && config.contains("spec") ? &config["spec"] : nullptr;
    if (!spec || !spec->is_object() || !spec->contains("instance") || !(*spec)["instance"].is_object()) return out;
    const json& inst = (*spec)["instance"];
    if (!inst.contains("storage")) return out;
    const json& storage = inst["storage"];
    const std::string at = "/spec/instance/storage";
    auto bad = [&](const std::string& pointer, const std::string& field, const std::string& problem) {
        return ConfigError(source_of(pointer), field, problem);
    };
    if (!storage.is_object())
        throw bad(at, "spec.instance.storage", fmt::format("{} is not an object", storage.dump()));
    if (!storage.contains("volumes") || storage["volumes"].is_null()) return out;
    const json& list = storage["volumes"];
    if (!list.is_array())
        throw bad(at + "/volumes", "spec.instance.storage.volumes", fmt::format("{} is not a list", list.dump()));

    std::map<std::string, std::string> target_owner;  // normalised target -> field that mounts it
    std::map<std::string, std::string> device_owner;
    const auto claims = local_storage_claims(config);
    for (size_t i = 0; i < list.size(); ++i) {
        Volume v;
        v.index = i;
        const std::string ptr = fmt::format("{}/volumes/{}", at, i);
        const json& e = list[i];
        if (!e.is_object()) throw bad(ptr, v.field(), fmt::format("{} is not an object", e.dump()));

        const json* dev = e.contains("device") ? &e["device"] : nullptr;
        if (!dev || !dev->is_string() || dev->get_ref<const std::string&>().empty())
            throw bad(ptr + "/device", v.field() + ".device", "required: the volume's device, e.g. \"/dev/xvdb\"");
        v.device = dev->get<std::string>();
        // It becomes part of messages and a path the step opens: one line, no blank.
        std::string nd = normalise_path(v.device);
        if (nd.rfind("/dev/", 0) != 0 || !syntax::unit::path_problem(v.device).empty() ||
            v.device.find(' ') != std::string::npos)
            throw bad(ptr + "/device", v.field() + ".device",
                      fmt::format("{} is not a device path under /dev (e.g. \"/dev/xvdb\")", dev->dump()));
        if (auto [it, fresh] = device_owner.emplace(nd, v.field()); !fresh)
            throw bad(ptr + "/device", v.field() + ".device",
                      fmt::format("{} is also {}.device: one volume, one entry", v.device, it->second));

        const bool many = e.contains("mountTargets"), one = e.contains("mountTarget");
        if (many && one)
            throw bad(ptr + "/mountTarget", v.field(),
                      "sets both mountTarget and mountTargets (nodeadm's two shapes of the same field): keep one");
        std::vector<std::pair<std::string, const json*>> raw;  // field, value
        if (one) {
            raw.emplace_back(v.field() + ".mountTarget", &e["mountTarget"]);
        } else if (many) {
            const json& ts = e["mountTargets"];
            if (!ts.is_array())
                throw bad(ptr + "/mountTargets", v.field() + ".mountTargets",
                          fmt::format("{} is not a list", ts.dump()));
            for (size_t k = 0; k < ts.size(); ++k)
                raw.emplace_back(fmt::format("{}.mountTargets[{}]", v.field(), k), &ts[k]);
        }
        if (raw.empty()) throw bad(ptr, v.field(), "has no mountTarget: where should the volume be mounted?");
        const std::string tptr = ptr + (one ? "/mountTarget" : "/mountTargets");
        for (const auto& [field, value] : raw) {
            std::string t = value->is_string() ? normalise_path(value->get<std::string>()) : std::string();
            // What= and Where= of mount units and a RequiresMountsFor= list: no blank
            if (t.empty() || !syntax::unit::path_problem(t).empty() || t.find(' ') != std::string::npos)
                throw bad(tptr, field, fmt::format("{} is not an absolute directory other than /", value->dump()));
            // the generator writes a NAME.mount for it, which mounts it over whatever is there
            if (std::string problem = mount_point_problem(t); !problem.empty()) throw bad(tptr, field, problem);
            if (std::string problem = unit_name_problem(t, ".mount"); !problem.empty()) throw bad(tptr, field, problem);
            if (auto [it, fresh] = target_owner.emplace(t, field); !fresh)
                throw bad(tptr, field,
                          fmt::format("{} is mounted by {} already: one volume per directory", t, it->second));
            for (const auto& [claim, by] : claims) {
                if (t == claim)
                    throw bad(tptr, field, fmt::format("{} is taken by {} too: one owner per directory", t, by));
                if (within(t, claim) || within(claim, t))
                    throw bad(tptr, field,
                              fmt::format("{} {} {}, which {} takes: one owner per directory", t,
                                          within(t, claim) ? "is inside" : "holds", claim, by));
            }
            v.targets.push_back(t);
        }

        v.fs_type = "xfs";  // nodeadm's default
        if (e.contains("fsType") && !(e["fsType"].is_string() && e["fsType"].get_ref<const std::string&>().empty())) {
            const json& f = e["fsType"];
            if (f != "xfs" && f != "ext4")
                throw bad(ptr + "/fsType", v.field() + ".fsType", fmt::format("{} is not one of xfs, ext4", f.dump()));
            v.fs_type = f.get<std::string>();
            v.fs_type_set = true;
        }
        out.push_back(std::move(v));
    }
    return out;
}

std::vector<std::string> ebs_consumers(Node node) {
    // A bind's consumers name the directory's users (storage.cpp, binds_for):
    // every one of them waits for every volume, whatever it holds, since a
    // target may be any directory.
    std::vector<std::string> out;
    for (const Bind& b : binds_for(node))
        for (const std::string& c : b.consumers)
            if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    const std::string primary(primary_consumer(node));
    if (std::find(out.begin(), out.end(), primary) == out.end()) out.push_back(primary);
    std::sort(out.begin(), out.end());
    return out;
}

std::string ebs_name_from_identify(std::string_view identify) {
    // The Identify Controller data is 4096 bytes; bytes 3072.. are vendor
    // specific, and EBS keeps the block device name in the first 32.
    constexpr size_t offset = 3072, size = 32;
    if (identify.size() < offset + size) return "";
    std::string_view name = identify.substr(offset, size);
    size_t end = name.find('\0');
    if (end != std::string_view::npos) name = name.substr(0, end);
    return std::string(trim_line(name));
}

bool ebs_name_matches(std::string_view device, std::string_view ebs_name) {
    auto base = [](std::string_view s) {
        if (s.rfind("/dev/", 0) == 0) s.remove_prefix(5);
        std::string b(s);
        if (b.rfind("xvd", 0) == 0) b = "sd" + b.substr(3);
        return b;
    };
    std::string a = base(device), b = base(ebs_name);
    return !a.empty() && a.find('/') == std::string::npos && a == b;
}

VolumeProbe classify_volume(int status, std::string_view output, const Volume& v) {
    // classify_probe() knows instance store's labels; the keys are read the same way
    Probe p = classify_probe(status, output);
    if (p.content == Content::blank) return {VolumeContent::blank, "", ""};
    std::string type, label;
    for (std::string_view rest = output; !rest.empty();) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.rfind("TYPE=", 0) == 0) type = std::string(line.substr(5));
        else if (line.rfind("LABEL=", 0) == 0) label = std::string(line.substr(6));
    }
    std::string what =
        p.content == Content::foreign ? p.what : "TYPE=" + type + (label.empty() ? "" : " LABEL=" + label);
    if (type == v.fs_type && label == ebs_label_unfinished) return {VolumeContent::unfinished, type, what};
    bool ok = v.fs_type_set ? type == v.fs_type : (type == "xfs" || type == "ext4");
    if (ok) return {VolumeContent::usable, type, what};
    return {VolumeContent::foreign, type, what};
}

}  // namespace eksnode::storage
