// SPDX-License-Identifier: Apache-2.0
#include "cli/redact.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "config/environment.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/toml.hpp"
#include "format/toml_json.hpp"
#include "input/aws_env.hpp"

namespace eksnode::cli {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// "DD_API_KEY" -> dd api key; "clientKeyData" -> client key data; "x-amz-token" -> x amz token
std::vector<std::string> key_words(std::string_view key) {
    std::vector<std::string> words;
    std::string cur;
    for (size_t i = 0; i < key.size(); ++i) {
        char c = key[i];
        bool boundary = c == '_' || c == '-' || c == '.' || c == ' ';
        if (!boundary && std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
            std::islower(static_cast<unsigned char>(key[i - 1])) && !cur.empty()) {
            words.push_back(cur);
            cur.clear();
        }
        if (boundary) {
            if (!cur.empty()) words.push_back(cur);
            cur.clear();
        } else {
            cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    if (!cur.empty()) words.push_back(cur);
    return words;
}

constexpr std::string_view hex_upper = "0123456789ABCDEF";
constexpr std::string_view hex_lower = "0123456789abcdef";

bool unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

std::string percent_encode(std::string_view s, std::string_view hex, bool only_delimiters) {
    constexpr std::string_view delimiters = "%:/?#[]@ \"'";
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        bool encode = only_delimiters ? delimiters.find(ch) != std::string_view::npos : !unreserved(c);
        if (encode) out += {'%', hex[c >> 4], hex[c & 15]};
        else out += ch;
    }
    return out;
}

std::string base64(std::string_view s, bool url) {
    const std::string_view alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
        uint32_t v = (static_cast<unsigned char>(s[i]) << 16) | (static_cast<unsigned char>(s[i + 1]) << 8) |
                     static_cast<unsigned char>(s[i + 2]);
        out += {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
    }
    if (i < s.size()) {  // 1 or 2 bytes left: their full characters, no padding
        uint32_t v = static_cast<unsigned char>(s[i]) << 16;
        if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        if (i + 1 < s.size()) out += alphabet[(v >> 6) & 63];
    }
    return out;
}

std::string escaped(std::string_view s, std::string_view specials) {
    std::string out;
    for (char c : s) {
        if (specials.find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

std::string json_escaped(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
            else out += c;
        }
    }
    return out;
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size())
        out.append(s.substr(pos, hit - pos)).append(to);
    out.append(s.substr(pos));
    return out;
}

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }

// AWS access key IDs: AKIA/ASIA/AROA/AIDA and 16 of [A-Z0-9].
std::string redact_aws_key_ids(std::string line, Redactor& r) {
    for (std::string_view prefix : {"AKIA", "ASIA", "AROA", "AIDA"}) {
        for (size_t pos = 0; (pos = line.find(prefix, pos)) != std::string::npos;) {
            size_t end = pos + 4;
            while (end < line.size() && end - pos < 20 &&
                   (std::isupper(static_cast<unsigned char>(line[end])) ||
                    std::isdigit(static_cast<unsigned char>(line[end]))))
                ++end;
            if (end - pos == 20) {
                r.remember(std::string_view(line).substr(pos, 20));
                line.replace(pos, 20, redacted);
                pos += redacted.size();
            } else {
                pos += 4;
            }
        }
    }
    return line;
}

}  // namespace

std::string redact_flags(std::string s, Redactor& r) {
    for (size_t pos = 0; (pos = s.find("--", pos)) != std::string::npos;) {
        size_t name_end = pos + 2;
        while (name_end < s.size() && is_name_char(s[name_end])) ++name_end;
        if (name_end == pos + 2 || name_end >= s.size() || s[name_end] != '=') {
            pos = name_end;
            continue;
        }
        size_t v = name_end + 1, end = v;
        while (end < s.size() && !is_space(s[end])) ++end;
        std::string_view name = std::string_view(s).substr(pos + 2, name_end - pos - 2);
        std::string_view value = std::string_view(s).substr(v, end - v);
        if (!value.empty() && value != redacted && secret_key(name, value)) {
            r.remember(value);
            s.replace(v, end - v, redacted);
            end = v + redacted.size();
        }
        pos = end;
    }
    return s;
}

namespace {

// "Authorization", "Proxy-Authorization", "x_authorization": a header whose
// value is a scheme and a credential.
bool names_authorization(std::string_view key) {
    std::vector<std::string> words = key_words(key);
    return !words.empty() && words.back() == "authorization";
}

// Past the bracket or brace that closes the first one at or after `from`,
// those nested in it counted (quotes are not: a Go dump does not quote); the
// line's end if it is not closed there.
size_t closing_bracket(std::string_view line, size_t from) {
    int depth = 0;
    for (size_t i = from; i < line.size(); ++i) {
        if (line[i] == '[' || line[i] == '{') ++depth;
        else if ((line[i] == ']' || line[i] == '}') && --depth == 0) return i + 1;
    }
    return line.size();
}

// Every "key: value", "key = value", "key=value", "\"key\": value" on the
// line whose key names a secret: the value (quoted or up to white space, a
// comma, a semicolon or a closing brace) becomes "REDACTED".
std::string redact_key_values(std::string line, Redactor& r) {
    for (size_t sep = 0; (sep = line.find_first_of(":=", sep)) != std::string::npos; ++sep) {
        // the key: name characters just before, past closing quotes and spaces
        size_t k = sep;
        while (k > 0 && (line[k - 1] == ' ' || line[k - 1] == '\t')) --k;
        while (k > 0 && (line[k - 1] == '"' || line[k - 1] == '\'')) --k;
        size_t key_end = k;
        while (k > 0 && is_name_char(line[k - 1])) --k;
        if (k == key_end) continue;
        std::string_view key = std::string_view(line).substr(k, key_end - k);
        // the value
        size_t v = sep + 1;
        while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
        if (v >= line.size()) continue;  // "token:" with the value on later lines: a YAML block
        size_t end;
        std::string value;
        char q = line[v];
        if (q == '"' || q == '\'') {
            size_t close = v + 1;
            while (close < line.size() && line[close] != q) close += (line[close] == '\\' && q == '"') ? 2 : 1;
            if (close >= line.size()) {
                value = line.substr(v + 1);
                end = line.size();
            } else {
                value = line.substr(v + 1, close - v - 1);
                end = close + 1;
            }
        } else if (q == '[' || q == '{' || line.compare(v, 4, "map[") == 0) {
            // a list ("Authorization = [\"Bearer x\"]"), or a map or struct as Go
            // prints one (containerd 1.x logs its configuration so: "Headers:map[
            // Authorization:[Bearer x] X-Origin-Verify:[y]]"): all of it, to the
            // bracket that closes the first, nested ones counted
            end = closing_bracket(line, v);
            value = line.substr(v, end - v);
        } else if (names_authorization(key)) {
            // an HTTP header's line ("Authorization: Bearer TOKEN", as curl -v prints
            // it): the scheme and the credential, to the end of the line
            end = line.find_last_not_of(" \t\r") + 1;
            value = line.substr(v, end - v);
        } else {
            end = v;
            while (end < line.size() && !is_space(line[end]) && line[end] != ',' && line[end] != ';' &&
                   line[end] != '}')
                ++end;
            value = line.substr(v, end - v);
        }
        if (value.empty() || value == redacted || value.starts_with("//") || !secret_key(key, value)) continue;
        r.remember(value);
        line.replace(v, end - v, fmt::format("\"{}\"", redacted));
        sep = v + redacted.size() + 1;
    }
    return line;
}

// The words of an Environment= line: "A=b" "C=d e" F=g
std::string redact_environment_line(std::string_view line, size_t start, Redactor& r) {
    std::string out(line.substr(0, start));
    size_t i = start;
    while (i < line.size()) {
        if (is_space(line[i])) {
            out += line[i++];
            continue;
        }
        size_t end = i;
        char q = line[i] == '"' || line[i] == '\'' ? line[i] : 0;
        if (q) {
            end = i + 1;
            while (end < line.size() && line[end] != q) end += line[end] == '\\' ? 2 : 1;
            end = std::min(end + 1, line.size());
        } else {
            while (end < line.size() && !is_space(line[end])) ++end;
        }
        std::string_view word = line.substr(i, end - i);
        std::string_view inner = q ? word.substr(1, word.size() >= 2 ? word.size() - 2 : 0) : word;
        size_t eq = inner.find('=');
        if (eq == std::string_view::npos) {
            out += word;
        } else {
            std::string_view name = inner.substr(0, eq), value = inner.substr(eq + 1);
            std::string kept;
            if (harmless_environment_name(name)) {
                kept = redact_url_userinfo(value, &r);
            } else {
                r.remember(value);
                kept = std::string(redacted);
            }
            out += q ? fmt::format("{}{}={}{}", q, name, kept, q) : fmt::format("{}={}", name, kept);
        }
        i = end;
    }
    return out;
}

}  // namespace

bool harmless_environment_name(std::string_view name) {
    // The values an operator needs to read a node's behaviour and that carry
    // no credential of their own (URL userinfo is masked separately); the
    // last two are eks-node's own, in /etc/eks/kubelet/environment. The proxy
    // variables are those eks-node's clients read, from their one table
    // (config/environment.hpp): a proxy URL shows its host, its userinfo masked.
    // One no client of eks-node reads (FTP_PROXY) is masked whole, as any value.
    // The AWS SDK variables eks-node's own client reads (numbers and switches)
    // come from that client's table (input/aws_env.hpp); the aws_ names listed
    // here are the SDKs' region, endpoint and CA settings.
    static constexpr std::string_view harmless[] = {"aws_region",
                                                    "aws_default_region",
                                                    "aws_sts_regional_endpoints",
                                                    "aws_use_fips_endpoint",
                                                    "aws_use_dualstack_endpoint",
                                                    "aws_endpoint_url",
                                                    "aws_ca_bundle",
                                                    "aws_ec2_metadata_service_endpoint",
                                                    "aws_ec2_metadata_service_endpoint_mode",
                                                    "aws_ec2_metadata_v1_disabled",
                                                    "tz",
                                                    "lang",
                                                    "language",
                                                    "lc_all",
                                                    "path",
                                                    "godebug",
                                                    "gogc",
                                                    "gomaxprocs",
                                                    "gomemlimit",
                                                    "gotraceback",
                                                    "containerd_log_level",
                                                    "kubelet_log_level",
                                                    "eks_node_log_level",
                                                    "eks_node_landlock",
                                                    "nodeadm_kubelet_args",
                                                    "kubelet_config_dropin_dir_alpha"};
    std::string n = lower(name);
    for (const config::environment::ProxyName& p : config::environment::proxy_names)
        if (n == p.lower) return true;
    for (std::string_view sdk : input::aws_env::names)
        if (n == lower(sdk)) return true;
    // AWS_ENDPOINT_URL_<SERVICE>: per-service endpoints, the same kind of value
    if (n.starts_with("aws_endpoint_url_")) return true;
    return std::find(std::begin(harmless), std::end(harmless), n) != std::end(harmless);
}

bool secret_key(std::string_view key, std::string_view value) {
    // a dotted field path ("spec.instance.environment.default.DD_API_KEY"): its last part
    if (size_t dot = key.rfind('.'); dot != std::string_view::npos) key = key.substr(dot + 1);
    std::vector<std::string> words = key_words(key);
    if (words.empty()) return false;
    std::string joined;
    for (const std::string& w : words) joined += w;
    // a file, directory or config path names where a secret is, not the secret
    const std::string& last = words.back();
    bool path_key =
        last == "file" || last == "path" || last == "dir" || last == "config" || last == "key" || last == "certificate";
    if (path_key && value.starts_with('/') && value.find_first_of(" \t:@") == std::string_view::npos) return false;
    for (std::string_view part :
         {"token", "passw", "passphrase", "secret", "credential", "privatekey", "clientkey", "keydata", "apikey",
          "accesskey", "sessionkey", "signingkey", "encryptionkey", "cookie"})
        if (joined.find(part) != std::string::npos) return true;
    for (const std::string& w : words)
        for (std::string_view exact : {"pass", "pwd", "auth", "pat", "bearer", "apitoken"})
            if (w == exact) return true;
    // An HTTP header's credential ("Authorization", "Proxy-Authorization"),
    // and a header given whole ("--manifest-url-header=Name:value"). Only as
    // the last word: kubelet's "authorization" table and
    // "--authorization-mode=Webhook" name a policy, not a credential.
    if (names_authorization(key) || secret_table(key)) return true;
    return false;
}

bool secret_table(std::string_view key) {
    if (size_t dot = key.rfind('.'); dot != std::string_view::npos) key = key.substr(dot + 1);
    std::string joined;
    for (const std::string& w : key_words(key)) joined += w;
    // containerd's registry "headers", kubelet's "staticPodURLHeader": what
    // is sent with every request, so whatever its name ("X-Origin-Verify")
    return joined.ends_with("header") || joined.ends_with("headers");
}

std::string redact_url_userinfo(std::string_view text, Redactor* remember) {
    std::string out;
    size_t pos = 0;
    for (size_t mark; (mark = text.find("://", pos)) != std::string_view::npos;) {
        // a scheme: a letter, then letters, digits, + - .
        size_t s = mark;
        while (s > pos && (std::isalnum(static_cast<unsigned char>(text[s - 1])) || text[s - 1] == '+' ||
                           text[s - 1] == '-' || text[s - 1] == '.'))
            --s;
        size_t start = mark + 3;
        if (s == mark || !std::isalpha(static_cast<unsigned char>(text[s]))) {
            out.append(text.substr(pos, start - pos));
            pos = start;
            continue;
        }
        // the authority's reach: up to white space or the next URL's scheme
        size_t end = start;
        while (end < text.size() && !is_space(text[end])) ++end;
        if (size_t next = text.substr(start, end - start).find("://"); next != std::string_view::npos) {
            size_t n = start + next;
            while (n > start && std::isalpha(static_cast<unsigned char>(text[n - 1]))) --n;
            end = n;
        }
        size_t at = text.substr(start, end - start).rfind('@');
        out.append(text.substr(pos, start - pos));
        if (at == std::string_view::npos || at == 0 || text.substr(start, at) == redacted) {
            pos = start;
            continue;
        }
        std::string_view userinfo = text.substr(start, at);
        if (remember) {
            remember->remember(userinfo);
            if (size_t colon = userinfo.find(':'); colon != std::string_view::npos)
                remember->remember(userinfo.substr(colon + 1));
        }
        out += redacted;
        pos = start + at;  // the '@' and the host stay
    }
    out.append(text.substr(pos));
    return out;
}

void Redactor::remember(std::string_view secret) {
    // a value masked already, as a key's value is ("REDACTED", quoted): to
    // remember it would mask the quotes of every other one
    std::string_view bare = secret;
    if (bare.size() >= 2 && (bare.front() == '"' || bare.front() == '\'') && bare.back() == bare.front())
        bare = bare.substr(1, bare.size() - 2);
    if (secret.size() < min_remembered || bare == redacted) return;
    if (std::all_of(secret.begin(), secret.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return;
    std::vector<std::string> forms = {std::string(secret),
                                      json_escaped(secret),
                                      escaped(secret, "\\\"`$"),
                                      replace_all(secret, "'", "''"),
                                      replace_all(secret, "'", "'\\''"),
                                      percent_encode(secret, hex_upper, false),
                                      percent_encode(secret, hex_lower, false),
                                      percent_encode(secret, hex_upper, true)};
    // a secret written percent-encoded (a URL's userinfo) is also searched
    // for decoded, in every form
    if (std::string d = percent_decode(secret); d != secret) remember(d);
    // a value masked whole that holds a URL with credentials: a log line may
    // show that URL's userinfo or password alone (a client naming its proxy),
    // so they are searched for too, as a harmless name's are
    if (secret.find("://") != std::string_view::npos) (void)redact_url_userinfo(secret, this);
    // base64 at each of the three byte alignments the secret can have inside
    // a longer encoded text: only the characters that depend on it alone
    for (bool url : {false, true}) {
        for (size_t k = 0; k < 3; ++k) {
            std::string padded = std::string(k, '\0') + std::string(secret);
            std::string b = base64(padded, url);
            size_t skip = k == 0 ? 0 : k + 1;
            size_t end = padded.size() * 8 / 6;
            if (end > skip) forms.push_back(b.substr(skip, end - skip));
        }
    }
    for (std::string& f : forms) {
        if (f.size() < min_remembered || std::string_view(redacted).find(f) != std::string_view::npos) continue;
        if (std::find(needles_.begin(), needles_.end(), f) == needles_.end()) needles_.push_back(std::move(f));
    }
    // longest first: a shorter form inside a longer one must not split it
    std::stable_sort(needles_.begin(), needles_.end(),
                     [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::scrub(std::string text) const {
    for (const std::string& n : needles_) {
        if (text.find(n) == std::string::npos) continue;
        text = replace_all(text, n, redacted);
    }
    return text;
}

namespace {

// "  - name: NAME" / "    value: VALUE": an environment list in YAML (a
// kubeconfig's exec plugin env:); the value's key says nothing, the name does.
std::string_view yaml_field(std::string_view line, std::string_view field) {
    size_t i = line.find_first_not_of(" \t-");
    if (i == std::string_view::npos || line.substr(i, field.size()) != field) return {};
    std::string_view rest = line.substr(i + field.size());
    if (!rest.starts_with(':')) return {};
    rest.remove_prefix(1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.size() >= 2 && (rest.front() == '"' || rest.front() == '\'') && rest.back() == rest.front())
        rest = rest.substr(1, rest.size() - 2);
    return rest;
}

}  // namespace

std::string Redactor::text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::string env_name;  // the last "- name:" of a YAML list, for the "value:" after it
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == std::string_view::npos ? text.size() : nl;
        std::string_view raw = text.substr(pos, end - pos);
        std::string line;
        size_t lead = raw.find_first_not_of(" \t");
        std::string_view body = lead == std::string_view::npos ? std::string_view() : raw.substr(lead);
        std::string_view env_value = yaml_field(raw, "value");
        if (body.starts_with("Environment=") || body.starts_with("DefaultEnvironment=")) {
            line = redact_environment_line(raw, lead + body.find('=') + 1, *this);
        } else if (!env_name.empty() && !env_value.empty() && !harmless_environment_name(env_name)) {
            remember(env_value);
            line = std::string(raw.substr(0, raw.find("value:") + 6)) + " \"" + std::string(redacted) + "\"";
        } else {
            line = redact_key_values(std::string(raw), *this);
        }
        if (body.starts_with("- ")) env_name.clear();
        if (std::string_view n = yaml_field(raw, "name"); !n.empty()) env_name = n;
        else if (!env_value.empty()) env_name.clear();
        line = redact_url_userinfo(line, this);
        line = redact_flags(std::move(line), *this);
        line = redact_aws_key_ids(std::move(line), *this);
        out += line;
        if (nl != std::string_view::npos) out += '\n';
        pos = end + 1;
    }
    return out;
}

}  // namespace eksnode::cli
