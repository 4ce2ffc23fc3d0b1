// SPDX-License-Identifier: Apache-2.0
#include "config/registries.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/certificate.hpp"
#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "input/settings.hpp"

namespace eksnode::config::registries {

using input::settings::expected;

namespace {

using input::settings::Origin;

// A registry's table or one of its mirrors (settings.registries.HOST[.mirrors[N]]), with the
// readers of its typed keys.
struct At : input::settings::Place {
    std::string string(const json& body, const char* key) const {
        const json* v = path_in(body, {key});
        if (!v) return {};
        if (!v->is_string()) fail(key, expected("a string", *v));
        return v->get<std::string>();
    }
    bool boolean(const json& body, const char* key) const {
        const json* v = path_in(body, {key});
        if (!v) return false;
        if (!v->is_boolean()) fail(key, expected("a boolean", *v));
        return v->get<bool>();
    }
};

// A private key as PEM armour around base64: it is checked by containerd's
// TLS stack when used; here only what cannot be a key is refused (a pasted
// certificate, a cut copy).
std::string private_key_problem(std::string_view pem) {
    std::string_view t = format::text::trim(pem);
    const size_t begin = t.find("-----BEGIN ");
    const size_t end = t.find("-----END ");
    if (begin != 0 || end == std::string_view::npos ||
        t.substr(0, t.find('\n')).find("PRIVATE KEY-----") == std::string_view::npos)
        return "is not a PEM private key (-----BEGIN ... PRIVATE KEY-----)";
    if (!t.ends_with("-----") || t.substr(end).find("PRIVATE KEY-----") == std::string_view::npos)
        return "is a PEM private key cut short (no -----END ... PRIVATE KEY----- line)";
    return {};
}

Tls read_tls(const json& body, const At& at) {
    Tls t;
    const std::string ca = at.string(body, "ca");
    if (!ca.empty()) t.ca_pem = format::certificate_authority_pem(ca, at.origin(at.pointer + "/ca"), at.field + ".ca");
    const std::string cert = at.string(body, "clientCertificate");
    if (!cert.empty())
        t.client_cert_pem = format::certificate_authority_pem(cert, at.origin(at.pointer + "/clientCertificate"),
                                                              at.field + ".clientCertificate");
    t.client_key_pem = at.string(body, "clientKey");
    if (!t.client_key_pem.empty()) {
        if (std::string p = private_key_problem(t.client_key_pem); !p.empty()) at.fail("clientKey", p);
        if (t.client_key_pem.back() != '\n') t.client_key_pem += '\n';
    }
    if (t.client_cert_pem.empty() != t.client_key_pem.empty())
        at.fail(t.client_key_pem.empty() ? "clientCertificate" : "clientKey",
                "clientCertificate and clientKey go together: set both, or neither");
    t.insecure = at.boolean(body, "insecure");
    return t;
}

Mirror read_mirror(const json& body, const At& at) {
    if (!body.is_object()) at.fail("", expected("an object", body));
    for (const auto& [key, value] : body.items())
        if (key != "endpoint" && key != "capabilities" && key != "overridePath" && key != "ca" &&
            key != "clientCertificate" && key != "clientKey" && key != "insecure")
            input::settings::unknown_field(at.origin(at.pointer + "/" + key), at.field + "." + key,
                                           "endpoint, capabilities, overridePath, ca, clientCertificate, "
                                           "clientKey, insecure");
    Mirror m;
    m.endpoint = at.string(body, "endpoint");
    if (m.endpoint.empty()) at.fail("endpoint", "is required: the mirror's URL (https://HOST[:PORT][/PATH])");
    if (std::string p = format::check::http_url(m.endpoint); !p.empty()) at.fail("endpoint", p);
    if (const json* caps = path_in(body, {"capabilities"})) {
        if (!caps->is_array() || caps->empty()) at.fail("capabilities", expected("a non-empty list", *caps));
        m.capabilities.clear();
        for (const json& c : *caps) {
            // containerd 1.7 and 2.x know these three (tests/data/containerd-hosts-toml.tsv); a
            // fourth would fail the whole hosts.toml at the first pull, and containerd would
            // fall back to the registry itself
            if (c != "pull" && c != "resolve" && c != "push")
                at.fail("capabilities", fmt::format("{} is not one of pull, resolve, push", format::text::describe(c)));
            if (std::find(m.capabilities.begin(), m.capabilities.end(), c.get<std::string>()) == m.capabilities.end())
                m.capabilities.push_back(c.get<std::string>());
        }
    }
    m.override_path = at.boolean(body, "overridePath");
    m.tls = read_tls(body, at);
    return m;
}

// Plain HTTP is spelled out or refused: an http:// URL pasted by mistake
// would send every pull, and its credentials, in clear.
void require_insecure_for_http(const std::string& endpoint, const Tls& tls, const At& at, const char* key) {
    if (format::text::lower(endpoint.substr(0, 7)) == "http://" && !tls.insecure)
        at.fail(key, fmt::format("{} is plain HTTP: set insecure = true beside it to allow that",
                                 format::text::quote(endpoint)));
}

}  // namespace

std::string host_problem(std::string_view key) { return format::check::registry_host(key); }

std::vector<Registry> read(const json& table, const Origin& origin) {
    std::vector<Registry> out;
    for (const input::settings::Entry& e :
         input::settings::entries(table, "registries", max_registries, "registries", origin)) {
        const std::string& host = e.name;
        const json& body = e.body;
        const At at{{e.field, e.pointer, origin}};
        if (std::string p = host_problem(host); !p.empty()) at.fail("", p);
        if (!body.is_object()) at.fail("", expected("an object", body));
        Registry r;
        r.host = host;
        r.source = origin(at.pointer);
        r.tls = read_tls(body, at);
        r.username = at.string(body, "username");
        r.password = at.string(body, "password");
        if (r.username.empty() != r.password.empty())
            at.fail(r.username.empty() ? "password" : "username", "username and password go together: set both");
        if (!r.username.empty() && host == "_default")
            at.fail("username", "credentials name one registry: _default stands for every registry");
        if (const json* ms = path_in(body, {"mirrors"})) {
            if (!ms->is_array()) at.fail("mirrors", expected("a list", *ms));
            if (ms->size() > max_mirrors)
                at.fail("mirrors", fmt::format("{} mirrors, more than {}", ms->size(), max_mirrors));
            for (size_t i = 0; i < ms->size(); ++i) {
                const At mat{{format::text::element_path(at.field + ".mirrors", i),
                              fmt::format("{}/mirrors/{}", at.pointer, i), origin}};
                Mirror m = read_mirror((*ms)[i], mat);
                require_insecure_for_http(m.endpoint, m.tls, mat, "endpoint");
                // hosts.toml has one [host."ENDPOINT"] table per mirror: a second
                // would be a duplicate table, a file containerd cannot read
                for (size_t j = 0; j < r.mirrors.size(); ++j)
                    if (r.mirrors[j].endpoint == m.endpoint)
                        mat.fail("endpoint", fmt::format("{} is mirrors[{}]'s endpoint too: name each mirror once",
                                                         format::text::quote(m.endpoint), j));
                r.mirrors.push_back(std::move(m));
            }
        }
        for (const auto& [key, value] : body.items())
            if (key != "ca" && key != "clientCertificate" && key != "clientKey" && key != "insecure" &&
                key != "username" && key != "password" && key != "mirrors")
                input::settings::unknown_field(origin(at.pointer + "/" + key), at.field + "." + key,
                                               "mirrors, ca, clientCertificate, clientKey, insecure, username, "
                                               "password");
        out.push_back(std::move(r));
    }
    // in host order, whatever order the sources merged them in
    std::sort(out.begin(), out.end(), [](const Registry& a, const Registry& b) { return a.host < b.host; });
    return out;
}

std::vector<Registry> of_config(const json& cfg) {
    const json* table = path_in(cfg, {"settings", "registries"});
    if (!table) return {};
    return read(*table, format::text::origin_in_config(cfg));
}

std::string host_dir(const Registry& r) { return fmt::format("/etc/containerd/certs.d/{}", r.host); }

}  // namespace eksnode::config::registries
