// SPDX-License-Identifier: Apache-2.0
// User data: peel transport encodings, then read a MIME multipart message, a
// NodeConfig, our TOML, or recognise formats that carry no configuration.
#include <fcntl.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "format/convert.hpp"
#include "format/encoding.hpp"
#include "format/field_text.hpp"
#include "format/limits.hpp"
#include "format/mime.hpp"
#include "input/bootstrap_sh.hpp"
#include "input/sources.hpp"

namespace eksnode::input {

namespace {

// cloud-init's own formats ("User data formats" in its documentation): they
// configure cloud-init, not the node, except a script's call of
// /etc/eks/bootstrap.sh (AL2 user data), read by input/bootstrap_sh.hpp.
constexpr std::array<std::string_view, 5> cloud_init_markers = {"#!", "#cloud-config", "#cloud-boothook", "#include",
                                                                "#part-handler"};

bool is_cloud_init_format(std::string_view head) {
    for (std::string_view marker : cloud_init_markers)
        if (head.substr(0, marker.size()) == marker) return true;
    return false;
}

// The TOML multi-line string a line leaves open ("\"\"\"" or "'''"), given
// the one open before it ("" when none).
std::string_view open_multiline_string(std::string_view line, std::string_view open) {
    for (size_t at = 0;;) {
        if (open.empty()) {
            size_t dq = line.find(R"(""")", at), sq = line.find("'''", at);
            if (dq == line.npos && sq == line.npos) return open;
            open = dq < sq ? R"(""")" : "'''";
            at = std::min(dq, sq) + 3;
        } else {
            size_t end = line.find(open, at);
            if (end == line.npos) return open;
            open = {};
            at = end + 3;
        }
    }
}

// A NodeConfig says so on a line of its own ("apiVersion: ...", "kind: ..."),
// which a TOML document cannot ("key = value"), outside its multi-line
// strings: a static pod's manifest (settings.staticPods) has such lines.
bool has_nodeconfig_key(std::string_view doc) {
    std::string_view in_string;
    for (size_t pos = 0; pos < doc.size();) {
        size_t nl = std::min(doc.find('\n', pos), doc.size());
        std::string_view line = format::text::trim_left(doc.substr(pos, nl - pos));
        pos = nl + 1;
        const bool inside = !in_string.empty();
        in_string = open_multiline_string(line, in_string);
        if (inside) continue;
        if (!line.empty() && (line.front() == '"' || line.front() == '\'')) line.remove_prefix(1);
        for (std::string_view key : {std::string_view("apiVersion"), std::string_view("kind")}) {
            if (line.substr(0, key.size()) != key) continue;
            std::string_view rest = line.substr(key.size());
            if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) rest.remove_prefix(1);
            if (format::text::trim_left(rest).substr(0, 1) == ":") return true;
        }
    }
    return false;
}

// What cloud-init does with a document it types by its first line (its
// "User data formats"; a `## template: jinja` line is rendered first, so the
// line after it decides). Returns the kind of a document cloud-init will run
// or that can make it run something, else "".
//   #!                    a script, run by cloud-final.service (scripts-user)
//   #cloud-config         only with runcmd, bootcmd, write_files or packages
//   #cloud-boothook       run early, at every boot
//   #include[-once], #cloud-config-archive, #cloud-config-jsonp, #part-handler
//                         anything may come of them: counted, to be safe
std::string cloud_init_kind_of_text(std::string_view doc);

std::string_view first_line(std::string_view s) { return s.substr(0, s.find_first_of("\r\n")); }

// A top-level key of a cloud-config document that makes cloud-init run a
// command or write a file: block style ("runcmd:" at column 0) or a JSON
// document ("\"runcmd\":"). A line scan, not a YAML parse: cloud-init's own
// parser decides the rest, and a false "yes" only costs waiting for it.
bool cloud_config_runs_something(std::string_view doc) {
    static constexpr std::string_view keys[] = {"runcmd", "bootcmd", "write_files", "packages"};
    for (size_t pos = 0; pos < doc.size();) {
        size_t nl = std::min(doc.find('\n', pos), doc.size());
        std::string_view line = doc.substr(pos, nl - pos);
        pos = nl + 1;
        for (std::string_view key : keys) {
            if (line.substr(0, key.size()) == key &&
                format::text::trim_left(line.substr(key.size())).substr(0, 1) == ":")
                return true;
            if (line.find(fmt::format("\"{}\"", key)) != std::string_view::npos) return true;
        }
    }
    return false;
}

std::string cloud_init_kind_of_text(std::string_view doc) {
    std::string_view head = format::text::trim_left(doc);
    if (head.substr(0, 2) == "##" && first_line(head).find("template:") != std::string_view::npos) {
        size_t nl = head.find('\n');
        return nl == std::string_view::npos ? "" : cloud_init_kind_of_text(head.substr(nl + 1));
    }
    if (head.substr(0, 2) == "#!") return "shell script";
    if (head.substr(0, 13) == "#cloud-config" && head.substr(13, 1) != "-")
        return cloud_config_runs_something(head) ? "cloud-config with commands or files" : "";
    for (std::string_view marker :
         {"#cloud-boothook", "#include", "#cloud-config-archive", "#cloud-config-jsonp", "#part-handler"})
        if (head.substr(0, marker.size()) == marker) return std::string(first_line(head));
    return "";
}

// The same for a MIME part, by its media type as cloud-init's handlers
// register them; text/plain and unlabelled parts are typed by content.
std::string cloud_init_kind_of_part(std::string_view media_type, std::string_view body) {
    if (media_type.starts_with("text/x-shellscript") || media_type == "text/cloud-boothook" ||
        media_type == "text/x-include-url" || media_type == "text/x-include-once-url" ||
        media_type == "text/part-handler" || media_type == "text/cloud-config-archive" ||
        media_type == "text/cloud-config-jsonp" || media_type == "text/jinja2")
        return std::string(media_type);
    if (media_type == "text/cloud-config")
        return cloud_config_runs_something(body) ? "text/cloud-config with commands or files" : "";
    if (media_type == "text/plain" || media_type == "text/x-not-multipart") return cloud_init_kind_of_text(body);
    return "";
}

// cloud-init unpacks a gzip part itself; base64 comes off as the transfer
// encoding says. A body that does not unwrap is looked at as it is.
std::string part_text(const format::mime::Entity& e, const std::string& source) {
    std::string body = format::mime::decode_body(e, source);
    if (body.substr(0, 2) != "\x1f\x8b") return body;
    try {
        return format::gunzip(body, source);
    } catch (const ConfigError&) {
        return body;
    }
}

std::string_view without_bom(std::string_view s) { return s.substr(0, 3) == "\xEF\xBB\xBF" ? s.substr(3) : s; }

void require_text(std::string_view doc, const std::string& source) {
    if (!is_utf8_text(doc)) throw ConfigError(source, "", "binary data that is neither gzip, base64 nor UTF-8 text");
}

// A shell script yields the fragment of its bootstrap.sh call, if it has one;
// without `scripts`, only its edits of bootstrap.sh are noted in `state`.
std::vector<Fragment> fragments_from_script(std::string_view script, const std::string& source, bool scripts,
                                            bootstrap_sh::Scripts& state) {
    std::optional<Fragment> f;
    if (scripts) {
        require_text(script, source);
        f = state.read(script, source);
    } else {
        state.read_edits(script, source);
    }
    if (!f) log::debug("{}: script without a call of {}, no configuration in it", source, bootstrap_sh::script_path);
    return f ? std::vector<Fragment>{std::move(*f)} : std::vector<Fragment>{};
}

// A document without MIME headers: sniff its format.
std::vector<Fragment> fragments_from_document(std::string_view doc, const std::string& source, bool scripts,
                                              format::ReadBudget& budget, bootstrap_sh::Scripts& state) {
    std::string_view head = format::text::trim_left(doc);
    if (head.empty()) return {};
    if (head.substr(0, 2) == "#!") return fragments_from_script(doc, source, scripts, state);
    if (is_cloud_init_format(head)) {
        log::debug("{}: {} document, no configuration in it", source, head.substr(0, head.find_first_of(" \r\n")));
        return {};
    }
    require_text(doc, source);
    if (head.front() == '{' || head.substr(0, 3) == "---" || has_nodeconfig_key(doc))
        return fragments_from_nodeconfig(doc, source, budget);
    const format::ReadBudget before = budget;
    try {
        return {fragment_from_toml(doc, source, budget)};
    } catch (const ConfigError&) {
        // Neither TOML nor clearly a NodeConfig: a YAML mapping is a NodeConfig
        // missing its apiVersion, and saying so helps more than a TOML error.
        // (What the TOML reading charged is not the YAML's.)
        if (format::is_yaml_mapping(doc)) {
            budget = before;
            return fragments_from_nodeconfig(doc, source, budget);
        }
        throw;
    }
}

// User data as read: its configuration and what cloud-init will run of it.
struct UserData {
    std::vector<Fragment> fragments;
    std::vector<std::string> cloud_init_parts;
    bootstrap_sh::Edits edits;  // what its scripts do to /etc/eks/bootstrap.sh
};

// Walks a MIME message, numbering parts like IMAP does (RFC 3501 6.4.5):
// "2" is the second part, "2.1" the first part inside it.
class MimeWalker {
public:
    MimeWalker(const std::string& label, bool scripts, bool parse)
        : label_(label), scripts_(scripts), parse_(parse), budget_{label} {}

    void entity(const format::mime::Entity& e, const std::string& number, const std::string& source, int depth) {
        if (format::mime::is_multipart(e)) return multipart(e, number, source, depth + 1);
        if (std::string text = part_text(e, source); !cloud_init_kind_of_part(e.media_type, text).empty()) {
            cloud_init_.push_back(source);
            // cloud-init executes such a part as it is: without an
            // interpreter line the kernel refuses it (ENOEXEC) and the
            // script fails in cloud-final.service. Said here, at boot, first.
            if (!parse_ && e.media_type.starts_with("text/x-shellscript") &&
                format::text::trim_left(text).substr(0, 2) != "#!")
                log::warning("{}: no #! line: cloud-init cannot run this script (Exec format error)", source);
        }
        if (!parse_) return;
        if (e.media_type == nodeconfig_media_type)
            return append(fragments_from_nodeconfig(config_text(e, source), source, budget_));
        if (e.media_type == toml_media_type)
            return append({fragment_from_toml(config_text(e, source), source, budget_)});
        if (e.media_type == "text/x-shellscript")
            return append(
                fragments_from_script(format::mime::decode_body(e, source), source, scripts_, scripts_state_));
        log::debug("{}: no configuration in this part, ignored", source);
    }

    UserData take() { return {std::move(fragments_), std::move(cloud_init_), scripts_state_.edits()}; }

private:
    void multipart(const format::mime::Entity& e, const std::string& number, const std::string& source, int depth) {
        if (depth > format::limits::mime_depth)
            throw ConfigError(source, "",
                              fmt::format("MIME multipart nested deeper than {} levels", format::limits::mime_depth));
        std::string body = format::mime::decode_body(e, source);
        std::vector<std::string_view> parts = format::mime::split_multipart(body, e, source);
        for (size_t i = 0; i < parts.size(); ++i) {
            if (++parts_seen_ > format::limits::mime_parts)
                throw ConfigError(label_, "", fmt::format("more than {} MIME parts", format::limits::mime_parts));
            std::string part_number = (number.empty() ? "" : number + ".") + std::to_string(i + 1);
            std::string where = format::text::qualify(label_, "MIME part " + part_number);
            format::mime::Entity part = format::mime::parse_entity(parts[i], where);
            entity(part, part_number, format::text::qualify(where, part.media_type), depth);
        }
    }

    // Like nodeadm, a configuration part may itself be base64 and/or gzip.
    static std::string config_text(const format::mime::Entity& e, const std::string& source) {
        std::string content = format::unwrap_encodings(format::mime::decode_body(e, source), source);
        require_text(content, source);
        return content;
    }

    void append(std::vector<Fragment> more) {
        for (Fragment& f : more) fragments_.push_back(std::move(f));
    }

    const std::string& label_;
    bool scripts_;
    bool parse_;
    std::vector<Fragment> fragments_;
    std::vector<std::string> cloud_init_;
    int parts_seen_ = 0;
    format::ReadBudget budget_;            // one for the whole message: its parts share the caps
    bootstrap_sh::Scripts scripts_state_;  // an edit of bootstrap.sh in one part reaches a later part's call
};

// parse: read the configuration parts (else only find what cloud-init runs).
UserData walk_user_data(std::string_view raw, std::string_view label, bool scripts, bool parse) {
    std::string source(label);
    if (raw.size() > format::limits::user_data_bytes)
        throw ConfigError(
            source, "",
            fmt::format("{} bytes, beyond the {} MiB limit", raw.size(), format::limits::user_data_bytes >> 20));
    std::string content = format::unwrap_encodings(raw, source);
    std::string_view doc = without_bom(content);
    // nodeadm falls back to reading a message whose MIME structure is broken
    // as one NodeConfig, and then reports a confusing NodeConfig error; a
    // message that starts with MIME headers is MIME here, and its errors say so.
    if (!format::mime::starts_with_header(doc)) {
        UserData out;
        if (!cloud_init_kind_of_text(doc).empty()) out.cloud_init_parts.push_back(source);
        format::ReadBudget budget{source};
        bootstrap_sh::Scripts state;
        if (parse) out.fragments = fragments_from_document(doc, source, scripts, budget, state);
        out.edits = state.edits();
        return out;
    }

    format::mime::Entity message = format::mime::parse_entity(doc, source);
    MimeWalker walker(source, scripts, parse);
    // A single-part MIME message is one entity of its own type.
    walker.entity(message, "",
                  format::mime::is_multipart(message) ? source : format::text::qualify(source, message.media_type), 0);
    return walker.take();
}

}  // namespace

std::string read_user_data_file(const std::string& path) {
    // A source that is not there, or not a file, is a missing configuration
    // (exit 6, as `config check` promises); an I/O error is a failure.
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0 && errno == ENOENT) throw ConfigError(path, "", "no such file");
    if (f.fd < 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    // One byte past the limit tells that there is more, without reading on:
    // the file may be a pipe that never ends.
    std::string out;
    try {
        out = read_at_most(f.fd, format::limits::user_data_bytes + 1);
    } catch (const std::system_error& e) {
        if (e.code().value() == EISDIR) throw ConfigError(path, "", "a directory, not a file");
        throw Error(fmt::format("{}: read failed: {}", path, std::strerror(e.code().value())));
    }
    const size_t have = out.size();
    if (have > format::limits::user_data_bytes)
        throw ConfigError(path, "",
                          fmt::format("over the {} MiB limit for user data", format::limits::user_data_bytes >> 20));
    return out;
}

std::vector<Fragment> fragments_from_user_data(std::string_view raw, std::string_view label) {
    std::vector<Fragment> out = walk_user_data(raw, label, true, true).fragments;
    // The generator chose the node's target at boot from the static
    // fragments, before user data was read; a daemon-reload cannot undo a
    // target already started. So user data cannot choose it (eks-node.toml(5),
    // settings.node; eks-node-generator(8), ECS MODE).
    // Likewise what a failed join does (settings.onFailure): the user data
    // may be what failed to read, and it must not decide to stop a node.
    for (const Fragment& f : out)
        for (const char* key : {"onFailure", "onFailureDelay"})
            if (f.settings.is_object() && f.settings.contains(key))
                throw ConfigError(f.source, fmt::format("settings.{}", key),
                                  "decides what a node does when its join fails, which may be its user data: set it "
                                  "in the image's or an admin's node.toml.d fragment, not in user data");
    for (const Fragment& f : out)
        if (f.settings.is_object() && f.settings.contains("node"))
            throw ConfigError(f.source, "settings.node",
                              "chooses eks-node.target or ecs-node.target at boot, before user data is read: set it "
                              "in the image's or an admin's node.toml.d fragment, not in user data");
    return out;
}

std::vector<std::string> cloud_init_parts(std::string_view raw, std::string_view label) {
    return walk_user_data(raw, label, false, false).cloud_init_parts;
}

std::vector<Fragment> bootstrap_sh::fragments_from_user_data_without_scripts(std::string_view raw,
                                                                             std::string_view label, Edits* edits) {
    UserData read = walk_user_data(raw, label, false, true);
    if (edits) *edits = read.edits;
    return std::move(read.fragments);
}

}  // namespace eksnode::input
