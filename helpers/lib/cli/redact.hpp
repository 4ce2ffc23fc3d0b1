// SPDX-License-Identifier: Apache-2.0
// What `eks-node collect-logs` masks before anything enters the archive.
//
// The rule is an allow list, not a list of suspicious names: every value of
// spec.instance.environment (and of the environment files rendered from it)
// is masked unless its variable is known to be harmless (proxy addresses,
// NO_PROXY, the AWS region and endpoints, locale, Go runtime knobs, the
// kubelet flags eks-node derived). Credentials in a URL are masked whatever
// the variable or key: "scheme://USERINFO@host" keeps only "scheme://" and
// what follows the last '@'. Elsewhere (kubeconfig, containerd, journal,
// command output) keys that name a secret (token, password, auth,
// Authorization, ...) have their values masked, every value of an HTTP
// headers table is, and so are AWS access key IDs. A hook's arguments
// (settings.hooks.NAME.command after the program) are masked whole: a
// secret there has no key to be told by.
//
// Each value masked that way is also remembered, and at the end every text
// of the archive is searched for it and its encoded forms (JSON and systemd
// escaping, percent-encoding, base64 at any byte alignment): a secret from
// config.json that a step's error message quoted in the journal is masked
// there too. Only values of at least `min_remembered` bytes are searched for,
// so that a masked "true" does not blank every "true" in the archive.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace eksnode::cli {

inline constexpr std::string_view redacted = "REDACTED";
inline constexpr size_t min_remembered = 6;

// An environment variable whose value is kept (URL credentials still masked).
bool harmless_environment_name(std::string_view name);

// A key (JSON, YAML, TOML, "--flag=") whose string value is a secret, by its
// words, case-insensitively: token, password, secret, credential, auth, API
// key and the like; an HTTP header's credential (the last word
// "authorization"), or a header (see secret_table). A value that is an
// absolute path under a key naming a file, path, directory or config
// ("tokenFile", "--image-credential-provider-config") is not one.
bool secret_key(std::string_view key, std::string_view value = {});

// A key whose every value, however deep and whatever its own key, is a
// secret: HTTP headers sent with requests (containerd's registry "headers",
// kubelet's "staticPodURLHeader"), where a credential's header may have any
// name ("X-Origin-Verify").
bool secret_table(std::string_view key);

class Redactor {
public:
    // spec.instance.environment-aware JSON (config.json, the kubelet's and
    // containerd's JSON files): pretty-printed as eks-node writes JSON.
    // Throws Error when `text` is not JSON (the caller leaves the file out).
    std::string json_text(std::string_view text);
    // A TOML fragment (node.toml.d): parsed and written back as TOML, keys
    // sorted; comments do not survive (a commented-out secret is one too).
    // Throws Error when `text` is not TOML.
    std::string toml_text(std::string_view text);
    // A TOML file eks-node rendered (containerd's config.toml): as
    // toml_text(), under the comments that head it (which generated it, the
    // drop-ins it imports) read as text().
    std::string rendered_toml(std::string_view text);
    // A systemd EnvironmentFile= (KEY=value, quoted values may span lines).
    std::string environment_file(std::string_view text);
    // Anything else, line by line: "key: value", "key = value", "KEY=value",
    // "--flag=value", Environment= lines and YAML "- name:"/"value:" lists
    // (by the allow list), URLs, AWS access key IDs.
    std::string text(std::string_view text);

    // Masks every remembered secret, in every form it is searched in.
    std::string scrub(std::string text) const;

    // Remembers `secret` (if long enough) for scrub().
    void remember(std::string_view secret);

private:
    std::vector<std::string> needles_;
};

// scheme://USERINFO@host -> scheme://REDACTED@host, USERINFO being everything
// up to the last '@' before white space (so ':', '@', '\'', '"' and '/' in a
// password are masked with it). `remember` gets each USERINFO and password.
std::string redact_url_userinfo(std::string_view text, Redactor* remember = nullptr);

// "--name=value" words whose name is a secret masked (kubelet flags, the
// journal's FLAG: lines), each value remembered by `r`.
std::string redact_flags(std::string s, Redactor& r);

}  // namespace eksnode::cli
