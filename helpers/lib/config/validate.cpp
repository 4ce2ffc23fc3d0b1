// SPDX-License-Identifier: Apache-2.0
// Validation against the field table (input/schema.hpp), per fragment and of
// the merged whole.
#include "config/validate.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "config/credential_providers.hpp"
#include "config/registries.hpp"
#include "config/runtimes.hpp"
#include "config/trust.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "format/toml_json.hpp"
#include "input/aws_env.hpp"
#include "input/hooks.hpp"
#include "input/schema.hpp"
#include "input/settings.hpp"
#include "input/sources.hpp"

namespace eksnode::config {

namespace {

using input::schema::Field;
using input::schema::Kind;

class Validator {
public:
    // With `all`, each field's error is added there and the walk goes on to
    // the next field (`eks-node config check`); without, the first throws.
    Validator(const std::string& source, ConfigErrors* all) : source_(source), all_(all) {}

    // f() once, its ConfigError kept in all_ when there is one
    template <class F>
    void each(F&& f) const {
        keep_error(all_, std::forward<F>(f));
    }

    void value(const json& v, const Field& f, const std::string& path) const {
        if (!f.refused.empty()) {
            // its zero value (false, "", {}) asks for nothing eks-node would not do
            if (std::string why = input::schema::refusal(f, v); !why.empty()) fail(path, why);
            return;
        }
        if (f.read) return f.read(v, source_);
        switch (f.kind) {
        case Kind::object: return object(v, f, path);
        case Kind::free_object: expect(v.is_object(), v, f, path); return free_keys(v, path);
        case Kind::map: return map(v, f, path);
        case Kind::list: return list(v, f, path);
        case Kind::string: return string(v, f, path);
        case Kind::boolean: return expect(v.is_boolean(), v, f, path);
        case Kind::integer: return integer(v, f, path);
        case Kind::duration: return duration(v, path);
        }
    }

private:
    void expect(bool ok, const json& v, const Field& f, const std::string& path) const {
        if (!ok) fail(path, fmt::format("expected {}, got {}", input::schema::expected(f), format::text::describe(v)));
    }

    [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
        throw ConfigError(source_, path, problem);
    }

    // A free-form object's keys are passed through to files other programs
    // read: containerd.config and a runtime handler's options into
    // config.toml, where toml++ 3.3 writes a key with a newline, a tab or an
    // apostrophe unquoted, a file containerd cannot parse (toml_writable_key).
    // No key of any of them has one for a reason; the path quotes the key, so
    // that the error stays one line.
    void free_keys(const json& v, const std::string& path) const {
        if (v.is_array()) {
            for (size_t i = 0; i < v.size(); ++i) free_keys(v[i], format::text::element_path(path, i));
            return;
        }
        if (!v.is_object()) return;
        for (const auto& [key, child] : v.items()) {
            if (!format::toml_writable_key(key))
                fail(format::text::child_path(path, format::text::quote(key)),
                     "a key with a control character (a newline, a tab...) or an apostrophe, which config.toml's "
                     "writer leaves unquoted");
            free_keys(child, format::text::child_path(path, key));
        }
    }

    void duration(const json& v, const std::string& path) const {
        std::string problem;
        if (!input::settings::parse_duration(v, problem)) fail(path, problem);
    }

    void object(const json& v, const Field& f, const std::string& path) const {
        expect(v.is_object(), v, f, path);
        // not a structured binding: clang 14 cannot capture one in the lambda
        for (const auto& item : v.items()) {
            const std::string& key = item.key();
            const json& child = item.value();
            std::string child_path = format::text::child_path(path, key);
            each([&] {
                const Field* member = f.member(key);
                if (!member) fail(child_path, unknown_field(f, key, path));
                value(child, *member, child_path);
            });
        }
    }

    // The names it suggests are those a value may be given to: a refused
    // field is known (its own error says why), but no help with a typo.
    // Past a handful, the list is a wall to read for the one name meant:
    // the nearest, and where they are all listed.
    static std::string unknown_field(const Field& f, const std::string& key, const std::string& path) {
        std::vector<std::string> names;
        for (const Field& m : f.members)
            if (m.refused.empty()) names.push_back(m.name);
        if (f.unknown_what.empty()) {
            constexpr size_t listed = 8;
            const std::string nearest = format::text::nearest(key, names);
            if (names.size() <= listed)
                return fmt::format("unknown field (nearest known field: {}; known fields: {})", nearest,
                                   fmt::join(names, ", "));
            return fmt::format("unknown field (nearest known field: {}; eks-node.toml(5), FIELDS, lists the {} of {})",
                               nearest, names.size(), path);
        }
        return fmt::format("{} ({}): {}", f.unknown_what, fmt::join(names, ", "), f.unknown_why);
    }

    void map(const json& v, const Field& f, const std::string& path) const {
        expect(v.is_object(), v, f, path);
        for (const auto& item : v.items()) {
            const std::string& key = item.key();
            const json& child = item.value();
            std::string child_path = format::text::child_path(path, key);
            each([&] {
                if (std::string problem = f.check(key); !problem.empty()) fail(child_path, problem);
                value(child, f.element(), child_path);
            });
        }
    }

    void list(const json& v, const Field& f, const std::string& path) const {
        expect(v.is_array(), v, f, path);
        for (size_t i = 0; i < v.size(); ++i)
            each([&] { value(v[i], f.element(), format::text::element_path(path, i)); });
    }

    void string(const json& v, const Field& f, const std::string& path) const {
        expect(v.is_string(), v, f, path);
        const std::string& s = v.get_ref<const std::string&>();
        if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end())
            fail(path, fmt::format("{} is not {}", format::text::quote(s), input::schema::expected(f)));
        if (f.check)
            if (std::string problem = f.check(s); !problem.empty()) fail(path, problem);
    }

    void integer(const json& v, const Field& f, const std::string& path) const {
        expect(v.is_number_integer(), v, f, path);
        // JSON parsers hand out non-negative numbers unsigned; beyond int64_t they exceed any bound
        bool huge =
            v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
        int64_t i = huge ? std::numeric_limits<int64_t>::max() : v.get<int64_t>();
        if (huge || i > f.max) fail(path, fmt::format("{} is more than {}", v.dump(), f.max));
        if (i < f.min) fail(path, fmt::format("{} is less than {}", v.dump(), f.min));
    }

    const std::string& source_;
    ConfigErrors* all_;
};

// For a required field nobody set, every source is a suspect.
std::string sources_consulted(const Origins& origins) {
    std::set<std::string> sources;
    for (const auto& [pointer, source] : origins) sources.insert(source);
    if (sources.empty()) return "configuration";
    return fmt::format("{}", fmt::join(sources, ", "));
}

std::string origin_of(const Origins& origins, const std::string& pointer) {
    auto it = origins.find(pointer);
    return it != origins.end() ? it->second : sources_consulted(origins);
}

bool is_set(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && !(it->is_string() && it->get_ref<const std::string&>().empty());
}

void require_cluster_fields(const json& spec, const json& settings, const Origins& origins,
                            const Requirements& required) {
    static const json none = json::object();
    auto found = spec.find("cluster");
    const json& cluster = found != spec.end() ? *found : none;
    std::vector<const char*> fields = {"name"};
    if (required.cluster_coordinates) {
        fields.insert(fields.end(), {"apiServerEndpoint", "certificateAuthority"});
        // the node derives it from its VPC (eks-node-config)
        if (service_cidr_strategy(settings) == ServiceCidrStrategy::describe_cluster) fields.push_back("cidr");
    }
    for (const char* key : fields)
        if (!is_set(cluster, key))
            throw ConfigError(sources_consulted(origins), fmt::format("spec.cluster.{}", key),
                              "required, but no source sets it");

    // (nodeadm's validation.go reports this case as "CIDR is missing".)
    auto outpost = cluster.find("enableOutpost");
    if (outpost != cluster.end() && *outpost == true && !is_set(cluster, "id"))
        throw ConfigError(origin_of(origins, "/spec/cluster/enableOutpost"), "spec.cluster.id",
                          "required when spec.cluster.enableOutpost is true");
}

// kubelet.config is passed to kubelet as given, except maxPods, which eks-node
// reads too (the reserved memory follows it): checked here so that `config
// check` refuses what eks-node-config would, and before a YAML number too
// large for a double (a string, as go-yaml leaves it) reaches kubelet.
void check_kubelet_max_pods(const json& spec, const Origins& origins) {
    const json* v = nullptr;
    if (auto k = spec.find("kubelet"); k != spec.end() && k->is_object())
        if (auto c = k->find("config"); c != k->end() && c->is_object())
            if (auto m = c->find("maxPods"); m != c->end() && !m->is_null()) v = &*m;
    if (!v) return;
    constexpr long max = std::numeric_limits<int>::max();
    bool ok = (v->is_number_integer() && v->get<long long>() >= 1 && v->get<long long>() <= max) ||
              (v->is_number_unsigned() && v->get<unsigned long long>() >= 1 && v->get<unsigned long long>() <= max);
    if (!ok)
        throw ConfigError(origin_of(origins, "/spec/kubelet/config/maxPods"), "spec.kubelet.config.maxPods",
                          fmt::format("{} is not an integer from 1 to {}", format::text::describe(*v), max));
}

// settings.swap against the settings it needs (eks-node-swap(8)), as
// derive_swap() refuses them at eks-node-config: so that `config check`
// with files alone refuses them too. (The kubelet version it needs is the
// node's: derive_swap() alone, and `config check` on the node.)
void check_swap(const json& spec, const json& settings, const Origins& origins) {
    if (!path_in(settings, {"swap"})) return;
    if (const json* f = path_in(spec, {"kubelet", "config", "failSwapOn"}); f && f->is_boolean() && f->get<bool>())
        throw ConfigError(origin_of(origins, "/spec/kubelet/config/failSwapOn"), "spec.kubelet.config.failSwapOn",
                          "true with settings.swap: kubelet refuses to start on a node with swap on");
    const json* location = path_in(settings, {"swap", "location"});
    if (location && *location == "instance-store" && !path_in(spec, {"instance", "localStorage", "strategy"}))
        throw ConfigError(origin_of(origins, "/settings/swap/location"), "settings.swap.location",
                          "instance-store needs spec.instance.localStorage.strategy: without it no instance-store "
                          "disk is mounted");
}

// Where kubelet's health endpoint listens, as eks-node-joined probes it
// (steps/joined.cpp, which refuses the same with exit 6 after kubelet
// started): a port, 0 for none, and an IP address.
void check_kubelet_healthz(const json& spec, const Origins& origins) {
    const json* c = path_in(spec, {"kubelet", "config"});
    if (!c || !c->is_object()) return;
    if (auto p = c->find("healthzPort"); p != c->end() && !p->is_null())
        if (!p->is_number_integer() || p->get<int64_t>() < 0 || p->get<int64_t>() > 65535)
            throw ConfigError(origin_of(origins, "/spec/kubelet/config/healthzPort"), "spec.kubelet.config.healthzPort",
                              fmt::format("{} is not a port (0 to 65535; 0: none)", format::text::describe(*p)));
    if (auto a = c->find("healthzBindAddress"); a != c->end() && !a->is_null()) {
        std::string problem = a->is_string() ? (a->get_ref<const std::string&>().empty()
                                                    ? std::string()
                                                    : format::check::ip_address(a->get_ref<const std::string&>()))
                                             : fmt::format("{} is not a string", format::text::describe(*a));
        if (!problem.empty())
            throw ConfigError(origin_of(origins, "/spec/kubelet/config/healthzBindAddress"),
                              "spec.kubelet.config.healthzBindAddress", problem);
    }
}

// settings.kubelet.configMode = "replace" makes spec.kubelet.config the whole
// KubeletConfiguration (render/kubelet_config.cpp): there must be one, of the
// one type kubelet reads, and what eks-node set up for kubelet (containerd's
// socket, the systemd cgroup driver containerd's runc uses) cannot be changed
// there, or kubelet would fail at its first pod instead of here.
void check_kubelet_config_mode(const json& spec, const json& settings, const Origins& origins) {
    const json* mode = path_in(settings, {"kubelet", "configMode"});
    if (!mode || *mode != "replace") return;
    const json* user = path_in(spec, {"kubelet", "config"});
    if (!user || !user->is_object() || user->empty())
        throw ConfigError(origin_of(origins, "/settings/kubelet/configMode"), "settings.kubelet.configMode",
                          "replace needs a KubeletConfiguration in spec.kubelet.config, and no source sets one");
    auto refuse_unless = [&](const char* key, std::string_view want, std::string_view why) {
        auto v = user->find(key);
        if (v == user->end() || v->is_null() || (v->is_string() && *v == want)) return;
        throw ConfigError(origin_of(origins, fmt::format("/spec/kubelet/config/{}", key)),
                          fmt::format("spec.kubelet.config.{}", key),
                          fmt::format("{} with settings.kubelet.configMode = replace: must be \"{}\" ({})",
                                      format::text::describe(*v), want, why));
    };
    refuse_unless("kind", "KubeletConfiguration", "the one document kubelet's --config reads");
    refuse_unless("apiVersion", "kubelet.config.k8s.io/v1beta1", "the version eks-node writes and checks");
    refuse_unless("cgroupDriver", "systemd", "containerd's runc runs with SystemdCgroup = true");
    refuse_unless("containerRuntimeEndpoint", "unix:///run/containerd/containerd.sock",
                  "the containerd eks-node configures and starts");
    // eks-node fills authentication.x509.clientCAFile inside the user's table
    const json* auth = path_in(*user, {"authentication"});
    const json* x509 = auth && auth->is_object() ? path_in(*auth, {"x509"}) : nullptr;
    for (auto [table, field] : {std::pair{auth, "authentication"}, std::pair{x509, "authentication.x509"}})
        if (table && !table->is_null() && !table->is_object())
            throw ConfigError(origin_of(origins, "/spec/kubelet/config/authentication"),
                              fmt::format("spec.kubelet.config.{}", field),
                              fmt::format("{} is not a table", format::text::describe(*table)));
}

// The AWS SDK variables of the node's environment, which eks-node-config's
// own AWS client reads too (input/aws_env.hpp): checked by the client's
// reader, whether or not this run makes an API call.
void check_aws_environment(const json& spec, const Origins& origins) {
    const json* section = path_in(spec, {"instance", "environment", "default"});
    if (!section || !section->is_object()) return;
    input::aws_env::Values ignored;
    for (std::string_view name : input::aws_env::names) {
        auto v = section->find(name);
        if (v == section->end() || !v->is_string()) continue;
        std::string key(name);
        input::aws_env::read(name, v->get_ref<const std::string&>(), ignored,
                             origin_of(origins, "/spec/instance/environment/default/" + key),
                             "spec.instance.environment.default." + key);
    }
}

// Two sections of instance.environment for one unit ("kubelet" and
// "kubelet.service", perhaps from two sources) would race for one file,
// /run/eks-node/env/kubelet.env: refused, naming both. Each key alone was
// checked with its fragment (check::service_section).
void check_environment_sections(const json& spec, const Origins& origins) {
    const json* sections = path_in(spec, {"instance", "environment"});
    if (!sections || !sections->is_object()) return;
    std::map<std::string, std::string> first_key;  // unit -> the section that named it first
    for (const auto& [key, vars] : sections->items()) {
        std::string unit = format::check::service_section_unit(key);
        auto [it, fresh] = first_key.emplace(unit, key);
        if (fresh) continue;
        // the source of the section: the origin of any of its variables
        const std::string pointer = "/spec/instance/environment/" + key + "/";
        auto origin = origins.lower_bound(pointer);
        bool known = origin != origins.end() && origin->first.starts_with(pointer);
        throw ConfigError(known ? origin->second : sources_consulted(origins),
                          format::text::child_path("spec.instance.environment", key),
                          fmt::format("names the same unit as spec.instance.environment.{} ({}.service): use one "
                                      "section for it",
                                      it->second, unit));
    }
}

// settings.staticPods are written to eks-node's directory and kubelet's
// staticPodPath set to it: a staticPodPath (or --pod-manifest-path) of the
// user's own would win, and kubelet would run none of them. Refused, naming
// both, rather than one of them silently ignored.
// settings.staticPods' bound: a node's own agents (a log shipper, a proxy, a
// monitoring agent or two) are a handful; every static pod takes one of
// maxPods (110 at most for most types, 8 or 4 on the smallest) from the
// node's workload, and each is a manifest kubelet watches and a mirror pod it
// posts. 64 is far above any such use and the same as settings.prePull's
// images and the credential providers. A bound, so that a source cannot
// have eks-node write thousands of files.
constexpr size_t max_static_pods = 64;

void check_static_pod_path(const json& spec, const json& settings, const Origins& origins) {
    const json* pods = path_in(settings, {"staticPods"});
    if (!pods || !pods->is_object() || pods->empty()) return;
    const std::string first = pods->begin().key();
    if (const json* p = path_in(spec, {"kubelet", "config", "staticPodPath"}); p && !p->is_null())
        throw ConfigError(origin_of(origins, "/spec/kubelet/config/staticPodPath"), "spec.kubelet.config.staticPodPath",
                          fmt::format("cannot be set together with settings.staticPods ({}): eks-node sets it to its "
                                      "directory of static pods",
                                      format::text::child_path("settings.staticPods", first)));
    const json* flags = path_in(spec, {"kubelet", "flags"});
    if (!flags || !flags->is_array()) return;
    for (const json& f : *flags) {
        if (!f.is_string()) continue;
        const std::string& s = f.get_ref<const std::string&>();
        if (s == "--pod-manifest-path" || s.starts_with("--pod-manifest-path="))
            throw ConfigError(origin_of(origins, "/spec/kubelet/flags"), "spec.kubelet.flags",
                              fmt::format("{} cannot be given together with settings.staticPods ({}): eks-node sets "
                                          "staticPodPath to its directory of static pods",
                                          format::text::quote(s),
                                          format::text::child_path("settings.staticPods", first)));
    }
}

}  // namespace

void validate_fragment(const input::Fragment& f, ConfigErrors* all) {
    Validator check(f.source, all);
    check.each([&] { check.value(f.spec, input::schema::spec(), "spec"); });
    check.each([&] { check.value(f.settings, input::schema::settings(), "settings"); });
}

void validate_settings(const json& settings, const Origins& origins) {
    // A hook's keys may come from several sources (an admin turning an image's
    // hook non-essential): only the merged table must have a command.
    auto origin = [&](const std::string& pointer) {
        if (auto it = origins.find(pointer); it != origins.end()) return it->second;
        auto below = origins.lower_bound(pointer + "/");
        if (below != origins.end() && below->first.starts_with(pointer + "/")) return below->second;
        return sources_consulted(origins);
    };
    if (auto h = settings.find("hooks"); h != settings.end())
        input::hooks::read(*h, [&](const std::string& pointer) { return origin_of(origins, pointer); });
    // Counted on the merged table: each source may add a few.
    if (auto p = settings.find("staticPods"); p != settings.end() && p->is_object() && p->size() > max_static_pods)
        throw ConfigError(origin("/settings/staticPods"), "settings.staticPods",
                          fmt::format("{} static pods, more than {}: each is a file kubelet watches and a pod of "
                                      "maxPods taken from the node's workload",
                                      p->size(), max_static_pods));
    // A handler's keys may come from several sources too (an image's handler
    // made the default by user data): the rules between keys and handlers
    // hold for the merged table, an error naming the source of the key (or
    // of any key of the handler).
    if (auto r = settings.find("runtimes"); r != settings.end()) runtimes::read(*r, origin);
    // a client key's certificate, an http:// mirror's insecure: rules between
    // keys any source may set, read as eks-node-containerd and -kubelet read them
    if (auto r = settings.find("registries"); r != settings.end()) registries::read(*r, origin);
    if (auto c = settings.find("credentialProviders"); c != settings.end()) credential_providers::read(*c, origin);
    if (auto t = settings.find("trust"); t != settings.end()) trust::read(*t, origin);
    // eks-node-preflight's bound, refused here as the step refuses it
    if (const json* t = path_in(settings, {"preflight", "timeout"})) {
        std::string problem;
        if (auto d = input::settings::parse_duration(*t, problem); d && *d > input::settings::max_preflight_timeout)
            throw ConfigError(origin_of(origins, "/settings/preflight/timeout"), "settings.preflight.timeout",
                              "at most 5m: the unit allows 330 s");
    }
    auto imds = settings.find("imds");
    if (imds == settings.end()) return;
    // Each key was read with its fragment (validate_fragment()); the merged
    // table adds the rule between keys, whose error names where
    // requestTimeout was set. eks-node-imds calls the same reader.
    input::settings::read_imds(*imds, origin_of(origins, "/settings/imds/requestTimeout"),
                               input::settings::Table::merged);
}

ServiceCidrStrategy service_cidr_strategy(const json& settings) {
    auto it = settings.find("serviceCidrStrategy");
    if (it == settings.end() || !it->is_string()) return ServiceCidrStrategy::describe_cluster;
    const std::string& s = it->get_ref<const std::string&>();
    if (s == "vpc") return ServiceCidrStrategy::vpc;
    if (s == "describe-cluster-or-vpc") return ServiceCidrStrategy::describe_cluster_or_vpc;
    return ServiceCidrStrategy::describe_cluster;
}

std::string_view to_string(ServiceCidrStrategy s) {
    switch (s) {
    case ServiceCidrStrategy::vpc: return "vpc";
    case ServiceCidrStrategy::describe_cluster_or_vpc: return "describe-cluster-or-vpc";
    case ServiceCidrStrategy::describe_cluster: break;
    }
    return "describe-cluster";
}

NodeKind node_kind(const json& settings) {
    auto it = settings.find("node");
    return it != settings.end() && *it == "ecs" ? NodeKind::ecs : NodeKind::eks;
}

NodeKind config_node_kind(const json& cfg) {
    auto it = cfg.is_object() ? cfg.find("settings") : cfg.end();
    return it != cfg.end() && it->is_object() ? node_kind(*it) : NodeKind::eks;
}

void validate_ecs_merged(const json& spec, const json& settings, const Origins& origins) {
    validate_settings(settings, origins);
    check_aws_environment(spec, origins);
    check_environment_sections(spec, origins);
}

void validate_merged(const json& spec, const json& settings, const Origins& origins, const Requirements& required,
                     ConfigErrors* all) {
    // each check stands alone: with `all`, one's error does not hide the next's
    auto each = [all](auto&& check) { keep_error(all, check); };
    each([&] { require_cluster_fields(spec, settings, origins, required); });
    each([&] { validate_settings(settings, origins); });
    each([&] { check_static_pod_path(spec, settings, origins); });
    each([&] { check_kubelet_max_pods(spec, origins); });
    each([&] { check_kubelet_healthz(spec, origins); });
    each([&] { check_swap(spec, settings, origins); });
    each([&] { check_kubelet_config_mode(spec, settings, origins); });
    each([&] { check_aws_environment(spec, origins); });
    each([&] { check_environment_sections(spec, origins); });
}

}  // namespace eksnode::config
