// SPDX-License-Identifier: Apache-2.0
// settings.registries: containerd's per-registry configuration (eks-node.toml(5),
// REGISTRIES): mirrors with their capabilities, the CA and client certificate
// each endpoint is reached with, `insecure` only when spelled out, and static
// credentials for the pulls containerd makes outside kubelet. Read here once,
// for eks-node-config's validation of the merged settings and for the
// containerd renderer (hosts.toml under /etc/containerd/certs.d/HOST/).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonutil.hpp"

namespace eksnode::config::registries {

// A list an operator writes by hand: more is a mistake, not a node.
inline constexpr size_t max_registries = 64;
inline constexpr size_t max_mirrors = 16;

// The TLS side of one endpoint (the registry itself, or a mirror).
struct Tls {
    std::string ca_pem;           // normalized PEM (certificate_authority_pem), "" when none
    std::string client_cert_pem;  // normalized PEM, "" when none
    std::string client_key_pem;   // as given (a private key), "" when none
    bool insecure = false;        // skip_verify, and plain http:// allowed
};

struct Mirror {
    std::string endpoint;                                      // http(s)://host[:port][/path]
    std::vector<std::string> capabilities{"pull", "resolve"};  // containerd's words
    bool override_path = false;
    Tls tls;
};

struct Registry {
    std::string host;  // the registry as image references name it ("docker.io", "10.0.0.5:5000"), or "_default"
    std::vector<Mirror> mirrors;
    Tls tls;
    // static credentials for pulls containerd makes outside kubelet
    std::string username;
    std::string password;
    std::string source;  // where the registry's table was set, for messages
};

// Why `key` is not a registry host as containerd looks it up under
// config_path (a DNS name or IP literal, an optional :port, or "_default");
// empty if it is.
std::string host_problem(std::string_view key);

// The registries of the merged settings.registries table (null: none), in
// host order. Throws ConfigError(origin(pointer), "settings.registries.HOST[.key]",
// problem): a certificate that is not one, a key without its certificate or
// the reverse, an http:// endpoint without insecure = true, a capability
// containerd does not know, a password without a username, too many.
std::vector<Registry> read(const json& table, const std::function<std::string(const std::string&)>& origin);

// The registries of config.json, errors naming the sources in its origins.
std::vector<Registry> of_config(const json& cfg);

// The directory containerd reads the registry's hosts.toml from.
std::string host_dir(const Registry& r);

}  // namespace eksnode::config::registries
