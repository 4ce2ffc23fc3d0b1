// SPDX-License-Identifier: Apache-2.0
#include "config/credential_providers.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/runtimes.hpp"
#include "core/error.hpp"
#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "input/settings.hpp"

namespace eksnode::config::credential_providers {

using input::settings::expected;

std::vector<Provider> read(const json& table, const std::function<std::string(const std::string&)>& origin) {
    std::vector<Provider> out;
    for (const input::settings::Entry& e :
         input::settings::entries(table, "credentialProviders", max_providers, "providers", origin,
                                  " (kubelet takes 64, the ECR provider included)")) {
        const std::string& name = e.name;
        const json& body = e.body;
        const std::string& field = e.field;
        const std::string& pointer = e.pointer;
        if (name == builtin_name)
            e.fail("", "is the provider eks-node configures itself for ECR: name yours differently");
        if (std::string p = format::check::credential_provider_name(name); !p.empty()) e.fail("", p);
        if (!body.is_object()) e.fail("", expected("an object", body));
        Provider p;
        p.name = name;
        p.source = origin(pointer);
        for (const auto& [key, value] : body.items()) {
            if (key == "matchImages" || key == "args") {
                if (!value.is_array()) e.fail(key, expected("a list of strings", value));
                std::vector<std::string>& list = key == "args" ? p.args : p.match_images;
                for (const json& v : value) {
                    if (!v.is_string()) e.fail(key, expected("a list of strings", value));
                    list.push_back(v.get<std::string>());
                }
            } else if (key == "defaultCacheDuration") {
                input::settings::duration_at(value, origin(pointer + "/" + key), field + "." + key);
                // ours are Go durations as they are written ("90s", "5m"); seconds given as a number get their unit
                p.default_cache_duration = value.is_string() ? value.get<std::string>() : value.dump() + "s";
            } else if (key == "apiVersion") {
                if (!value.is_string() || std::find(std::begin(api_versions), std::end(api_versions),
                                                    value.get<std::string>()) == std::end(api_versions))
                    e.fail(key, expected("one of credentialprovider.kubelet.k8s.io/v1, v1beta1, v1alpha1", value));
                p.api_version = value.get<std::string>();
            } else if (key == "env") {
                if (!value.is_object()) e.fail(key, expected("an object", value));
                for (const auto& [var, v] : value.items()) {
                    if (std::string problem = format::check::env_name(var); !problem.empty())
                        e.fail(key + "." + var, problem);
                    if (!v.is_string()) e.fail(key + "." + var, expected("a string", v));
                    p.env.emplace_back(var, v.get<std::string>());
                }
            } else {
                input::settings::unknown_field(origin(pointer + "/" + key), field + "." + key,
                                               "matchImages, defaultCacheDuration, apiVersion, args, env");
            }
        }
        if (p.match_images.empty())
            e.fail("matchImages",
                   "is required: the images (registry host patterns) the provider gives credentials for");
        // as kubelet and eks-node-prepull's reader (cri::parse_provider_config) check it:
        // one they refuse would drop the provider (kubelet: the whole file)
        for (const std::string& m : p.match_images)
            if (std::string problem = format::check::match_image(m); !problem.empty()) e.fail("matchImages", problem);
        out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end(), [](const Provider& a, const Provider& b) { return a.name < b.name; });
    return out;
}

std::vector<Provider> of_config(const json& cfg) {
    const json* table = path_in(cfg, {"settings", "credentialProviders"});
    if (!table) return {};
    return read(*table, format::text::origin_in_config(cfg));
}

std::string binary_problem(const Provider& p, const Paths& paths) {
    return runtimes::executable_problem(fmt::format("{}/{}", path::credential_provider_bin_dir, p.name), paths);
}

}  // namespace eksnode::config::credential_providers
