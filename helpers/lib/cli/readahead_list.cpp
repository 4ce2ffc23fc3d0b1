// SPDX-License-Identifier: Apache-2.0
// `eks-node readahead-list`: the files a join of this image reads, in the order
// it reads them, written to /usr/lib/eks-node/readahead.list at image build for
// eks-node-readahead (eks-node-readahead(8)). What a join runs comes from the
// same places `validate --image` checks: the units the node's target pulls in
// and the programs they run (cli/image_units.hpp), containerd's and kubelet's
// programs from what eks-node renders, the pause image's archive, the CNI
// plugins; each program with the files its start reads (its ELF interpreter
// and libraries, or a script's interpreter: readahead::Files).
//
// The order is the join's: the steps of the chain in chain order (with the
// image's version files eks-node-config reads), containerd (which starts at
// boot beside them) and its configuration, the other units the target pulls
// in, kubelet, kubelet's credential plugins, then what the first pods need
// (the shim and runc, the pause image, the CNI plugins). eks-node-readahead
// reads in this order; largest first would put kubelet, needed last, before
// the steps' small binaries, needed in the boot's first hundred milliseconds.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/image_units.hpp"
#include "cli/options.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/units.hpp"
#include "cri/registry_credentials.hpp"
#include "derive/derive.hpp"
#include "readahead/readahead.hpp"
#include "render/render.hpp"
#include "resolve/resolve.hpp"

namespace eksnode::cli {

const char* const readahead_list_help =
    "Usage: eks-node readahead-list [--root=DIR] [--print]\n"
    "\n"
    "For an image build: writes /usr/lib/eks-node/readahead.list, the files a join of this image\n"
    "reads (the steps' programs, containerd, kubelet, their libraries, kubelet's credential\n"
    "plugins, the pause image, the CNI plugins), in the order it reads them, which\n"
    "eks-node-readahead reads into the page cache at boot. Reads the image's configuration\n"
    "(node.toml.d, nodeadm.d), no instance. Run it once everything the node runs is installed.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "See eks-node-readahead(8).\n";

namespace {

constexpr std::string_view walked_keys[] = {"Wants", "Requires", "Requisite", "BindsTo", "Upholds"};
// As validate --image: no image has more units on its join path.
constexpr std::size_t max_units = 256;

struct Reached {
    std::string name;
    UnitFile file;
};

// The units the node's target pulls in, breadth first, each once; not into other
// targets (what multi-user.target or network-online.target pull in is the boot's,
// read by systemd before any of this) and not OnFailure= (a failed join's).
std::vector<Reached> walk(const Units& units, const std::string& target) {
    std::vector<Reached> out;
    std::vector<std::string> queue{target};
    std::set<std::string> seen;
    for (std::size_t i = 0; i < queue.size() && seen.size() < max_units; ++i) {
        const std::string name = queue[i];
        if (!seen.insert(name).second || name.find('%') != std::string::npos) continue;
        if (!name.ends_with(".service") && !name.ends_with(".target")) continue;
        const std::string file = units.find(name);
        if (file.empty() || file == "masked") continue;
        UnitFile u = units.read(name, file);
        if (name.ends_with(".target") && name != target) continue;
        for (std::string_view key : walked_keys)
            if (auto it = u.deps.find(std::string(key)); it != u.deps.end())
                queue.insert(queue.end(), it->second.begin(), it->second.end());
        out.push_back({name, std::move(u)});
    }
    return out;
}

class Builder {
public:
    explicit Builder(const Paths& paths) : paths_(paths), files_(paths) {}

    // `programs` and the files each one's start reads, as one section.
    void programs(std::string why, const std::vector<std::string>& programs) {
        readahead::Section s{std::move(why), {}};
        for (const std::string& p : programs)
            for (std::string& f : files_.closure(p, seen_)) s.files.push_back(std::move(f));
        add(std::move(s));
    }
    // Files read as data (no program: nothing more to follow), when there.
    void data(std::string why, const std::vector<std::string>& node_paths) {
        readahead::Section s{std::move(why), {}};
        for (const std::string& p : node_paths) {
            std::string real = files_.real_path(p);
            struct stat st {};
            if (real.empty() || ::stat(paths_.of(real).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
            if (seen_.insert(real).second) s.files.push_back(std::move(real));
        }
        add(std::move(s));
    }
    // The programs a unit runs to start, in the order systemd runs them.
    void unit(const Reached& u) {
        std::vector<std::string> progs;
        for (std::string_view key : {"ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost"})
            for (const auto& [k, program] : u.file.execs)
                if (k == key) progs.push_back(program);
        programs(fmt::format("{} (its programs and their libraries)", u.name), progs);
    }
    std::vector<readahead::Section> take() { return std::move(out_); }

private:
    void add(readahead::Section s) {
        if (!s.files.empty()) out_.push_back(std::move(s));
    }
    const Paths& paths_;
    readahead::Files files_;
    std::set<std::string> seen_;
    std::vector<readahead::Section> out_;
};

// The SOCI snapshotter is part of the image when eks-node says it is installed
// (machine.sociSnapshotter) or the build recorded its release (as validate --image).
bool soci_installed(const Paths& paths, const json& cfg) {
    const json* installed = path_in(cfg, {"machine", "sociSnapshotter"});
    return (installed && installed->is_boolean() && installed->get<bool>()) ||
           fs::exists(paths.of(path::soci_version_txt));
}

}  // namespace

std::vector<readahead::Section> join_files(const Paths& paths) {
    json cfg = resolve::resolve_image_sources(paths);
    const json settings = cfg.value("settings", json::object());
    const bool ecs = config::node_kind(settings) == config::NodeKind::ecs;
    const units::Kinds kind = ecs ? units::Kinds::ecs : units::Kinds::eks;
    Units units(paths);
    const std::vector<Reached> reached = walk(units, ecs ? "ecs-node.target" : "eks-node.target");
    auto find = [&](std::string_view name) -> const Reached* {
        auto it = std::find_if(reached.begin(), reached.end(), [&](const Reached& r) { return r.name == name; });
        return it == reached.end() ? nullptr : &*it;
    };
    std::set<std::string> done;
    Builder b(paths);

    // the chain, in its order, and what eks-node-config reads of the image
    std::vector<units::Unit> chain;
    for (const units::Unit& u : units::all())
        if (u.chain > 0 && (u.kinds == units::Kinds::both || u.kinds == kind)) chain.push_back(u);
    std::sort(chain.begin(), chain.end(), [](const units::Unit& a, const units::Unit& c) { return a.chain < c.chain; });
    for (const units::Unit& u : chain)
        if (const Reached* r = find(u.unit); r && done.insert(r->name).second) {
            b.unit(*r);
            if (u.step == "config")
                b.data("the image's version files eks-node-config reads",
                       {std::string(path::kubelet_version_txt), std::string(path::containerd_version_txt),
                        std::string(path::soci_version_txt)});
        }

    // containerd, which starts at boot beside the steps, on the files `eks-node render
    // --image` wrote; the SOCI snapshotter it pulls through, where the image has it
    const std::string runtime = ecs ? "docker.service" : "containerd.service";
    if (const Reached* r = find(runtime); r && done.insert(r->name).second) b.unit(*r);
    if (!ecs) {
        b.data("containerd's configuration (eks-node render --image)",
               {std::string(path::containerd_config), std::string(path::base_runtime_spec)});
        if (soci_installed(paths, cfg)) {
            std::vector<std::string> soci{std::string(path::soci_snapshotter_grpc)};
            for (const std::string& p : render::soci_snapshotter_programs(cfg)) soci.push_back(p);
            b.programs("the SOCI snapshotter (FastImagePull) and its decompressor", soci);
        }
    }

    // the other units the target pulls in, kubelet last
    const std::string agent = ecs ? "ecs.service" : "kubelet.service";
    for (const Reached& r : reached)
        if (r.name != agent && !r.name.ends_with(".target") && done.insert(r.name).second) b.unit(r);
    if (const Reached* r = find(agent); r && done.insert(r->name).second) b.unit(*r);
    if (ecs) return b.take();

    // kubelet's credential plugins: the kubeconfig's (its first request to the API
    // server) and the image credential providers (its first pull from ECR)
    b.programs("kubelet's credential plugin (kubeconfig users[].user.exec.command)",
               {render::kubelet_credential_plugin(cfg, "CLUSTER", "REGION").command});
    try {
        const json doc = render::image_credential_provider_config(cfg);
        std::vector<std::string> providers;
        for (const cri::Provider& p :
             cri::parse_provider_config(doc.dump(), std::string(path::credential_provider_config)))
            providers.push_back(fmt::format("{}/{}", path::credential_provider_bin_dir, p.name));
        b.programs("kubelet's image credential providers", providers);
    } catch (const Error&) {
        // validate --image names the problem; the list goes without them
    }

    // the first pods: containerd's shim and OCI runtimes, the pause image, the CNI plugins
    std::string sandbox;
    try {
        const json* fips = path_in(cfg, {"machine", "fipsEnabled"});
        sandbox = derive::sandbox_image_for(settings, "us-west-2", "amazonaws.com",
                                            fips && fips->is_boolean() && fips->get<bool>());
    } catch (const Error&) {
        sandbox = std::string(derive::cached_pause_image);
    }
    cfg["derived"]["sandboxImage"] = sandbox;
    std::vector<std::string> runtimes{"containerd-shim-runc-v2", "runc"};
    try {
        for (const render::NamedProgram& p : render::containerd_programs(cfg)) runtimes.push_back(p.path);
    } catch (const Error&) {
    }
    b.programs("the first pod sandbox: containerd's shim and OCI runtimes", runtimes);
    if (sandbox.starts_with("localhost/"))
        b.data("the cached pause image's archive", {std::string(path::pause_archive)});
    std::vector<std::string> cni;
    try {
        for (const std::string& dir : render::containerd_cni_dirs(cfg))
            for (std::string_view plugin : render::cni_plugins_needed) cni.push_back(fmt::format("{}/{}", dir, plugin));
    } catch (const Error&) {
    }
    b.programs("the CNI plugins every pod's network runs (containerd's CNI directory)", cni);
    return b.take();
}

// The list written again (a package added to the image, the build's step re-run) keeps
// what the list there recorded of each file that is still the file recorded: a
// recording boot costs a boot, and a file it saw unchanged reads the same. A file
// changed since loses its recording (read whole until the next recording). A file the
// recorded join did not read has a recording with no range, kept the same way.
namespace {

struct CarriedRecordings {
    std::string text;
    std::size_t kept = 0, dropped = 0;
};

CarriedRecordings carry_recordings(const Paths& paths, std::string text) {
    CarriedRecordings out;
    std::map<std::string, readahead::Recorded> before;
    try {
        before = readahead::read_list(paths, readahead::image_list).recorded;
    } catch (const ConfigError&) {
        // no list yet, or none a node could read: there is nothing to keep
    }
    if (before.empty()) {
        out.text = std::move(text);
        return out;
    }
    out.text = readahead::with_recordings(text, [&](const std::string& f) -> std::optional<readahead::Recorded> {
        const auto r = before.find(f);
        if (r == before.end()) return std::nullopt;
        struct stat st {};
        if (::stat(paths.of(f).c_str(), &st) != 0 || !readahead::still_recorded(r->second, st)) {
            ++out.dropped;
            return std::nullopt;
        }
        ++out.kept;
        return r->second;
    });
    return out;
}

}  // namespace

int readahead_list_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("readahead-list", args);
    if (!parsed.args.empty())
        throw UsageError(fmt::format("readahead-list: unexpected argument \"{}\"", parsed.args[0]));
    const Paths paths(parsed.value("--root").value_or("/"));
    const bool print = parsed.has("--print");
    const std::vector<readahead::Section> sections = join_files(paths);
    const CarriedRecordings carried = carry_recordings(paths, readahead::format_list(sections));
    const std::string& text = carried.text;
    if (print) {
        std::fputs(text.c_str(), stdout);
        return EXIT_OK;
    }
    std::size_t files = 0;
    std::uint64_t bytes = 0;
    for (const std::string& f : readahead::parse_list(text, readahead::image_list).files) {
        ++files;
        struct stat st {};
        if (::stat(paths.of(f).c_str(), &st) == 0) bytes += static_cast<std::uint64_t>(st.st_size);
    }
    const fs::path out = paths.of(readahead::image_list);
    const WriteResult w = write_file_atomic(out, text, 0644);
    std::string recordings;
    if (carried.kept > 0 || carried.dropped > 0)
        recordings =
            fmt::format("; {} recordings kept, {} dropped (their files changed since)", carried.kept, carried.dropped);
    fmt::print("{} {}: {} files, {:.1f} MiB{}\n", w == WriteResult::written ? "wrote" : "kept ", out.string(), files,
               static_cast<double>(bytes) / (1024.0 * 1024.0), recordings);
    return EXIT_OK;
}

}  // namespace eksnode::cli
