// SPDX-License-Identifier: Apache-2.0
#include "aws/credentials.hpp"

#include <ctime>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "imds/values.hpp"

namespace eksnode::aws {

namespace {

constexpr std::string_view profile_dir = "meta-data/iam/security-credentials/";

std::string member(const json& doc, const char* key, std::string_view role) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        throw Error(fmt::format("IMDS: instance profile {}: the credentials document has no {}", role, key));
    // Keys and token go into request headers: a line break would add one of
    // its own. Refused without echoing the value, which may be a secret.
    const std::string& v = it->get_ref<const std::string&>();
    for (unsigned char c : v)
        if (c <= 0x20 || c >= 0x7f)
            throw Error(fmt::format("IMDS: instance profile {}: the credentials document's {} holds a space, a "
                                    "control character or a byte that is not ASCII",
                                    role, key));
    return v;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
    std::tm tm{};
    std::string text(s);
    const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) return std::nullopt;
    std::string_view rest(end);
    if (!rest.empty() && rest.front() == '.')  // fractional seconds
        while (!rest.empty() && rest.front() != 'Z') rest.remove_prefix(1);
    if (rest != "Z") return std::nullopt;
    // system_clock counts nanoseconds in 64 bits: years 1678-2261 only
    // (from_time_t overflows beyond); credentials expire within hours anyway
    if (tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 2200) return std::nullopt;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Credentials parse_instance_profile(std::string_view document, std::string_view role) {
    json doc;
    try {
        doc = json::parse(document);
    } catch (const json::exception&) {
        // parse_error, or out_of_range for a number such as 1e400: unreadable either way.
        throw Error(fmt::format("IMDS: instance profile {}: the credentials document is not JSON", role));
    }
    if (!doc.is_object()) throw Error(fmt::format("IMDS: instance profile {}: the credentials document is not an object", role));
    if (auto code = doc.find("Code"); code != doc.end() && *code != "Success")
        throw TempError(fmt::format("IMDS: instance profile {}: credentials not available (Code {})", role,
                                    code->is_string() ? code->get<std::string>() : code->dump()));
    Credentials c;
    c.access_key_id = member(doc, "AccessKeyId", role);
    c.secret_access_key = member(doc, "SecretAccessKey", role);
    c.session_token = member(doc, "Token", role);
    std::string expiration = member(doc, "Expiration", role);
    c.expiration = parse_iso8601(expiration);
    if (!c.expiration)
        throw Error(fmt::format("IMDS: instance profile {}: Expiration {} is not a time", role,
                                imds::value::shown(expiration)));
    c.source = fmt::format("instance profile {} (IMDS)", role);
    return c;
}

std::optional<Credentials> environment_credentials(Getenv getenv) {
    auto var = [&](const char* name) -> std::string {
        const char* v = getenv ? getenv(name) : nullptr;
        return v ? v : "";
    };
    std::string id = var("AWS_ACCESS_KEY_ID"), secret = var("AWS_SECRET_ACCESS_KEY");
    if (id.empty() && secret.empty()) return std::nullopt;
    if (id.empty() || secret.empty())
        throw ConfigError("environment", id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          fmt::format("unset, but {} is set; set both or neither",
                                      id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
    Credentials c;
    c.access_key_id = id;
    c.secret_access_key = secret;
    c.session_token = var("AWS_SESSION_TOKEN");
    c.source = "environment (AWS_ACCESS_KEY_ID)";
    return c;
}

const Credentials& CredentialProvider::get(bool force_refresh) {
    if (current_ && !force_refresh) {
        if (!current_->expiration || std::chrono::system_clock::now() + refresh_margin < *current_->expiration)
            return *current_;
    }
    if (auto env = environment_credentials(getenv_)) {
        current_ = std::move(env);  // nothing to renew: the environment is all there is
        return *current_;
    }
    bool renewing = current_.has_value();
    current_ = from_instance_profile();
    log::debug("AWS credentials {} from {}", renewing ? "renewed" : "loaded", current_->source);
    return *current_;
}

namespace {

// The role the listing names (its first line), checked: it goes into an IMDS
// path, so nothing but a role name may pass.
std::string listed_role(const std::optional<std::string>& listing) {
    if (!listing || trim_line(*listing).empty())
        throw NoCredentialsError("IMDS meta-data/iam/security-credentials/", "instance profile",
                                 "this instance has no IAM instance profile, so eks-node has no AWS credentials (for "
                                 "the EC2 and EKS APIs, or kubelet's token); attach one (or set AWS_ACCESS_KEY_ID "
                                 "and AWS_SECRET_ACCESS_KEY)");
    std::string_view first = trim_line(*listing);
    first = trim_line(first.substr(0, first.find('\n')));
    if (std::string problem = imds::value::iam_role(first); !problem.empty())
        throw ConfigError(fmt::format("IMDS {}", profile_dir), "", problem);
    return std::string(first);
}

}  // namespace

// The role name from instance.json when eks-node-imds asked already (one
// request: the document), else from IMDS's listing, with the document asked
// for on the same session token as soon as the listing answers.
Credentials CredentialProvider::from_instance_profile() {
    if (!profile_.disabled_by.empty())
        throw NoCredentialsError("AWS credentials", "AWS_ACCESS_KEY_ID",
                                 fmt::format("unset, and the instance profile is not asked: {}", profile_.disabled_by));
    std::string role;
    if (profile_.known) role = listed_role(profile_.role);
    if (!imds_) {
        if (!profile_.known)
            throw NoCredentialsError("AWS credentials", "AWS_ACCESS_KEY_ID", "unset, and there is no IMDS to ask");
        throw Error("IMDS: no endpoint recorded in instance.json to fetch credentials from");
    }
    std::map<std::string, std::optional<std::string>, std::less<>> answers;
    if (profile_.known) {
        answers = imds_({std::string(profile_dir) + role}, {});
    } else {
        answers =
            imds_({std::string(profile_dir)}, [&role](std::string_view path, const std::optional<std::string>& answer) {
                if (path != profile_dir) return std::vector<std::string>{};
                role = listed_role(answer);
                return std::vector<std::string>{std::string(profile_dir) + role};
            });
        if (role.empty()) {
            auto it = answers.find(profile_dir);
            role = listed_role(it == answers.end() ? std::nullopt : it->second);
        }
    }
    const std::string path = std::string(profile_dir) + role;
    auto d = answers.find(path);
    if (d == answers.end() || !d->second)
        throw TempError(fmt::format("IMDS {}: not found, though the role is listed", path));
    return parse_instance_profile(*d->second, role);
}

}  // namespace eksnode::aws
