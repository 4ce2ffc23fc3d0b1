// SPDX-License-Identifier: Apache-2.0
// eks-node-network: configure one EC2 network interface for systemd-networkd,
// or leave it to the VPC CNI. Run as eks-node-network@NAME.service, which
// udev pulls in for every EC2 interface (network/90-eks-node-network.rules),
// at boot and whenever an ENI is attached. See eks-node-network(8).
#include "steps/network.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "aws/api.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/outputs.hpp"
#include "core/systemd.hpp"
#include "core/text.hpp"
#include "imds/imds.hpp"
#include "imds/values.hpp"
#include "input/fragments.hpp"
#include "render/networkd.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

const StepSpec network_spec{"network", "configure an EC2 network interface, or leave it to the VPC CNI"};

namespace {

namespace v = imds::value;
using Fetched = std::map<std::string, std::optional<std::string>, std::less<>>;

// instance.json is a few hundred bytes; a file this large is not eks-node-imds's.
constexpr size_t instance_json_max = 1024 * 1024;

// The kernel's interface name as udev passes it (%k): at most 15 bytes; only
// the characters systemd's own naming policies produce, so that the name is
// safe in a file name and a unit name.
void check_interface_name(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 15 && name.front() != '.' && name.front() != '-' &&
              std::all_of(name.begin(), name.end(), [](char c) {
                  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                         c == '-' || c == '.';
              });
    if (!ok)
        throw UsageError(fmt::format("{} is not a network interface name (1-15 of A-Z a-z 0-9 _ - .)", v::shown(name)));
}

std::string mac_leaf(std::string_view mac, std::string_view leaf) {
    return fmt::format("meta-data/network/interfaces/macs/{}/{}", mac, leaf);
}

[[noreturn]] void bad(std::string_view path, const std::string& problem) {
    throw ConfigError(fmt::format("IMDS {}", path), "", problem);
}

// A single value, checked by `check`; nullopt when IMDS has none (404 or empty).
using Check = v::Check;
std::optional<std::string> scalar(const Fetched& f, const std::string& path, Check check) {
    auto it = f.find(path);
    if (it == f.end() || !it->second) return std::nullopt;
    std::string_view s = trim_line(*it->second);
    if (s.empty()) return std::nullopt;
    if (std::string problem = check(s); !problem.empty()) bad(path, problem);
    return std::string(s);
}

// A newline-separated list, each line checked; absent is empty.
std::vector<std::string> list(const Fetched& f, const std::string& path, Check check) {
    std::vector<std::string> out;
    auto it = f.find(path);
    if (it == f.end() || !it->second) return out;
    if (std::string problem = v::list(*it->second, check, out); !problem.empty()) bad(path, problem);
    return out;
}

// device-number and network-card: small decimal numbers. A route table is
// 10000 + 100 * card + device, so both stay below 100 or tables would collide.
std::string small_number(std::string_view s) {
    bool digits =
        !s.empty() && s.size() <= 2 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    return digits ? "" : fmt::format("{} is not a number from 0 to 99", v::shown(s));
}

// What was decided for a MAC on this instance: "INSTANCE-ID OWNER\n".
// Another instance's record (an image made from a node) counts for nothing.
std::optional<render::EniOwner> recorded_owner(const fs::path& record, std::string_view instance_id) {
    std::optional<std::string> text = read_file_if_exists(record);
    if (!text) return std::nullopt;
    std::string_view line = trim_line(*text);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos || line.substr(0, sp) != instance_id) return std::nullopt;
    std::string_view owner = line.substr(sp + 1);
    if (owner == "systemd") return render::EniOwner::systemd;
    if (owner == "cni") return render::EniOwner::cni;
    log::warning("{}: {} is not an owner (systemd or cni), ignoring", record.string(), v::shown(owner));
    return std::nullopt;
}

// Microseconds since the epoch, as systemd stamps a unit's start; a time
// before the epoch (a file touched by hand) is the epoch.
uint64_t realtime_usec(const timespec& t) {
    if (t.tv_sec < 0) return 0;
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000 + static_cast<uint64_t>(t.tv_nsec) / 1000;
}

struct KubeletStart {
    bool started = false;
    uint64_t realtime_usec = 0;  // when, on CLOCK_REALTIME; 0 if not known
};

// Whether and when kubelet started in this boot, as systemd knows it (its
// start timestamp is 0 until then). Its latest start: systemd keeps no
// earlier one. Off the host (--root, the golden tests) there is no systemd to
// ask: config.json, which exists once the chain resolved the node, stands in
// for it, and its modification time for the start.
KubeletStart kubelet_start(const StepOptions& opts) {
    if (!opts.paths.is_host()) {
        struct stat st {};
        if (::stat(opts.config_file().c_str(), &st) != 0) return {};
        return {true, realtime_usec(st.st_mtim)};
    }
    try {
        sd::UnitStatus s = sd::unit_status("kubelet.service");
        return {s.start_monotonic_usec != 0, s.start_usec};
    } catch (const Error& e) {
        // the unit is After=dbus.service; a bus that does not answer yet is
        // worth asking again (exit 75: the unit restarts), not a decision
        throw TempError(fmt::format("cannot ask systemd whether kubelet started: {}", e.what()));
    }
}

// Whether instance.json lists `mac` among the interfaces IMDS named, and was
// written before kubelet started. eks-node-imds writes it early in the chain,
// long before kubelet starts, and again only when a re-run's answers differ
// (an unchanged file keeps its time): a re-run after the VPC CNI attached
// ENIs lists them too, and its later time keeps them out. Its time and
// kubelet's start are both CLOCK_REALTIME; a step of the clock between the
// two (chrony at boot) that hides the order only loses this rule, and the
// ENI falls to kubelet's start as before. Anything amiss with the file (none,
// unreadable, not this instance's, no list) is the same: never a failure.
bool listed_before_kubelet(const StepOptions& opts, std::string_view instance_id, std::string_view mac,
                           uint64_t kubelet_start_usec) {
    const fs::path file = opts.paths.of(path::instance_json);
    // one open file for its time and its text: a re-run's rename in between
    // cannot pair the old time with the new list
    Fd f{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        if (errno == ENOENT) log::debug("{}: none, so no list of the interfaces IMDS named", file.string());
        else
            log::warning("{}: cannot open: {}; deciding without its list of interfaces", file.string(),
                         std::strerror(errno));
        return false;
    }
    struct stat st {};
    std::string text, problem;
    try {
        if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) throw Error("not a regular file");
        text = read_at_most(f.fd, instance_json_max + 1);
        if (text.size() > instance_json_max) throw Error(fmt::format("larger than {} KiB", instance_json_max >> 10));
    } catch (const std::exception& e) {
        log::warning("{}: {}; deciding without its list of interfaces", file.string(), e.what());
        return false;
    }
    std::optional<std::vector<std::string>> macs = detail::interface_macs(text, instance_id, problem);
    if (!macs) {
        log::warning("{}: {}; deciding without its list of interfaces", file.string(), problem);
        return false;
    }
    if (std::find(macs->begin(), macs->end(), mac) == macs->end()) return false;
    if (!detail::written_before(st.st_mtim, kubelet_start_usec)) {
        log::info(
            "{} lists {}, but was written after kubelet started (eks-node-imds ran again): "
            "not taken for an interface of the launch",
            file.string(), mac);
        return false;
    }
    return true;
}

// Whether the interface is up (IFF_UP in its sysfs flags): something other
// than systemd-networkd (the VPC CNI, an admin) brought it up, and nodeadm
// leaves such a link to whoever did.
bool link_up(const StepOptions& opts, const std::string& name) {
    const std::string file = fmt::format("/sys/class/net/{}/flags", name);
    std::optional<std::string> text = read_file_if_exists(opts.paths.of(file));
    if (!text) throw Error(fmt::format("{}: no such interface", name));
    unsigned long flags = 0;
    try {
        flags = std::stoul(std::string(trim_line(*text)), nullptr, 16);
    } catch (const std::exception&) {
        throw Error(fmt::format("{}: {} is not the kernel's flags", file, v::shown(trim_line(*text))));
    }
    return (flags & 0x1) != 0;  // IFF_UP
}

// config.json, for featureGates.OSManagedNoManageENIs: none (an admin
// removed /run/eks-node) or unreadable is the gate off, the rules before it
// standing, as before the gate existed: never a failure of its own.
json config_for_gate(const StepOptions& opts) {
    try {
        return load_config_json(opts);
    } catch (const Error& e) {
        log::warning("{}; featureGates.OSManagedNoManageENIs taken as off", e.what());
        return json::object();
    }
}

bool gate_on(const json& cfg) {
    const json* on = path_in(cfg, {"spec", "featureGates", "OSManagedNoManageENIs"});
    return on && on->is_boolean() && on->get<bool>();
}

// Below the unit's TimeoutStartSec=150s: the step reports a pending answer
// (exit 75) and systemd starts it again, rather than systemd killing it.
constexpr std::chrono::milliseconds tag_deadline{100'000};

// featureGates.OSManagedNoManageENIs for an ENI the first-sight rules gave
// the VPC CNI: its link still down, EC2's tags decide (detail::tagged_owner),
// asked again with backoff while EC2 has not decided.
detail::OwnerRule no_manage_owner(const StepOptions& opts, const json& cfg, const render::Eni& eni,
                                  const std::string& instance_id) {
    auto up = [] { return detail::OwnerRule{render::EniOwner::cni, "attached after kubelet started, and up already"}; };
    if (link_up(opts, eni.name)) return up();
    std::unique_ptr<aws::Session> session = aws::session_from_config(cfg, tag_deadline);
    const aws::CallPurpose why{"ec2:DescribeNetworkInterfaces", "spec.featureGates.OSManagedNoManageENIs",
                               "the feature gate, for an ENI attached after kubelet started"};
    for (;;) {
        std::optional<detail::OwnerRule> rule =
            detail::tagged_owner(aws::describe_eni_tags(*session, eni.mac, instance_id, why));
        // The VPC CNI may have brought the link up while EC2 answered.
        if (link_up(opts, eni.name)) return up();
        if (rule) return *rule;
        const std::string pending =
            fmt::format("EC2 DescribeNetworkInterfaces: {} ({}) of {} has no {} or {} tag yet", eni.mac, eni.name,
                        instance_id, aws::no_manage_tag, aws::cni_instance_tag);
        // said each time (the backoff grows to 10 s): an ENI
        // waiting for its tags is the one thing an admin watches here
        log::info("{}; asking again", pending);
        if (!session->wait_retry(pending)) throw TempError(pending + "; asked again when the unit restarts");
    }
}

}  // namespace

namespace detail {

std::optional<OwnerRule> tagged_owner(const aws::EniTags& tags) {
    if (!tags.listed) return std::nullopt;
    // The VPC CNI compares the value exactly: only "true" opts out.
    if (tags.no_manage == "true")
        return OwnerRule{render::EniOwner::systemd, fmt::format("tagged {}=true", aws::no_manage_tag)};
    if (tags.no_manage)
        return OwnerRule{render::EniOwner::cni, fmt::format("tagged {}={} (only \"true\" opts out of the VPC CNI)",
                                                            aws::no_manage_tag, v::shown(*tags.no_manage))};
    if (tags.cni_created)
        return OwnerRule{render::EniOwner::cni,
                         fmt::format("created by the VPC CNI (tagged {})", aws::cni_instance_tag)};
    return std::nullopt;
}

OwnerRule first_sight_owner(const FirstSight& sight) {
    if (sight.primary) return {render::EniOwner::systemd, "the primary interface"};
    if (!sight.kubelet_started) return {render::EniOwner::systemd, "attached before kubelet started"};
    if (sight.listed_before_kubelet) return {render::EniOwner::systemd, "listed by IMDS before kubelet started"};
    return {render::EniOwner::cni, "attached after kubelet started"};
}

std::optional<std::vector<std::string>> interface_macs(std::string_view text, std::string_view instance_id,
                                                       std::string& problem) {
    // Without exceptions: a number such as 1e400 is as unreadable as any
    // other broken file.
    json j = json::parse(text, nullptr, false);
    if (!j.is_object()) {
        problem = "not a JSON object";
        return std::nullopt;
    }
    try {
        imds::check_instance(j, "");
    } catch (const ConfigError& e) {
        problem = e.what();
        return std::nullopt;
    }
    auto id = j.find("instanceId");
    if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>() != instance_id) {
        problem = fmt::format("not this instance's ({})", instance_id);
        return std::nullopt;
    }
    auto macs = j.find("interfaceMacs");
    if (macs == j.end()) {
        problem = "no interfaceMacs (written by an eks-node-imds that did not list the interfaces)";
        return std::nullopt;
    }
    return macs->get<std::vector<std::string>>();
}

bool written_before(const timespec& mtime, uint64_t start_usec) {
    return start_usec != 0 && realtime_usec(mtime) < start_usec;
}

}  // namespace detail

StepResult network(const StepOptions& opts) {
    if (opts.args.size() != 1)
        throw UsageError("expects one argument, the interface name (as eks-node-network@NAME.service passes it)");
    render::Eni eni;
    eni.name = opts.args[0];
    check_interface_name(eni.name);

    // The MAC the interface was born with: what IMDS knows it by, and what
    // the file matches (PermanentMACAddress=, as a MAC policy could change
    // the current one).
    const std::string address_file = fmt::format("/sys/class/net/{}/address", eni.name);
    std::optional<std::string> address = read_file_if_exists(opts.paths.of(address_file));
    if (!address) throw Error(fmt::format("{}: no such interface", eni.name));
    eni.mac = std::string(trim_line(*address));
    if (std::string problem = v::mac(eni.mac); !problem.empty())
        throw Error(fmt::format("{}: {}", address_file, problem));

    json settings = {{"imds", input::static_settings_table(opts.paths, "imds")}};
    imds::ImdsOptions io = imds::imds_options(settings, opts.imds_endpoint);
    static constexpr std::string_view leaves[] = {
        "device-number",          "network-card", "interface-id",           "local-ipv4s",
        "subnet-ipv4-cidr-block", "ipv6s",        "subnet-ipv6-cidr-blocks"};
    std::vector<std::string> paths{"meta-data/instance-id", "meta-data/mac"};
    for (std::string_view leaf : leaves) paths.push_back(mac_leaf(eni.mac, leaf));
    Fetched f = imds::fetch_paths(io, paths);

    std::optional<std::string> instance_id = scalar(f, "meta-data/instance-id", v::instance_id);
    std::optional<std::string> primary_mac = scalar(f, "meta-data/mac", v::mac);
    if (!instance_id || !primary_mac)
        throw Error(
            "IMDS has no meta-data/instance-id or meta-data/mac (HTTP 404); both are served on every EC2 instance");
    eni.primary = eni.mac == *primary_mac;

    // Who owns it: what was decided at its first sight on this instance
    // (after a reboot, the VPC CNI's ENIs are present at boot like the
    // others); else the primary and every ENI seen before kubelet started
    // are systemd-networkd's, and one seen later is the VPC CNI's: it attaches
    // ENIs only once kubelet runs its pod. Not "before eks-node-config wrote
    // config.json": on a slow boot udev can announce an ENI of the launch
    // template after the chain resolved the node (CI, 2026-11-25), while
    // kubelet starts only after the whole chain.
    // IMDS's list of the interfaces, in instance.json, written before
    // kubelet started, still names a launch ENI udev announced late: the VPC
    // CNI cannot have attached one before kubelet ran its pod.
    const fs::path record = opts.paths.of(fmt::format("{}/{}", path::eni_owner_dir, eni.mac));
    std::optional<ConfigError> denied;  // the gate's EC2 call refused: failed once the files are written
    std::optional<render::EniOwner> owner = recorded_owner(record, *instance_id);
    std::string why = "recorded at its first sight on this instance";
    if (!owner) {
        detail::FirstSight sight{.primary = eni.primary};
        if (!sight.primary) {
            const KubeletStart kubelet = kubelet_start(opts);
            sight.kubelet_started = kubelet.started;
            if (kubelet.started)
                sight.listed_before_kubelet = listed_before_kubelet(opts, *instance_id, eni.mac, kubelet.realtime_usec);
        }
        detail::OwnerRule rule = detail::first_sight_owner(sight);
        // The CNI's by the rules above: the gate may give it back to
        // systemd-networkd. config.json exists once kubelet started.
        if (rule.owner == render::EniOwner::cni) {
            const json cfg = config_for_gate(opts);
            if (gate_on(cfg)) {
                try {
                    rule = no_manage_owner(opts, cfg, eni, *instance_id);
                } catch (const AccessDeniedError& e) {
                    // Left to the VPC CNI as without the gate, and recorded so
                    // below: after a reboot the ENI is present at boot, and
                    // with no record it would be systemd-networkd's, though
                    // the CNI may own it. Then the step fails, naming the call.
                    rule.why = "attached after kubelet started; EC2 refused the gate's question";
                    denied.emplace(e.source(), e.field(),
                                   fmt::format("{}; {} is left to the VPC CNI, as without the gate (recorded in {}: "
                                               "remove that file and restart eks-node-network@{}.service once the "
                                               "role allows the call)",
                                               e.problem(), eni.name, record.string(), eni.name));
                }
            }
        }
        owner = rule.owner;
        why = std::move(rule.why);
    }

    if (*owner == render::EniOwner::systemd) {
        std::optional<std::string> device = scalar(f, mac_leaf(eni.mac, "device-number"), small_number);
        // IMDS lists a new ENI a moment after the kernel sees it: a 404 now
        // is worth asking again (exit 75; the unit restarts).
        if (!device)
            throw TempError(fmt::format("IMDS does not list {} ({}) yet: no {}", eni.mac, eni.name,
                                        mac_leaf(eni.mac, "device-number")));
        eni.device_number = std::stoi(*device);
        if (auto card = scalar(f, mac_leaf(eni.mac, "network-card"), small_number)) eni.network_card = std::stoi(*card);
        eni.interface_id = scalar(f, mac_leaf(eni.mac, "interface-id"), v::eni_id).value_or("");
        eni.ipv4s = list(f, mac_leaf(eni.mac, "local-ipv4s"), v::ipv4);
        eni.ipv4_subnet = scalar(f, mac_leaf(eni.mac, "subnet-ipv4-cidr-block"), v::ipv4_cidr).value_or("");
        eni.ipv6s = list(f, mac_leaf(eni.mac, "ipv6s"), v::ipv6);
        eni.ipv6_subnets = list(f, mac_leaf(eni.mac, "subnet-ipv6-cidr-blocks"), v::ipv6_cidr);
    } else {
        eni.interface_id = scalar(f, mac_leaf(eni.mac, "interface-id"), v::eni_id).value_or("");
    }
    if (eni.primary && eni.device_number != 0)
        log::warning("{}: the primary interface has device number {}, not 0", eni.name, eni.device_number);

    StepResult out;
    const fs::path file = opts.paths.of(render::eni_network_path(eni.name));
    out.add(file, write_file_atomic(file, render::eni_network_text(eni, *owner), outputs::of(path::eni_network).mode));
    if (eni.primary) {
        const fs::path dropin = opts.paths.of(path::network_fallback_dropin);
        out.add(dropin, write_file_atomic(dropin, render::fallback_dropin_text(eni.mac),
                                          outputs::of(path::network_fallback_dropin).mode));
    }
    // Last: a record says a decision was carried out.
    out.add(record, write_file_atomic(record, fmt::format("{} {}\n", *instance_id, render::owner_name(*owner)),
                                      outputs::of(path::eni_owner).mode));

    std::string what = *owner == render::EniOwner::cni ? std::string("left to the VPC CNI (Unmanaged=yes)")
                       : eni.primary                   ? std::string("configured as the primary interface")
                                     : fmt::format("configured with route table {}", render::route_table(eni));
    log::info("{} ({}{}{}): {}; {}", eni.name, eni.mac, eni.interface_id.empty() ? "" : ", ", eni.interface_id, what,
              why);

    // networkd reads its files at start and on Reload only. Asked over
    // D-Bus, and only when a file changed: a re-run with nothing new leaves
    // every link alone (`networkctl reload` in ExecStartPost= would
    // reconfigure on every run, and the step has no program to run anyway).
    const bool changed = std::any_of(out.outputs.begin(), out.outputs.end() - 1,
                                     [](const auto& o) { return o.second == WriteResult::written; });
    if (changed && sd::manages_host(opts.paths)) {
        try {
            sd::networkd_reload();
            log::info("systemd-networkd reloaded");
        } catch (const Error& e) {
            // Not fatal: networkd reads the file when it starts.
            log::warning("{}; the file applies when systemd-networkd next starts or reloads", e.what());
        }
    } else if (changed) {
        log::debug("not on the host under systemd: no systemd-networkd reload");
    }
    if (denied) throw *denied;
    return out;
}

}  // namespace eksnode::steps
