// SPDX-License-Identifier: Apache-2.0
// eks-node validate --image: an image (the AMI at build, the VM test image, a tree under
// --root) against what eks-node will render on it and what its units name, before any node
// boots from it. Each program, file and unit is read from the code that names it: the
// kubeconfig's credential plugin from the function that renders the kubeconfig, containerd's
// runtimes and CNI directory from the rendered config.toml, unpigz from the SOCI
// snapshotter's rendered config, instance-store's tools from the table it runs them by, the
// pause image from the derivation eks-node-config runs, the images the build cached from its
// list of them, the units from the unit files installed. A missing one is a line naming it, and the exit status is 1.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/image_units.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/process.hpp"
#include "core/syntax.hpp"
#include "core/table.hpp"
#include "core/text.hpp"
#include "core/units.hpp"
#include "cri/archive.hpp"
#include "cri/registry_credentials.hpp"
#include "derive/derive.hpp"
#include "generator/generator.hpp"
#include "render/render.hpp"
#include "resolve/resolve.hpp"
#include "storage/ebs.hpp"
#include "storage/storage.hpp"

namespace eksnode::cli {

namespace {

using Outcome = CheckResult::Outcome;
using namespace std::chrono_literals;

// The programs known to print their version for --version and exit 0: run so, a program
// that is there but cannot run (a missing library, the wrong architecture) fails its check.
// Others are checked for being executable only: an unknown program's options are unknown.
constexpr std::string_view answers_version[] = {"kubelet",
                                                "containerd",
                                                "runc",
                                                "crun",
                                                "nvidia-container-runtime",
                                                "aws",
                                                "eks-node",
                                                "soci-snapshotter-grpc",
                                                "unpigz",
                                                "iptables",
                                                "systemctl",
                                                "ctr"};
// How long a program may take to tell its version: a Python program (the AWS CLI) needs a
// second or two on a small instance; ten is a hang.
constexpr auto version_timeout = 10s;
// The region and partition the pause image is derived for: one example, for an image that
// names it by region (regional-ecr); the check is about its shape, not the region.
constexpr std::string_view example_region = "us-west-2";
constexpr std::string_view example_domain = "amazonaws.com";
// The images the image build cached and pinned (packer/provisioners/80-pause-image.sh: the
// pause and the add-on images), "REF<TAB>DIGEST" a line, and where containerd keeps the
// content they name (its default root: the image build's containerd). Only this check reads
// them.
constexpr std::string_view cached_images = "/etc/eks/cached-images.tsv";
constexpr std::string_view containerd_blobs = "/var/lib/containerd/io.containerd.content.v1.content/blobs";

std::string basename_of(std::string_view p) {
    size_t slash = p.rfind('/');
    return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

// The first line a program printed, trimmed and cut short, for the check's detail.
std::string first_line_of(const std::string& out) {
    std::string_view rest = out;
    while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view line = trim_line(rest.substr(0, nl));
        if (!line.empty()) return std::string(line.substr(0, 120));
        if (nl == std::string_view::npos) break;
        rest = rest.substr(nl + 1);
    }
    return "";
}

class ImageChecks {
public:
    explicit ImageChecks(Paths paths) : paths_(std::move(paths)) {}

    std::vector<CheckResult>& results() { return out_; }

    void add(std::string name, Outcome outcome, std::string detail, std::string path = {}) {
        out_.push_back({std::move(name), outcome, std::move(detail), std::move(path)});
    }

    // A name as a service's PATH finds it, under the root; nullopt when none does.
    std::optional<std::string> in_path(std::string_view name) const {
        for (std::string_view dir : service_path) {
            std::string candidate = fmt::format("{}/{}", dir, name);
            struct stat st {};
            if (::stat(paths_.of(candidate).c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) return candidate;
        }
        return std::nullopt;
    }

    // `what` names the program `named` (absolute, or a name looked up in PATH): there, an
    // executable file, and, where `version` says how, run (with those arguments, and
    // `environment` as its whole environment if not empty) to exit 0. Each program once,
    // however many name it.
    void program(const std::string& what, const std::string& named,
                 std::optional<std::vector<std::string>> version = std::nullopt,
                 std::vector<std::string> environment = {}) {
        std::string node_path = named;
        if (named.find('/') == std::string::npos) {
            std::optional<std::string> found = in_path(named);
            if (!found) {
                add(fmt::format("{}: {}", what, named), Outcome::failed,
                    "missing: no such program in the PATH of services (/usr/local/sbin ... /bin)", named);
                return;
            }
            node_path = *found;
        }
        if (!done_.insert(node_path).second) return;
        const std::string name = fmt::format("{}: {}", what, node_path);
        const std::string file = paths_.of(node_path).string();
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) {
            add(name, Outcome::failed, errno == ENOENT ? "missing" : std::strerror(errno), node_path);
            return;
        }
        if (!S_ISREG(st.st_mode)) return add(name, Outcome::failed, "not a regular file", node_path);
        if (!(st.st_mode & 0111)) return add(name, Outcome::failed, "not executable", node_path);
        if (!version) return add(name, Outcome::ok, "executable", node_path);
        std::vector<std::string> argv{file};
        argv.insert(argv.end(), version->begin(), version->end());
        ProcessOptions o;
        o.stderr_to = ProcessOptions::Stderr::merge;  // mdadm prints its version on stderr
        o.max_output = 64 * 1024;
        o.timeout = version_timeout;
        if (!environment.empty()) o.environment = environment;
        ProcessResult r = run_process(argv, o);
        // the command as a person would type it: `CNI_COMMAND=VERSION loopback`, `mdadm --version`
        std::string shown = environment.empty() ? "" : environment.front();  // not the PATH set with it
        shown = fmt::format("`{}{}{}{}`", shown, shown.empty() ? "" : " ", basename_of(node_path),
                            version->empty() ? std::string() : fmt::format(" {}", fmt::join(*version, " ")));
        if (!r.started)
            add(name, Outcome::failed, fmt::format("cannot be run: {}", std::strerror(r.spawn_error)), node_path);
        else if (r.timed_out)
            add(name, Outcome::failed, fmt::format("{} gave no answer in {} s", shown, version_timeout.count()),
                node_path);
        else if (!r.succeeded())
            add(name, Outcome::failed,
                fmt::format("{} {} {}: {}", shown, r.exited ? "exited" : "was killed by signal",
                            r.exited ? r.exit_status : r.signal, first_line_of(r.out)),
                node_path);
        else add(name, Outcome::ok, first_line_of(r.out), node_path);
    }

    // A program that answers --version when it is one of answers_version.
    void program_by_name(const std::string& what, const std::string& named) {
        std::optional<std::vector<std::string>> version;
        if (is_one_of(basename_of(named), answers_version) || is_eks_node_helper(named))
            version = std::vector<std::string>{"--version"};
        program(what, named, std::move(version));
    }

    // eks-node's own step binaries answer --version (core/step.cpp, run_step); eks-node-hook,
    // which runs a hook by name, is no step and takes no option but --root.
    static bool is_eks_node_helper(std::string_view p) {
        return (p.starts_with("/usr/libexec/eks-node/eks-node-") || p.starts_with("/usr/lib/eks-node/eks-node-")) &&
               !p.ends_with("/eks-node-hook");
    }

    const Paths& paths() const { return paths_; }

private:
    Paths paths_;
    std::vector<CheckResult> out_;
    std::set<std::string> done_;
};

// ---- units ------------------------------------------------------------------------

// The units that eks-node's units, the node's target first, want and require, each there;
// and the programs each runs (Exec*=).
void check_units(ImageChecks& c, bool ecs) {
    Units units(c.paths());
    const std::string target = ecs ? "ecs-node.target" : "eks-node.target";
    // The other kind's units name what this kind of node does not have (an EKS image has
    // no Docker nor ECS agent; an ECS node skips the EKS steps, generator.hpp).
    auto other_kind = [&](const std::string& u) {
        if (ecs) return u == "eks-node.target" || is_one_of(u, units::eks_only());
        return u == "ecs-node.target" || u == "eks-node-ecs.service";
    };
    std::vector<std::pair<std::string, std::string>> queue{{target, "the node's target"}};
    for (std::string_view u : units::started_on_demand())
        if (!other_kind(std::string(u))) queue.emplace_back(u, "started on demand (eks-node-generator(8))");
    for (const std::string& u : units.ours())
        if (u != target && !other_kind(u)) queue.emplace_back(u, "eks-node's own unit");
    std::set<std::string> seen;
    for (size_t i = 0; i < queue.size() && seen.size() < 256; ++i) {
        const auto [name, why] = queue[i];
        if (!seen.insert(name).second) continue;
        // what only the generator makes (a mount, a device) or systemd makes itself (a
        // slice) has no file to look for; a specifier is resolved per instance
        if (name.find('%') != std::string::npos) continue;
        if (!(name.ends_with(".service") || name.ends_with(".target") || name.ends_with(".socket") ||
              name.ends_with(".timer") || name.ends_with(".path")))
            continue;
        const std::string file = units.find(name);
        const std::string check = fmt::format("unit {} ({})", name, why);
        if (file.empty() || file == "masked") {
            c.add(check, Outcome::failed, file.empty() ? "not installed" : "masked (a link to /dev/null)", name);
            continue;
        }
        // the file is the check's path: what would be missing
        c.add(check, Outcome::ok, file, file);
        UnitFile u = units.read(name, file);
        for (const auto& [key, names] : u.deps)
            for (const std::string& dep : names) queue.emplace_back(dep, fmt::format("{} {}=", name, key));
        for (const auto& [key, program] : u.execs) c.program_by_name(fmt::format("{} {}=", name, key), program);
    }
}

// ---- what the rendered files name -------------------------------------------------

void check_credential_plugin(ImageChecks& c, const json& cfg) {
    // the cluster and region are the node's, known at boot; the command is the image's
    const render::CredentialPlugin plugin = render::kubelet_credential_plugin(cfg, "CLUSTER", "REGION");
    c.program_by_name("kubeconfig's credential plugin (users[].user.exec.command)", plugin.command);
}

// Each provider of the credential provider config, in kubelet's plugin directory. They
// answer no --version (ecr-credential-provider has none): executable is what is checked.
std::vector<cri::Provider> check_image_credential_providers(ImageChecks& c, const json& cfg) {
    const json doc = render::image_credential_provider_config(cfg);
    std::vector<cri::Provider> providers =
        cri::parse_provider_config(doc.dump(), std::string(path::credential_provider_config));
    for (const cri::Provider& p : providers)
        c.program("image credential provider (kubelet --image-credential-provider-bin-dir)",
                  fmt::format("{}/{}", path::credential_provider_bin_dir, p.name));
    return providers;
}

void check_containerd(ImageChecks& c, const json& cfg) {
    for (const render::NamedProgram& p : render::containerd_programs(cfg)) {
        std::optional<std::vector<std::string>> version;
        if (p.oci_runtime) version = std::vector<std::string>{"--version"};
        c.program(fmt::format("containerd {}", p.what), p.path, version);
    }
    // containerd's CRI runs loopback for every pod's lo; the VPC CNI's configuration
    // chains portmap and bandwidth to its own plugins, and its egress plugin takes
    // addresses with host-local: the reference plugins the image installs
    // (packer/provisioners/22-cni-plugins.sh). Asked as the CNI runtime asks a plugin its
    // version (the CNI spec's VERSION command).
    for (const std::string& dir : render::containerd_cni_dirs(cfg))
        for (std::string_view plugin : render::cni_plugins_needed)
            c.program(fmt::format("CNI plugin (containerd's CNI directory {})", dir), fmt::format("{}/{}", dir, plugin),
                      std::vector<std::string>{}, {"CNI_COMMAND=VERSION", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"});
}

// The SOCI snapshotter is part of the image when its program or its version file (the
// build's record that it installed it, 85-release) is there: then both must be.
bool soci_expected(const ImageChecks& c, const json& cfg) {
    const json* installed = path_in(cfg, {"machine", "sociSnapshotter"});
    return (installed && installed->is_boolean() && installed->get<bool>()) ||
           fs::exists(c.paths().of(path::soci_version_txt));
}

void check_soci(ImageChecks& c, const json& cfg) {
    if (!soci_expected(c, cfg)) {
        c.add("SOCI snapshotter (FastImagePull)", Outcome::skipped,
              fmt::format("{} is not installed: eks-node-config refuses FastImagePull on this image",
                          path::soci_snapshotter_grpc));
        return;
    }
    c.program("SOCI snapshotter (FastImagePull)", std::string(path::soci_snapshotter_grpc),
              std::vector<std::string>{"--version"});
    const json* version = path_in(cfg, {"machine", "sociSnapshotterVersion"});
    const std::string release = version && version->is_string() ? version->get<std::string>() : "";
    const std::vector<std::string> programs = render::soci_snapshotter_programs(cfg);
    if (programs.empty())
        c.add("SOCI snapshotter's decompressor", Outcome::skipped,
              fmt::format("release {} (before 0.10) has no parallel pull: its configuration names none", release));
    for (const std::string& p : programs)
        c.program(fmt::format("SOCI snapshotter {}'s decompressor ({})", release, path::soci_config), p,
                  std::vector<std::string>{"--version"});
}

void check_instance_store(ImageChecks& c) {
    for (const storage::Tool& t : storage::tools)
        c.program("eks-node-instance-store's", std::string(t.name),
                  std::vector<std::string>{std::string(t.version_arg)});
    // the ones eks-node-instance-store does not run already
    for (const storage::Tool& t : storage::ebs_tools)
        if (std::find_if(std::begin(storage::tools), std::end(storage::tools),
                         [&](const storage::Tool& s) { return s.name == t.name; }) == std::end(storage::tools))
            c.program("eks-node-ebs-volumes's", std::string(t.name),
                      std::vector<std::string>{std::string(t.version_arg)});
}

void check_generated(ImageChecks& c) {
    for (const generator::GeneratedProgram& p : generator::generated_programs())
        c.program_by_name(fmt::format("{} (eks-node-generator)", p.unit), p.path);
}

// The version files eks-node-config reads instead of running the programs at every boot.
void check_version_files(ImageChecks& c, const json& cfg) {
    std::vector<std::string_view> files{path::kubelet_version_txt, path::containerd_version_txt};
    if (soci_expected(c, cfg)) files.push_back(path::soci_version_txt);
    for (std::string_view f : files) {
        const std::string name = fmt::format("version file {}", f);
        std::optional<std::string> text;
        try {
            text = read_file_if_exists(c.paths().of(f));
        } catch (const Error& e) {
            c.add(name, Outcome::failed, e.what(), std::string(f));
            continue;
        }
        // eks-node-config reads the number in it (and refuses a file without one: the
        // image's configuration above would have failed)
        std::string v = text ? std::string(trim_line(*text)) : "";
        if (!text)
            c.add(name, Outcome::failed, "missing (packer/provisioners/85-release.sh writes it)", std::string(f));
        else if (v.empty()) c.add(name, Outcome::failed, "empty", std::string(f));
        else c.add(name, Outcome::ok, v.substr(0, 40), std::string(f));
    }
}

// The pause image a node of this image gets: the image's cached one, whose archive must be
// whole (it is imported into the SOCI snapshotter at containerd's start), or one to pull,
// which must name a registry and, on ECR, be served by an image credential provider
// (eks-node-sandbox-image.service pulls it with those credentials before kubelet starts).
std::string check_pause(ImageChecks& c, const json& cfg, const std::vector<cri::Provider>& providers) {
    const json settings = cfg.value("settings", json::object());
    const json* fips = path_in(cfg, {"machine", "fipsEnabled"});
    std::string image;
    try {
        image = derive::sandbox_image_for(settings, example_region, example_domain,
                                          fips && fips->is_boolean() && fips->get<bool>());
    } catch (const Error& e) {
        c.add("pause image", Outcome::failed, e.what());
        return std::string(derive::cached_pause_image);
    }
    if (image.starts_with("localhost/")) {
        const std::string name = fmt::format("pause image {}: cached, its archive {}", image, path::pause_archive);
        std::ifstream in(c.paths().of(path::pause_archive), std::ios::binary);
        if (!in) {
            c.add(name, Outcome::failed, "missing", std::string(path::pause_archive));
            return image;
        }
        try {
            cri::ArchiveReport r = cri::check_image_archive(in, path::pause_archive, cri::host_goarch());
            c.add(name, Outcome::ok, fmt::format("whole ({} blobs, {} bytes)", r.blobs, r.bytes),
                  std::string(path::pause_archive));
        } catch (const Error& e) {
            c.add(name, Outcome::failed, e.what(), std::string(path::pause_archive));
        }
        return image;
    }
    const std::string name = fmt::format("pause image {} (in {}): pullable", image, example_region);
    const std::string host = image.substr(0, image.find('/'));
    if (image.find('/') == std::string::npos || host.find_first_of(".:") == std::string::npos) {
        c.add(name, Outcome::failed, "names no registry: nothing can pull it");
        return image;
    }
    for (const cri::Provider& p : providers)
        for (const std::string& pattern : p.match_images)
            if (cri::image_matches(pattern, image)) {
                c.add(name, Outcome::ok,
                      fmt::format("with credentials from {} (eks-node-sandbox-image.service, before kubelet)", p.name));
                return image;
            }
    if (host.find(".dkr.ecr") != std::string::npos || host.find(".dkr-ecr") != std::string::npos)
        c.add(name, Outcome::failed,
              "an ECR registry, which no image credential provider serves: it refuses a pull without credentials");
    else c.add(name, Outcome::ok, "without credentials (no image credential provider serves its registry)");
    return image;
}

// The images the build cached and pinned (the pause image, kube-proxy, the VPC CNI's), each
// listed: the content containerd keeps it by (its manifest or index, by the digest the list
// names) must be in containerd's content store, else containerd has a name for nothing.
// Only an image with the cached pause image has the list (80-pause-image writes both).
void check_cached_images(ImageChecks& c, const std::string& pause) {
    const std::string list(cached_images);
    std::optional<std::string> text;
    try {
        text = read_file_if_exists(c.paths().of(list));
    } catch (const Error& e) {
        c.add("cached images", Outcome::failed, e.what(), list);
        return;
    }
    if (!text) {
        if (pause.starts_with("localhost/"))
            c.add("cached images", Outcome::failed, "missing (packer/provisioners/80-pause-image.sh writes it)", list);
        else c.add("cached images", Outcome::skipped, "none: the pause image is pulled at boot (cache_pause_image)");
        return;
    }
    size_t n = 0;
    // the digest is whatever follows the first tab, spaces around it left out: the row's
    // text, not its cells, so a stray second tab still reads as the one before did
    for (const table::Row& row : table::rows(*text)) {
        std::string_view line = trim_line(row.text);
        ++n;
        size_t tab = line.find('\t');
        const std::string ref(line.substr(0, tab));
        const std::string digest(tab == std::string_view::npos ? "" : trim_line(line.substr(tab + 1)));
        const std::string name = fmt::format("cached image {}", ref);
        if (!digest.starts_with("sha256:") || digest.size() != 7 + 64 ||
            digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
            c.add(name, Outcome::failed, fmt::format("{}: no sha256 digest after its name", list), list);
            continue;
        }
        const std::string blob = fmt::format("{}/sha256/{}", containerd_blobs, digest.substr(7));
        if (fs::exists(c.paths().of(blob))) c.add(name, Outcome::ok, fmt::format("{}, pinned", digest), blob);
        else c.add(name, Outcome::failed, fmt::format("{} is not in containerd's content store", digest), blob);
    }
    if (n == 0) c.add("cached images", Outcome::failed, "the list names none", list);
}

// The list of the join's files eks-node-readahead reads at boot (eks-node-readahead(8)):
// every file it names is on the image (a missing one is a list gone stale: written before a
// package changed), and every file the join reads is in it (a warning: a file left out is
// still read, at the lazily loaded volume's pace). No list: a warning too.
void check_readahead(ImageChecks& c) {
    const readahead::ListFile list = readahead::find_list(c.paths());
    const std::string name = "readahead list (eks-node-readahead)";
    if (list.masked) {
        c.add(name, Outcome::skipped, fmt::format("{} is a link to /dev/null: nothing is read ahead", list.path));
        return;
    }
    if (list.path.empty()) {
        c.add(name, Outcome::warning,
              fmt::format("no {}: every file of the join is a first read of the volume at boot "
                          "(`eks-node readahead-list` writes it; packer/provisioners/95-readahead.sh)",
                          readahead::image_list),
              std::string(readahead::image_list));
        return;
    }
    readahead::List l;
    try {
        l = readahead::read_list(c.paths(), list.path);
    } catch (const Error& e) {
        c.add(name, Outcome::failed, e.what(), list.path);
        return;
    }
    for (const std::string& w : l.warnings) c.add(name, Outcome::warning, w, list.path);
    const readahead::Files files(c.paths());
    std::set<std::string> listed;
    std::uint64_t bytes = 0;
    std::size_t missing = 0;
    for (const std::string& f : l.files) {
        const std::string real = files.real_path(f);
        struct stat st {};
        if (real.empty() || ::stat(c.paths().of(real).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            c.add(fmt::format("{}: {}", name, f), Outcome::failed,
                  "listed, not on the image (the list is older than the image: `eks-node readahead-list`)", f);
            ++missing;
            continue;
        }
        listed.insert(real);
        bytes += static_cast<std::uint64_t>(st.st_size);
    }
    c.add(name, missing ? Outcome::failed : Outcome::ok,
          fmt::format("{}: {} files, {:.1f} MiB{}", list.path, l.files.size(),
                      static_cast<double>(bytes) / (1024.0 * 1024.0),
                      missing ? fmt::format(", {} of them missing", missing) : ""),
          list.path);
    std::vector<readahead::Section> join;
    try {
        join = join_files(c.paths());
    } catch (const Error& e) {
        c.add(name, Outcome::failed, fmt::format("the files of the join: {}", e.what()));
        return;
    }
    for (const readahead::Section& s : join)
        for (const std::string& f : s.files)
            if (!listed.contains(f))
                c.add(fmt::format("{}: {}", name, f), Outcome::warning,
                      fmt::format("the join reads it ({}), the list does not name it", s.why), f);
}

}  // namespace

std::vector<CheckResult> validate_image(const Paths& paths) {
    ImageChecks c(paths);
    json cfg;
    try {
        cfg = resolve::resolve_image_sources(paths);
    } catch (const Error& e) {
        c.add("the image's configuration (node.toml.d, nodeadm.d)", Outcome::failed, e.what());
        return std::move(c.results());
    }
    const bool ecs = config::config_node_kind(cfg) == config::NodeKind::ecs;
    check_units(c, ecs);
    if (!ecs) {
        check_credential_plugin(c, cfg);
        std::vector<cri::Provider> providers;
        try {
            providers = check_image_credential_providers(c, cfg);
        } catch (const Error& e) {
            c.add("image credential provider config", Outcome::failed, e.what());
        }
        // containerd's config names the pause image too: the one checked here
        cfg["derived"]["sandboxImage"] = check_pause(c, cfg, providers);
        check_cached_images(c, cfg["derived"]["sandboxImage"].get<std::string>());
        try {
            check_containerd(c, cfg);
        } catch (const Error& e) {
            c.add("containerd's configuration", Outcome::failed, e.what());
        }
        check_soci(c, cfg);
    }
    check_instance_store(c);
    check_generated(c);
    check_version_files(c, cfg);
    check_readahead(c);
    return std::move(c.results());
}

}  // namespace eksnode::cli
