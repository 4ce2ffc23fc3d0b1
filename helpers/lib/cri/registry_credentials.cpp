// SPDX-License-Identifier: Apache-2.0
#include "cri/registry_credentials.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/process.hpp"
#include "format/checks.hpp"

namespace eksnode::cri {

namespace {

constexpr size_t max_providers = 64;
constexpr size_t max_output = 1 << 20;
// kubelet gives a plugin 1 minute (pkg/credentialprovider/plugin); a pull's
// own budget may cut it shorter
constexpr std::chrono::milliseconds plugin_timeout{60'000};

}  // namespace

namespace detail {

// Go's path.Match on one host label (no separator inside a label). A
// malformed pattern matches nothing, as kubelet treats ErrBadPattern.
// A recursive try of every split at every '*' took exponential time (13
// stars against a 40-byte label: minutes). Only the last '*' seen needs to
// be retried: it can absorb whatever an earlier one would have, so on a
// mismatch the text resumes one byte further under it. At most
// (pattern + 1) * (label + 1) elements are compared; `steps` counts them.
bool glob(std::string_view p, std::string_view s, size_t& steps) {
    using format::check::glob::element;
    if (!format::check::glob::well_formed(p)) return false;
    size_t pi = 0, si = 0;
    size_t star_p = std::string_view::npos, star_s = 0;  // after the last '*', and where its run ends
    while (si < s.size()) {
        ++steps;
        if (pi < p.size() && p[pi] == '*') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        bool hit = false;
        if (pi < p.size()) {
            size_t next = element(p, pi, s[si], hit);
            if (hit) {
                pi = next;
                ++si;
                continue;
            }
        }
        if (star_p == std::string_view::npos) return false;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

}  // namespace detail

namespace {

bool glob(std::string_view p, std::string_view s) {
    size_t steps = 0;
    return detail::glob(p, s, steps);
}

struct Url {
    std::string_view host, port, path;
};

// kubelet's ParseSchemelessURL and splitHostPort, for what an image or a
// pattern can be.
Url parse_url(std::string_view s) {
    if (size_t scheme = s.find("://"); scheme != s.npos) s.remove_prefix(scheme + 3);
    Url u;
    size_t slash = s.find('/');
    u.host = s.substr(0, slash);
    u.path = slash == s.npos ? std::string_view() : s.substr(slash);
    if (size_t colon = u.host.rfind(':'); colon != u.host.npos) {
        std::string_view port = u.host.substr(colon + 1);
        if (std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            u.port = port;
            u.host = u.host.substr(0, colon);
        }
    }
    if (u.host.size() >= 2 && u.host.front() == '[' && u.host.back() == ']')
        u.host = u.host.substr(1, u.host.size() - 2);
    return u;
}

std::vector<std::string_view> labels(std::string_view host) {
    std::vector<std::string_view> out;
    for (size_t start = 0;;) {
        size_t dot = host.find('.', start);
        out.push_back(host.substr(start, dot == host.npos ? host.npos : dot - start));
        if (dot == host.npos) return out;
        start = dot + 1;
    }
}

std::vector<std::string> strings_at(const json& doc, const char* key, const std::string& source,
                                    const std::string& where) {
    std::vector<std::string> out;
    auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return out;
    if (!it->is_array()) throw ConfigError(source, where + "." + key, "expected a list of strings");
    for (const json& v : *it) {
        if (!v.is_string()) throw ConfigError(source, where + "." + key, "expected a list of strings");
        out.push_back(v.get<std::string>());
    }
    return out;
}

std::string string_at(const json& doc, const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The first line of a plugin's stderr, for the journal: kubelet logs it
// too. Bounded, one line, no control characters.
std::string first_line(std::string_view err) {
    err = err.substr(0, err.find('\n'));
    std::string out;
    for (char c : err.substr(0, 200)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    return out.empty() ? std::string("no message") : out;
}

}  // namespace

std::vector<Provider> parse_provider_config(std::string_view text, const std::string& source) {
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw ConfigError(source, "", "not a JSON object");
    if (string_at(doc, "kind") != "CredentialProviderConfig")
        throw ConfigError(source, "kind", "not a CredentialProviderConfig");
    std::vector<Provider> out;
    auto providers = doc.find("providers");
    if (providers == doc.end() || providers->is_null()) return out;
    if (!providers->is_array()) throw ConfigError(source, "providers", "expected a list");
    if (providers->size() > max_providers)
        throw ConfigError(source, "providers", fmt::format("more than {} providers", max_providers));
    for (size_t i = 0; i < providers->size(); ++i) {
        const json& p = (*providers)[i];
        const std::string where = fmt::format("providers[{}]", i);
        if (!p.is_object()) throw ConfigError(source, where, "expected an object");
        Provider pr;
        pr.name = string_at(p, "name");
        // kubelet's validation: the plugin is a file of the bin directory
        if (pr.name.empty() || pr.name == "." || pr.name == ".." || pr.name.find('/') != std::string::npos)
            throw ConfigError(source, where + ".name", "not a file name");
        pr.match_images = strings_at(p, "matchImages", source, where);
        if (pr.match_images.empty()) throw ConfigError(source, where + ".matchImages", "empty");
        // kubelet's URL check and ours, the one eks-node-config's (format::check::match_image)
        for (size_t j = 0; j < pr.match_images.size(); ++j)
            if (std::string problem = format::check::match_image(pr.match_images[j]); !problem.empty())
                throw ConfigError(source, fmt::format("{}.matchImages[{}]", where, j), problem);
        pr.api_version = string_at(p, "apiVersion");
        if (!pr.api_version.starts_with("credentialprovider.kubelet.k8s.io/"))
            throw ConfigError(source, where + ".apiVersion", "not a credentialprovider.kubelet.k8s.io version");
        pr.args = strings_at(p, "args", source, where);
        if (auto env = p.find("env"); env != p.end() && !env->is_null()) {
            if (!env->is_array()) throw ConfigError(source, where + ".env", "expected a list");
            for (const json& e : *env) {
                if (!e.is_object() || string_at(e, "name").empty() ||
                    string_at(e, "name").find('=') != std::string::npos)
                    throw ConfigError(source, where + ".env", "expected {name, value} entries");
                pr.env.emplace_back(string_at(e, "name"), string_at(e, "value"));
            }
        }
        out.push_back(std::move(pr));
    }
    return out;
}

std::string normalized_image(std::string_view image) {
    size_t slash = image.find('/');
    std::string_view first = image.substr(0, slash);
    // the distribution reference rule: a first component with a '.' or a
    // ':' or "localhost" is a registry host; anything else is Docker Hub's
    if (slash != image.npos && (first.find_first_of(".:") != first.npos || first == "localhost"))
        return std::string(image);
    return fmt::format("docker.io/{}{}", slash == image.npos ? "library/" : "", image);
}

bool image_matches(std::string_view pattern, std::string_view image) {
    const std::string target = normalized_image(image);
    const Url g = parse_url(pattern), t = parse_url(target);
    if (g.port != t.port) return false;
    const std::vector<std::string_view> gl = labels(g.host), tl = labels(t.host);
    if (gl.size() != tl.size()) return false;
    for (size_t i = 0; i < gl.size(); ++i)
        if (!glob(gl[i], tl[i])) return false;
    return t.path.starts_with(g.path);
}

Auth parse_provider_response(std::string_view out, std::string_view api_version, std::string_view image) {
    json doc = json::parse(out, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw Error("the plugin's answer is not a JSON object");
    if (string_at(doc, "kind") != "CredentialProviderResponse")
        throw Error("the plugin's answer is not a CredentialProviderResponse");
    if (string_at(doc, "apiVersion") != api_version)
        throw Error(fmt::format("the plugin answered another apiVersion than {}", api_version));
    auto auth = doc.find("auth");
    if (auth == doc.end() || auth->is_null()) return {};
    if (!auth->is_object()) throw Error("the plugin's auth is not an object");
    const std::string* best = nullptr;
    Auth chosen;
    for (const auto& [key, entry] : auth->items()) {
        if (!entry.is_object()) throw Error("an auth entry of the plugin's answer is not an object");
        for (const char* f : {"username", "password"})
            if (entry.contains(f) && !entry[f].is_string())
                throw Error(fmt::format("an auth entry's {} is not a string", f));
        if (!image_matches(key, image)) continue;
        // the most specific key wins; equal lengths: the later key in sort
        // order, as kubelet's keyring sorts its index in reverse
        if (best && (key.size() < best->size() || (key.size() == best->size() && key < *best))) continue;
        best = &key;
        chosen = {string_at(entry, "username"), string_at(entry, "password")};
    }
    return chosen;
}

Lookup lookup(const std::vector<Provider>& providers, const std::string& bin_dir, std::string_view image,
              std::chrono::milliseconds timeout, const EnvVars& service_env) {
    Lookup result;
    const std::string normalized = normalized_image(image);
    for (const Provider& p : providers) {
        if (std::none_of(p.match_images.begin(), p.match_images.end(),
                         [&](const std::string& m) { return image_matches(m, image); }))
            continue;
        std::vector<std::string> argv{bin_dir + "/" + p.name};
        argv.insert(argv.end(), p.args.begin(), p.args.end());
        // kubelet's: its own environment, then the provider's env entries
        EnvVars set = service_env;
        set.insert(set.end(), p.env.begin(), p.env.end());
        ProcessOptions o;
        o.input =
            json{{"apiVersion", p.api_version}, {"kind", "CredentialProviderRequest"}, {"image", normalized}}.dump();
        o.environment = environment_with(set);
        o.max_output = max_output;
        o.timeout = std::min(timeout, plugin_timeout);
        ProcessResult r = run_process(argv, o);
        std::string problem;
        if (!r.started) problem = fmt::format("cannot run {}: {}", argv[0], std::strerror(r.spawn_error));
        else if (r.timed_out) problem = fmt::format("{} gave no answer within {} ms", p.name, o.timeout->count());
        else if (!r.exited) problem = fmt::format("{} was killed by signal {}", p.name, r.signal);
        else if (r.exit_status != 0)
            problem = fmt::format("{} exited with status {}: {}", p.name, r.exit_status, first_line(r.err));
        else if (r.truncated) problem = fmt::format("{} wrote more than {} bytes", p.name, max_output);
        if (problem.empty()) {
            try {
                result.auth = parse_provider_response(r.out, p.api_version, normalized);
                result.provider = p.name;
                return result;
            } catch (const Error& e) {
                problem = fmt::format("{}: {}", p.name, e.what());
            }
        }
        result.problems.push_back(std::move(problem));
    }
    return result;
}

}  // namespace eksnode::cri
