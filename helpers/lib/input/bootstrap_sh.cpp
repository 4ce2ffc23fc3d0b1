// SPDX-License-Identifier: Apache-2.0
// AL2 bootstrap.sh front end: the mapping of its flags onto the configuration
// model. The scripts that call it are read by format/shell.hpp; this file only
// decides what the call's words mean.
//
// Facts about bootstrap.sh (amazon-eks-ami, files/bootstrap.sh of the AL2
// releases): the first positional argument is the cluster name; every flag
// takes a value in the next word; --kubelet-extra-args lands unquoted in
// kubelet's ExecStart through a systemd Environment= line, so systemd splits it
// at whitespace; --use-max-pods defaults to true; without --dns-cluster-ip the
// DNS address is the service CIDR's .10, and without either it is 172.20.0.10
// when a VPC CIDR block of the primary interface starts with "10.", else
// 10.100.0.10 (DescribeCluster is called only when the endpoint or the CA is
// missing, and then its service CIDR is used if it has one); with --ip-family
// ipv6 it is the IPv6 service CIDR's ::a and --service-ipv6-cidr is required
// when the endpoint and CA are given; --container-runtime defaulted to dockerd
// before Kubernetes 1.24.
#include "input/bootstrap_sh.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "format/checks.hpp"
#include "format/convert.hpp"
#include "format/field_text.hpp"
#include "input/defaults.hpp"

namespace eksnode::input::bootstrap_sh {

using detail::is_pod_count;

namespace {

enum class Takes { value, boolean };

struct FlagSpec {
    std::string_view name;
    Takes takes;
};

constexpr FlagSpec flag_specs[] = {
    {"--apiserver-endpoint", Takes::value},
    {"--b64-cluster-ca", Takes::value},
    {"--kubelet-extra-args", Takes::value},
    {"--container-runtime", Takes::value},
    {"--containerd-config-file", Takes::value},
    {"--dns-cluster-ip", Takes::value},
    {"--ip-family", Takes::value},
    {"--local-disks", Takes::value},
    {"--pause-container-account", Takes::value},
    {"--pause-container-version", Takes::value},
    {"--service-ipv4-cidr", Takes::value},
    {"--service-ipv6-cidr", Takes::value},
    {"--use-max-pods", Takes::boolean},
    {"--enable-local-outpost", Takes::boolean},
    {"--cluster-id", Takes::value},
    {"--aws-api-retry-attempts", Takes::value},
    {"--mount-bpf-fs", Takes::boolean},
    {"--docker-config-json", Takes::value},
    {"--enable-docker-bridge", Takes::boolean},
};

const FlagSpec* find_flag(std::string_view name) {
    for (const FlagSpec& f : flag_specs)
        if (f.name == name) return &f;
    return nullptr;
}

std::string field_of(std::string_view flag) { return fmt::format("bootstrap.sh {}", flag); }

// The variables bootstrap.sh reads from its environment and the flag each
// stands for (tests/data/bootstrap-sh-environment.tsv has the lines): the
// flag loop assigns the same variable, and a ${VAR:-default} after it keeps
// what is there, so a flag beats the variable and an empty value is unset.
struct EnvSpec {
    std::string_view name;
    std::string_view flag;  // empty: no flag sets it
};

constexpr EnvSpec env_specs[] = {
    {"USE_MAX_PODS", "--use-max-pods"},
    {"B64_CLUSTER_CA", "--b64-cluster-ca"},
    {"APISERVER_ENDPOINT", "--apiserver-endpoint"},
    {"KUBELET_EXTRA_ARGS", "--kubelet-extra-args"},
    {"ENABLE_DOCKER_BRIDGE", "--enable-docker-bridge"},
    {"API_RETRY_ATTEMPTS", "--aws-api-retry-attempts"},
    {"DOCKER_CONFIG_JSON", "--docker-config-json"},
    {"CONTAINERD_CONFIG_FILE", "--containerd-config-file"},
    {"PAUSE_CONTAINER_ACCOUNT", "--pause-container-account"},
    {"PAUSE_CONTAINER_VERSION", "--pause-container-version"},
    {"DNS_CLUSTER_IP", "--dns-cluster-ip"},
    {"CONTAINER_RUNTIME", "--container-runtime"},
    {"IP_FAMILY", "--ip-family"},
    {"SERVICE_IPV4_CIDR", "--service-ipv4-cidr"},
    {"SERVICE_IPV6_CIDR", "--service-ipv6-cidr"},
    {"ENABLE_LOCAL_OUTPOST", "--enable-local-outpost"},
    {"CLUSTER_ID", "--cluster-id"},
    {"MOUNT_BPF_FS", "--mount-bpf-fs"},
    {"LOCAL_DISKS", "--local-disks"},
    // ${PAUSE_CONTAINER_IMAGE:-$ECR_URI/eks/pause}, then ":$PAUSE_CONTAINER_VERSION"
    {"PAUSE_CONTAINER_IMAGE", ""},
    // ${IS_LOCAL_OUTPOST_DETECTED:-false} stands for --enable-local-outpost
    // when that is not given and DescribeCluster, which sets it, is not called
    {"IS_LOCAL_OUTPOST_DETECTED", ""},
};

// bootstrap.sh's default pause tag at the commit the table was read at
// (PAUSE_CONTAINER_VERSION="${PAUSE_CONTAINER_VERSION:-3.5}"), used with
// PAUSE_CONTAINER_IMAGE as it used it; eks-node's own default is pauseTag's.
constexpr std::string_view al2_pause_tag = "3.5";

// The EKS default service CIDRs (used when the cluster was created without
// one), keyed by their DNS address.
std::optional<std::string> default_service_cidr(std::string_view dns_ip) {
    if (dns_ip == "10.100.0.10") return "10.100.0.0/16";
    if (dns_ip == "172.20.0.10") return "172.20.0.0/16";
    return std::nullopt;
}

// The /24 around an IPv4 address: the narrowest service CIDR EKS allows.
std::string enclosing_slash24(std::string_view ip) {
    in_addr a{};
    inet_pton(AF_INET, std::string(ip).c_str(), &a);
    uint32_t net = ntohl(a.s_addr) & 0xFFFFFF00u;
    return fmt::format("{}.{}.{}.0/24", net >> 24, (net >> 16) & 0xFF, (net >> 8) & 0xFF);
}

bool is_ipv4(std::string_view ip) {
    in_addr a{};
    return inet_pton(AF_INET, std::string(ip).c_str(), &a) == 1;
}

// --kubelet-extra-args as kubelet receives it: split at whitespace (systemd
// expands an unbraced $VAR in ExecStart= that way; quotes are not special),
// "--flag value" joined to "--flag=value" (the same to kubelet's flag parser),
// and -v, kubelet's one shorthand, written as --v.
std::vector<std::string> kubelet_flags(std::string_view extra, const std::string& source, const std::string& field) {
    std::vector<std::string> words, flags;
    for (size_t pos = 0; pos < extra.size();) {
        while (pos < extra.size() && format::text::is_space(extra[pos])) ++pos;
        size_t end = pos;
        while (end < extra.size() && !format::text::is_space(extra[end])) ++end;
        if (end > pos) words.emplace_back(extra.substr(pos, end - pos));
        pos = end;
    }
    for (std::string w : words) {
        if (w == "-v" || w.starts_with("-v=")) w = "-" + w;
        if (w.starts_with("--")) {
            flags.push_back(w);
        } else if (!flags.empty() && flags.back().find('=') == std::string::npos) {
            flags.back() += "=" + w;
        } else {
            throw ConfigError(
                source, field,
                fmt::format("{} is not a kubelet flag (expected --name or --name=value)", format::text::quote(w)));
        }
    }
    for (const std::string& f : flags)
        if (std::string problem = format::check::kubelet_flag(f); !problem.empty())
            throw ConfigError(source, field, problem);
    return flags;
}

class Mapper {
public:
    Mapper(const std::string& source, const FileReader& read) : source_(source), read_(read) {}

    Fragment map(const std::vector<Arg>& args, const Inputs& inputs) {
        collect(args);
        from_environment(inputs.environment);
        apply_edits(inputs.edits);
        Fragment f{source_};
        if (positional_.empty())
            throw ConfigError(source_, "bootstrap.sh CLUSTER", "the cluster name (first argument) is missing");
        f.spec["cluster"]["name"] = checked(positional_.front(), "bootstrap.sh CLUSTER", format::check::cluster_name);
        if (auto v = value("--apiserver-endpoint"))
            f.spec["cluster"]["apiServerEndpoint"] = checked(*v, "--apiserver-endpoint", format::check::http_url);
        if (auto v = value("--b64-cluster-ca"))
            f.spec["cluster"]["certificateAuthority"] =
                checked(*v, "--b64-cluster-ca", format::check::certificate_authority);
        map_runtime(f);
        map_network(f);
        map_kubelet(f);
        map_outposts_and_disks(f);
        map_pause_image(f, inputs.environment);
        if (auto v = value("--containerd-config-file")) map_containerd_file(f, *v);
        return f;
    }

private:
    // The variables of bootstrap.sh's environment, each where its flag is
    // missing, as bootstrap.sh takes them.
    void from_environment(const std::map<std::string, Variable>& env) {
        for (const EnvSpec& spec : env_specs) {
            auto it = env.find(std::string(spec.name));
            if (it == env.end() || spec.flag.empty()) continue;
            const Variable& v = it->second;
            std::string name(spec.name), flag(spec.flag);
            const std::string where = env_field(name, v);
            if (flags_.count(flag)) {
                if (v.unresolved.empty() && v.value != flags_[flag])
                    log::info("{}: {} ignored: the call's {} beats it, as in bootstrap.sh", source_, where, flag);
                continue;
            }
            if (!env_value(name, v, find_flag(flag)->takes == Takes::boolean)) continue;
            flags_[flag] = v.value;
            fields_[flag] = where;
        }
        // IS_LOCAL_OUTPOST_DETECTED decides only when DescribeCluster is not
        // called (endpoint and CA given) and --enable-local-outpost is not
        if (auto it = env.find("IS_LOCAL_OUTPOST_DETECTED");
            it != env.end() && !flags_.count("--enable-local-outpost") && value("--apiserver-endpoint") &&
            value("--b64-cluster-ca")) {
            const Variable& v = it->second;
            if (env_value(it->first, v, true)) {
                flags_["--enable-local-outpost"] = v.value;
                fields_["--enable-local-outpost"] = env_field(it->first, v);
            }
        }
    }

    // A variable's value as bootstrap.sh takes it, or nullopt where the boot
    // has none: an empty value (${VAR:-default} takes it as unset), or one only
    // the script's run can tell ($(...)). That one is warned naming the
    // variable and left out, not refused: kubelet waits for the script's call
    // anyway, and the shim, which has the real environment, then applies it
    // (cli/bootstrap_sh_cmd.cpp: its flags differ from the boot's, so it
    // writes them and re-runs the configuration). A refusal here would fail
    // the boot (settings.onFailure acts on it) before the script has run. An
    // unresolved flag argument is still refused (collect()): the call itself
    // is what the boot reads. A boolean is true or false.
    std::optional<std::string> env_value(const std::string& name, const Variable& v, bool boolean) const {
        if (!v.unresolved.empty()) {
            log::warning(
                "{}: {}: {} {}: not applied at boot; /etc/eks/bootstrap.sh applies the value when "
                "cloud-init runs the script",
                source_, env_field(name, v), name, v.unresolved);
            return std::nullopt;
        }
        if (boolean && !v.value.empty() && v.value != "true" && v.value != "false")
            throw ConfigError(source_, env_field(name, v),
                              fmt::format("{} is not true or false", format::text::quote(v.value)));
        if (v.value.empty()) return std::nullopt;
        return v.value;
    }

    static std::string env_field(const std::string& name, const Variable& v) {
        return v.where.empty() ? fmt::format("{} in bootstrap.sh's environment", name)
                               : fmt::format("{} in bootstrap.sh's environment ({})", name, v.where);
    }

    void apply_edits(const Edits& edits) {
        const std::string extra = "--kubelet-extra-args";
        // eksctl's edit changes the flag loop's line, which runs only for the flag
        if (!edits.after_flag.empty() && flags_.count(extra) && !fields_.count(extra))
            flags_[extra] += edits.after_flag;
        else if (!edits.after_flag.empty())
            log::warning(
                "{}: the user data's edit of {} adds{} to the --kubelet-extra-args flag's value, and the call passes "
                "no --kubelet-extra-args: no effect, as on AL2",
                source_, script_path, edits.after_flag);
        if (!edits.after_value.empty()) flags_[extra] += edits.after_value;
    }

    // How errors name a flag: as the flag, or as the variable it came from.
    std::string field(std::string_view flag) const {
        auto it = fields_.find(std::string(flag));
        return it == fields_.end() ? field_of(flag) : it->second;
    }

    void collect(const std::vector<Arg>& args) {
        for (size_t i = 0; i < args.size(); ++i) {
            const Arg& a = args[i];
            if (!a.unresolved.empty())
                throw ConfigError(source_, fmt::format("bootstrap.sh argument {}", i + 1),
                                  fmt::format("{}: {}", a.raw, a.unresolved));
            if (!a.value.starts_with("-")) {
                positional_.push_back(a.value);
                continue;
            }
            std::string name = a.value.substr(0, a.value.find('='));
            const FlagSpec* spec = find_flag(name);
            if (name == "-h" || name == "--help")
                throw ConfigError(source_, field_of(name), "prints help and exits: the node would not join");
            if (!spec) throw ConfigError(source_, field_of(name), "not a bootstrap.sh flag");
            std::string v;
            if (name.size() < a.value.size()) {
                v = a.value.substr(name.size() + 1);
            } else {
                if (i + 1 >= args.size()) throw ConfigError(source_, field_of(name), "needs a value");
                const Arg& next = args[++i];
                if (!next.unresolved.empty())
                    throw ConfigError(source_, field_of(name), fmt::format("{}: {}", next.raw, next.unresolved));
                v = next.value;
            }
            if (spec->takes == Takes::boolean && v != "true" && v != "false")
                throw ConfigError(source_, field_of(name),
                                  fmt::format("{} is not true or false", format::text::quote(v)));
            // bootstrap.sh keeps the last value of a repeated flag
            flags_[name] = v;
        }
        if (positional_.size() > 1)
            throw ConfigError(source_, "bootstrap.sh CLUSTER",
                              fmt::format("one cluster name expected, got {} arguments that are not flags: {}",
                                          positional_.size(), fmt::join(positional_, " ")));
    }

    std::optional<std::string> value(std::string_view flag) const {
        auto it = flags_.find(std::string(flag));
        return it == flags_.end() ? std::nullopt : std::optional(it->second);
    }

    std::string checked(const std::string& v, std::string_view flag, std::string (*check)(std::string_view)) const {
        std::string where = flag.starts_with("--") ? field(flag) : std::string(flag);
        if (std::string problem = check(v); !problem.empty()) throw ConfigError(source_, where, problem);
        return v;
    }

    void map_runtime(Fragment&) const {
        constexpr std::string_view no_docker =
            "dockerd is not supported: eks-node runs containerd (Kubernetes removed dockershim in 1.24)";
        if (auto v = value("--container-runtime"); v && *v != "containerd")
            throw ConfigError(source_, field("--container-runtime"),
                              *v == "dockerd"
                                  ? std::string(no_docker)
                                  : fmt::format("{} is not supported; only containerd is", format::text::quote(*v)));
        // Leftovers of docker-era user data: AL2's bootstrap.sh only warned
        // about them under containerd (kubelet >= 1.24) and the node joined,
        // so they are not worth a failed boot here either. The value is not
        // shown: a docker config.json can hold registry credentials.
        for (std::string_view docker_only : {"--docker-config-json", "--enable-docker-bridge"})
            if (value(docker_only))
                log::warning("{}: ignored: it configures dockerd, and eks-node runs containerd", field(docker_only));
        if (auto v = value("--aws-api-retry-attempts")) {
            if (v->empty() || !std::all_of(v->begin(), v->end(), is_digit))
                throw ConfigError(source_, field("--aws-api-retry-attempts"),
                                  fmt::format("{} is not a number of attempts", format::text::quote(*v)));
            log::info(
                "{}: bootstrap.sh --aws-api-retry-attempts {} accepted; eks-node's AWS calls retry with "
                "their own bounded backoff",
                source_, *v);
        }
        if (value("--mount-bpf-fs") == "false")
            log::info("{}: bootstrap.sh --mount-bpf-fs false accepted; /sys/fs/bpf is mounted by systemd", source_);
    }

    void map_network(Fragment& f) const {
        std::string family = format::text::lower(value("--ip-family").value_or(""));
        if (!family.empty() && family != "ipv4" && family != "ipv6")
            throw ConfigError(source_, field("--ip-family"),
                              fmt::format("{} is not ipv4 or ipv6", format::text::quote(*value("--ip-family"))));
        auto v6 = value("--service-ipv6-cidr");
        if (v6 && family == "ipv4")
            throw ConfigError(source_, field("--service-ipv6-cidr"), "given with --ip-family ipv4");
        if (v6) family = "ipv6";
        auto dns = value("--dns-cluster-ip");
        if (dns) checked(*dns, "--dns-cluster-ip", format::check::ip_address);
        json& cluster = f.spec["cluster"];

        if (family == "ipv6") {
            bool coordinates = value("--apiserver-endpoint") && value("--b64-cluster-ca");
            if (!v6 && coordinates)
                throw ConfigError(source_, field("--service-ipv6-cidr"),
                                  "required with --ip-family ipv6 when --apiserver-endpoint and --b64-cluster-ca are "
                                  "given (as bootstrap.sh requires)");
            if (v6) cluster["cidr"] = checked(*v6, "--service-ipv6-cidr", format::check::cidr);
            // bootstrap.sh ignores --dns-cluster-ip on IPv6: the DNS address is the CIDR's ::a
            if (dns)
                log::info("{}: bootstrap.sh --dns-cluster-ip {} ignored on an IPv6 cluster, as bootstrap.sh does",
                          source_, *dns);
            return;
        }
        if (auto v4 = value("--service-ipv4-cidr")) {
            cluster["cidr"] = checked(*v4, "--service-ipv4-cidr", format::check::cidr);
        } else if (dns) {
            // Only the DNS address is known. eks-node uses the service CIDR
            // for clusterDNS and the IP family alone, so the EKS default CIDR
            // of that address, else the /24 around it, gives the same node.
            if (!is_ipv4(*dns))
                throw ConfigError(source_, field("--dns-cluster-ip"),
                                  "an IPv6 address needs --ip-family ipv6 and --service-ipv6-cidr");
            cluster["cidr"] = default_service_cidr(*dns).value_or(enclosing_slash24(*dns));
        } else {
            // Neither: bootstrap.sh took the DNS address from the VPC's CIDR
            // blocks (IMDS), without asking EKS when the endpoint and CA were
            // given, and when it had to ask for them, from DescribeCluster's
            // service CIDR if the answer had one.
            bool coordinates = value("--apiserver-endpoint") && value("--b64-cluster-ca");
            f.settings["serviceCidrStrategy"] = coordinates ? "vpc" : "describe-cluster-or-vpc";
        }
        // bootstrap.sh's --dns-cluster-ip wins over the CIDR's .10
        if (dns && cluster.contains("cidr") && defaults::cluster_dns(cluster["cidr"].get<std::string>()) != *dns)
            f.spec["kubelet"]["config"]["clusterDNS"] = json::array({*dns});
    }

    void map_kubelet(Fragment& f) const {
        std::vector<std::string> flags;
        if (auto v = value("--kubelet-extra-args")) flags = kubelet_flags(*v, source_, field("--kubelet-extra-args"));
        if (!flags.empty()) f.spec["kubelet"]["flags"] = flags;
        if (value("--use-max-pods") != "false") return;
        // bootstrap.sh then leaves maxPods to kubelet: its --max-pods flag if
        // the extra args carry one, else kubelet's default of 110. Recording
        // the number lets kubeReserved follow it.
        long max_pods = defaults::kubelet_max_pods;
        for (const std::string& fl : flags) {
            if (!fl.starts_with("--max-pods=")) continue;
            std::string n = fl.substr(std::string_view("--max-pods=").size());
            if (!is_pod_count(n))
                throw ConfigError(source_, field("--kubelet-extra-args"),
                                  fmt::format("--max-pods={} is not a number of pods", n));
            max_pods = std::stol(n);
        }
        f.spec["kubelet"]["config"]["maxPods"] = max_pods;
    }

    // The registry host stays the region's (derived later, when the region is
    // known); only the account and the tag come from the flags.
    void map_pause_image(Fragment& f, const std::map<std::string, Variable>& env) const {
        if (auto v = value("--pause-container-account"))
            f.settings["containerd"]["pauseAccount"] =
                checked(*v, "--pause-container-account", format::check::aws_account_id);
        if (auto v = value("--pause-container-version"))
            f.settings["containerd"]["pauseTag"] = checked(*v, "--pause-container-version", format::check::image_tag);
        // No flag sets the whole repository; bootstrap.sh adds the tag to it
        auto it = env.find("PAUSE_CONTAINER_IMAGE");
        if (it == env.end() || !env_value(it->first, it->second, false)) return;
        std::string image = fmt::format("{}:{}", it->second.value,
                                        value("--pause-container-version").value_or(std::string(al2_pause_tag)));
        if (std::string problem = format::check::image_reference(image); !problem.empty())
            throw ConfigError(source_, env_field(it->first, it->second), problem);
        f.settings["containerd"]["sandboxImage"] = image;
    }

    void map_outposts_and_disks(Fragment& f) const {
        if (auto v = value("--enable-local-outpost")) f.spec["cluster"]["enableOutpost"] = *v == "true";
        if (auto v = value("--cluster-id"))
            f.spec["cluster"]["id"] = checked(*v, "--cluster-id", format::check::single_token);
        if (auto v = value("--local-disks")) {
            static const std::map<std::string, std::string> strategies = {
                {"raid0", "RAID0"}, {"raid10", "RAID10"}, {"mount", "Mount"}};
            auto it = strategies.find(format::text::lower(*v));
            if (it == strategies.end())
                throw ConfigError(source_, field("--local-disks"),
                                  fmt::format("{} is not raid0, raid10 or mount", format::text::quote(*v)));
            f.spec["instance"]["localStorage"]["strategy"] = it->second;
        }
    }

    // bootstrap.sh uses the file instead of the image's config.toml; eks-node,
    // like NodeConfig's containerd.config, merges it over its own defaults, so
    // the settings eks-node needs (sandbox image, cgroup driver) stay unless
    // the file sets them.
    void map_containerd_file(Fragment& f, const std::string& path) const {
        const std::string where = field("--containerd-config-file");
        checked(path, "--containerd-config-file", format::check::absolute_path);
        std::string why;
        std::optional<std::string> content = read_(path, why);
        if (!content) throw ConfigError(source_, where, why);
        f.spec["containerd"]["config"] = *content;
        try {
            format::parse_containerd_config(f.spec, source_);
        } catch (const ConfigError& e) {
            throw ConfigError(source_, where, fmt::format("{}: {}", path, e.problem()));
        }
    }

    const std::string& source_;
    const FileReader& read_;
    std::vector<std::string> positional_;
    std::map<std::string, std::string> flags_;
    std::map<std::string, std::string> fields_;  // flags whose value came from the environment: the variable
};

}  // namespace

namespace detail {

bool is_pod_count(std::string_view n) {
    return !n.empty() && n.size() <= 6 && std::all_of(n.begin(), n.end(), is_digit);
}

std::string_view flag_of_variable(std::string_view name) {
    for (const EnvSpec& e : env_specs)
        if (e.name == name) return e.flag;
    return {};
}

}  // namespace detail

const std::vector<std::string>& environment_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const EnvSpec& e : env_specs) out.emplace_back(e.name);
        return out;
    }();
    return names;
}

Inputs inputs_from_environment(const char* const* envp) {
    Inputs in;
    const std::vector<std::string>& names = environment_names();
    for (; envp && *envp; ++envp) {
        std::string_view entry(*envp);
        size_t eq = entry.find('=');
        if (eq == entry.npos) continue;
        std::string name(entry.substr(0, eq));
        if (std::find(names.begin(), names.end(), name) != names.end())
            in.environment[name] = {std::string(entry.substr(eq + 1)), "", ""};
    }
    return in;
}

Fragment fragment_from_args(const std::vector<Arg>& args, const std::string& source, const FileReader& read_file,
                            const Inputs& inputs) {
    return Mapper(source, read_file).map(args, inputs);
}

Fragment fragment_from_args(const std::vector<std::string>& args, const std::string& source,
                            const FileReader& read_file, const Inputs& inputs) {
    std::vector<Arg> as;
    for (const std::string& a : args) as.push_back({a, "", a});
    return fragment_from_args(as, source, read_file, inputs);
}

bool is_bootstrap_fragment(const Fragment& f) { return f.source.find("bootstrap.sh, line ") != std::string::npos; }

}  // namespace eksnode::input::bootstrap_sh
