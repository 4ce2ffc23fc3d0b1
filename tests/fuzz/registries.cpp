// SPDX-License-Identifier: Apache-2.0
// settings.registries, settings.credentialProviders and settings.trust (the
// input is a [settings] body): validated as eks-node-config validates a
// fragment and the merged table, then read again as the steps read config.json
// (config/registries.cpp, credential_providers.cpp, trust.cpp), which must
// accept whatever validation accepted; each hosts.toml rendered from it must
// be TOML naming only files in its registry's directory.
#include <string>

#include "config/credential_providers.hpp"
#include "config/merge.hpp"
#include "config/registries.hpp"
#include "config/trust.hpp"
#include "config/validate.hpp"
#include "format/toml_json.hpp"
#include "fuzz.hpp"
#include "input/sources.hpp"
#include "render/containerd.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text = "[settings]\n";
    text += fuzz::text(data, size);
    using namespace eksnode;
    fuzz::refused_only_as<ConfigError>([&] {
        input::Fragment f = input::fragment_from_toml(text, "/etc/eks-node/node.toml.d/90-fuzz.toml");
        config::validate_fragment(f);
        json spec = {{"cluster", {{"name", "fuzz"}}}}, settings = json::object();
        Origins origins;
        config::merge_fragment(spec, settings, f, origins);
        config::validate_merged(spec, settings, origins, config::Requirements{.cluster_coordinates = false});
        json cfg = {{"settings", settings}};
        std::vector<config::registries::Registry> regs;
        try {
            regs = config::registries::of_config(cfg);
            config::credential_providers::of_config(cfg);
            config::trust::of_config(cfg);
        } catch (const ConfigError&) {
            fuzz::broken("a step's reader refuses validated settings");
        }
        for (const config::registries::Registry& r : regs) {
            const std::string dir = config::registries::host_dir(r);
            if (dir.find("/..") != std::string::npos || dir.find('/', 24) != std::string::npos)
                fuzz::broken("a registry's directory is not one directory under certs.d");
            std::vector<render::detail::TlsFiles> mirrors(r.mirrors.size(), {dir + "/a.crt", "", ""});
            for (bool v1 : {true, false}) {
                std::string toml;
                try {
                    toml = render::detail::hosts_toml(r, mirrors, {}, v1);
                } catch (const ConfigError&) {
                    continue;  // _default without mirrors on containerd 1.x
                }
                try {
                    format::parse_toml(toml, "hosts.toml");
                } catch (const ConfigError&) {
                    fuzz::broken("a rendered hosts.toml is not TOML");
                }
            }
        }
    });
    return 0;
}
