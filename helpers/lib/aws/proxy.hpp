// SPDX-License-Identifier: Apache-2.0
// Which proxy, if any, one of eks-node-config's own AWS requests goes through.
// Decided here, not by libcurl's reading of the environment: libcurl ignores
// HTTP_PROXY in upper case (only http_proxy counts for http), reads only the
// process environment, and its NO_PROXY rules differ by version. The request
// then gets CURLOPT_PROXY ("" for none) and an empty CURLOPT_NOPROXY, so
// libcurl consults no variable of its own (core/curl.cpp).
//
// The rules (eks-node-config(8), PROXY):
//   - by the scheme of the request's URL, as the AWS SDKs choose: https uses
//     HTTPS_PROXY, http uses HTTP_PROXY; either spelling, upper case first
//     (as Go's net/http, which nodeadm, kubelet and containerd use);
//   - ALL_PROXY when the scheme's own variable is unset, as curl documents it
//     (the Go and Python SDKs ignore it; libcurl, our transport, read it until now);
//   - NO_PROXY (or no_proxy) lists hosts reached directly, with curl's
//     semantics: entries separated by commas (white space around them
//     ignored); "*" matches every host; a name matches itself and every name
//     below it, with or without a leading dot ("example.com" and
//     ".example.com" both match "example.com" and "a.example.com"); an IP
//     address or a CIDR (IPv4 or IPv6, "10.0.0.0/8", "fd00::/8") matches hosts
//     written as IP addresses in it. Names are never resolved to match CIDRs.
//
// IMDS never comes here (imds/ speaks its own HTTP and no proxy at all).
// Proxy URLs may carry a user and password: nothing here logs or returns a
// value in a message, only the variable's name and where it was set.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "config/environment.hpp"

namespace eksnode::aws {

// One proxy variable as found: its value and, for messages, its name as
// spelled where it was set and that place.
struct ProxyVariable {
    std::string value;   // "" when unset
    std::string name;    // "HTTPS_PROXY", "https_proxy"
    std::string source;  // "environment", "spec.instance.environment.default"
    bool set() const { return !value.empty(); }
};

// One ProxyVariable per row of config::environment::proxy_names, in its order: every
// client that composes them (eks-node-config's AWS client, pre-flight) fills them by walking
// that table, so a proxy variable is a row there and, if it changes the choice, a rule in
// choose_proxy, nothing else.
struct ProxySettings {
    std::array<ProxyVariable, config::environment::proxy_names.size()> vars;

    static constexpr std::size_t index_of(const config::environment::ProxyName& name) {
        for (std::size_t i = 0; i < config::environment::proxy_names.size(); ++i)
            if (config::environment::proxy_names[i].upper == name.upper) return i;
        return config::environment::proxy_names.size();  // not a row: at() throws
    }
    ProxyVariable& of(const config::environment::ProxyName& name) { return vars.at(index_of(name)); }
    const ProxyVariable& of(const config::environment::ProxyName& name) const { return vars.at(index_of(name)); }

    ProxyVariable& http() { return of(config::environment::http_proxy); }
    ProxyVariable& https() { return of(config::environment::https_proxy); }
    ProxyVariable& all() { return of(config::environment::all_proxy); }
    ProxyVariable& no_proxy() { return of(config::environment::no_proxy); }
    const ProxyVariable& http() const { return of(config::environment::http_proxy); }
    const ProxyVariable& https() const { return of(config::environment::https_proxy); }
    const ProxyVariable& all() const { return of(config::environment::all_proxy); }
    const ProxyVariable& no_proxy() const { return of(config::environment::no_proxy); }
    bool any_proxy() const { return http().set() || https().set() || all().set(); }
};

struct ProxyChoice {
    std::string url;  // the proxy to use; "" for a direct connection
    // How it was chosen, for logs and error messages (never a value):
    // "the proxy of HTTPS_PROXY (environment)", "directly: NO_PROXY
    // (spec.instance.environment.default) lists 10.0.0.5".
    std::string why;
};

// The choice for a request to `url` ("https://ec2.us-west-2.amazonaws.com/").
ProxyChoice choose_proxy(const ProxySettings& p, std::string_view url);

// The variable whose proxy a request to `url` uses when not in NO_PROXY
// (the scheme's own, else ALL_PROXY); an unset one when there is none.
const ProxyVariable& proxy_variable_for(const ProxySettings& p, std::string_view url);

// Whether the NO_PROXY list `list` names `host` (a name, an IPv4 address or
// an IPv6 address with or without brackets), by the rules above; the entry
// that matched in `matched` when given.
bool no_proxy_matches(std::string_view list, std::string_view host, std::string* matched = nullptr);

}  // namespace eksnode::aws
