// SPDX-License-Identifier: Apache-2.0
// eks-node-kubelet: everything kubelet.service reads, written where nodeadm
// writes it (its environment and the DNS settings are eks-node-system's).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "config/credential_providers.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "core/paths.hpp"
#include "render/kubelet.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace {

using namespace render::detail;

// AL2's guide has users edit /etc/kubernetes/kubelet/kubelet-config.json with
// jq after bootstrap.sh and restart kubelet. eks-node's kubelet reads
// config.json and its drop-ins instead, so the step writes that file as the
// merged configuration kubelet runs with, and carries an edit of it into
// config.json and the last drop-in, 90-kubelet-config-json.conf, where it
// outlives every re-render (the edited file is rewritten each time). An
// edit is what differs from the step's own last copy of the file: a value the
// step itself changed since (new user data) is not one.

// The values in `now` the step wrote in none of `versions`, as a drop-in over
// them sets them: objects key by key, anything else whole. A key every
// version had and `now` lacks cannot be said in a drop-in: named in `removed`.
json edits_from(const std::vector<const json*>& versions, const json& now, const std::string& at,
                std::vector<std::string>& removed) {
    json out = json::object();
    for (const auto& [k, v] : now.items()) {
        if (at.empty() && (k == "apiVersion" || k == "kind")) continue;
        std::vector<const json*> objects;
        bool written = false;
        for (const json* b : versions) {
            auto it = b->find(k);
            if (it == b->end()) continue;
            written |= *it == v;
            if (it->is_object()) objects.push_back(&*it);
        }
        if (written) continue;
        if (v.is_object() && !objects.empty()) {
            json sub = edits_from(objects, v, at + k + ".", removed);
            if (!sub.empty()) out[k] = std::move(sub);
        } else {
            out[k] = v;
        }
    }
    if (versions.empty()) return out;
    for (const auto& [k, v] : versions.front()->items()) {
        bool everywhere = !now.contains(k);
        for (const json* b : versions) everywhere &= b->contains(k);
        if (everywhere) removed.push_back(at + k);
    }
    return out;
}

// A JSON object from a file, or ConfigError naming
// the file (exit 6: kubelet must not start on a file it would refuse).
std::optional<json> read_object(const Paths& paths, std::string_view absolute) {
    std::optional<std::string> text = read_file_if_exists(paths.of(absolute));
    if (!text) return std::nullopt;
    json j;
    try {
        j = json::parse(*text);
    } catch (const json::parse_error& e) {
        throw ConfigError(std::string(absolute), "", fmt::format("not JSON: {}", e.what()));
    }
    if (!j.is_object()) throw ConfigError(std::string(absolute), "", "not a JSON object");
    return j;
}

// While the step replaces the AL2 file, both its old and its new version,
// beside the record: a run cut off between the writes of the file and of the
// record leaves a file this names, never taken for an edit. The next run
// removes it; a temporary file of the record's (.NAME.SUFFIX), no output.
// Written in place, not through a temporary file of its own (that would be
// one more to leave behind): a half-written one is ignored, and then the
// file has not been touched yet either.
constexpr std::string_view al2_replacing = "/var/lib/eks-node/kubelet/.kubelet-config.json.replacing";

void write_replacing(const fs::path& p, std::string_view text) {
    check_confined(p);
    fs::create_directories(p.parent_path());
    Fd f{::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
    bool ok = f.fd >= 0;
    for (size_t done = 0; ok && done < text.size();) {
        ssize_t n = ::write(f.fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<size_t>(n);
    }
    // on disk before the file it guards is replaced
    if (!ok || ::fsync(f.fd) != 0) throw Error(fmt::format("{}: {}", p.string(), std::strerror(errno)));
}

// What the step wrote to the AL2 file (the record, and while a replacement
// was under way both versions), and the file as it is now.
struct Al2File {
    json written = json::array();
    std::optional<json> now;
};

Al2File read_al2(const Paths& paths) {
    Al2File f;
    if (auto r = read_object(paths, path::kubelet_config_al2_written)) f.written.push_back(*r);
    if (std::optional<std::string> text = read_file_if_exists(paths.of(al2_replacing))) {
        json r = json::parse(*text, nullptr, /*allow_exceptions=*/false);
        if (r.is_array())
            for (const json& v : r)
                if (v.is_object()) f.written.push_back(v);
    }
    f.now = read_object(paths, path::kubelet_config_al2);
    return f;
}

// The user's edits so far (the drop-in's keys) and those made to the AL2
// file since the step wrote it.
json al2_edits(const Paths& paths, const Al2File& f) {
    json edits = json::object();
    if (std::optional<json> kept = read_object(paths, path::kubelet_edits_dropin)) {
        kept->erase("apiVersion");
        kept->erase("kind");
        edits = std::move(*kept);
    }
    if (!f.now || f.written.empty()) return edits;  // the first run: nothing to tell an edit by
    std::vector<const json*> versions;
    for (const json& v : f.written) versions.push_back(&v);
    std::vector<std::string> removed;
    json fresh = edits_from(versions, *f.now, "", removed);
    for (const std::string& key : removed)
        log::warning(
            "{}: {} was removed; a kubelet drop-in can only set values, so kubelet keeps it (set it to "
            "the value you want instead)",
            path::kubelet_config_al2, key);
    for (const auto& [k, v] : fresh.items())
        log::info("{}: {} was edited; carried to {}", path::kubelet_config_al2, k, path::kubelet_edits_dropin);
    deep_merge(edits, fresh);
    return edits;
}

void render_config(StepResult& r, const json& cfg, const Paths& paths) {
    const Al2File al2_file = read_al2(paths);
    const json edits = al2_edits(paths, al2_file);
    // In config.json, which every kubelet reads (--config-dir is passed only
    // with spec.kubelet.config, kubelet_flags()), and in the last drop-in, so
    // that they also win over 40-user.conf where kubelet reads drop-ins.
    json base = kubelet_config(cfg);
    deep_merge(base, edits);
    put(r, paths, path::kubelet_config, dump_pretty(base));
    // nodeadm names its drop-in 40-nodeadm.conf; 40-user.conf says whose settings it holds.
    if (const json* user = user_dropin_config(cfg))
        put(r, paths, path::kubelet_user_dropin, dump_pretty(kubelet_user_dropin(*user)));
    else withdraw(r, paths, path::kubelet_user_dropin);
    // the drop-in is also where the edits are kept: removing it drops them
    if (!edits.empty()) put(r, paths, path::kubelet_edits_dropin, dump_pretty(kubelet_user_dropin(edits)));
    else withdraw(r, paths, path::kubelet_edits_dropin);

    json al2 = kubelet_effective_config(cfg);
    deep_merge(al2, edits);
    const std::string text = dump_pretty(al2);
    const fs::path replacing = paths.of(al2_replacing);
    if (al2_file.now && *al2_file.now != al2)
        write_replacing(replacing, dump_pretty(json::array({*al2_file.now, al2})));
    put(r, paths, path::kubelet_config_al2, text);
    put(r, paths, path::kubelet_config_al2_written, text);
    remove_file(replacing);
}

void render_kubeconfig(StepResult& r, const json& cfg, const Paths& paths) {
    const std::string server = need_string(cfg, "/spec/cluster/apiServerEndpoint");
    const std::string region = need_string(cfg, "/instance/region");
    // 0600 where nodeadm uses 0644: only kubelet (root) reads it, and eks-node
    // keeps everything that grants cluster access to its owner.
    if (flag(cfg, "/spec/cluster/enableOutpost")) {
        // A local cluster on Outposts knows itself by id, not name: the token
        // asked for must name the id (nodeadm's kubeconfig.go does the same).
        put(r, paths, path::bootstrap_kubeconfig,
            kubeconfig_yaml(server, kubelet_credential_plugin(cfg, need_string(cfg, "/spec/cluster/id"), region)));
        // /var/lib/kubelet/kubeconfig is now kubelet's own, from TLS bootstrap.
        return;
    }
    put(r, paths, path::kubeconfig,
        kubeconfig_yaml(server, kubelet_credential_plugin(cfg, need_string(cfg, "/spec/cluster/name"), region)));
    withdraw(r, paths, path::bootstrap_kubeconfig);
}

// settings.staticPods: each manifest verbatim (eks-node-config checked it is
// a Pod), as NAME.yaml. The directory is this step's: a file of a pod that
// is no longer configured is withdrawn, and kubelet then stops the pod.
void render_static_pods(StepResult& r, const json& cfg, const Paths& paths) {
    std::set<std::string> current;
    if (const json* pods = non_empty_object(cfg, "/settings/staticPods")) {
        for (const auto& [name, manifest] : pods->items()) {
            std::string file = static_pod_file(name);
            put(r, paths, file, manifest.get<std::string>());
            current.insert(std::move(file));
        }
    }
    for (const std::string& file : outputs::present(outputs::of(path::static_pod), paths))
        if (!current.count(file)) withdraw(r, paths, file);
}

}  // namespace

std::string detail::static_pod_file(std::string_view name) {
    return fmt::format("{}/{}.yaml", path::static_pod_dir, name);
}

json kubelet_effective_config(const json& cfg) {
    json out = kubelet_config(cfg);
    if (const json* user = user_dropin_config(cfg); user && user->is_object()) deep_merge(out, *user);
    return out;
}

void check_credential_providers(const json& cfg, const Paths& paths) {
    // Fail closed, as for a runtime handler's binary: kubelet would start and
    // every pull the provider serves would go without credentials.
    for (const config::credential_providers::Provider& p : config::credential_providers::of_config(cfg))
        if (std::string problem = config::credential_providers::binary_problem(p, paths); !problem.empty())
            throw ConfigError(p.source, fmt::format("settings.credentialProviders.{}", p.name), problem);
}

StepResult render_kubelet(const json& cfg, const Paths& paths) {
    check_credential_providers(cfg, paths);
    StepResult r;
    render_config(r, cfg, paths);
    render_kubeconfig(r, cfg, paths);
    put(r, paths, path::credential_provider_config, dump_pretty(credential_provider_config(cfg)));
    put(r, paths, path::kubelet_env, kubelet_environment(cfg));
    render_static_pods(r, cfg, paths);
    return r;
}

}  // namespace eksnode::render
