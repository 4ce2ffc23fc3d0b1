// SPDX-License-Identifier: Apache-2.0
// User data: peel transport encodings, then read a MIME multipart message, a
// NodeConfig, our TOML, or recognise formats that carry no configuration.
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "config/bootstrap_sh.hpp"
#include "config/convert.hpp"
#include "config/encoding.hpp"
#include "config/mime.hpp"
#include "config/sources.hpp"
#include "config/text.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace eksnode::config {

namespace {

// cloud-init's own formats ("User data formats" in its documentation): they
// configure cloud-init, not the node, except a script's call of
// /etc/eks/bootstrap.sh (AL2 user data), read by config/bootstrap_sh.hpp.
constexpr std::array<std::string_view, 5> cloud_init_markers = {"#!", "#cloud-config", "#cloud-boothook", "#include",
                                                                "#part-handler"};

bool is_cloud_init_format(std::string_view head) {
    for (std::string_view marker : cloud_init_markers)
        if (head.substr(0, marker.size()) == marker) return true;
    return false;
}

// A NodeConfig says so on a line of its own ("apiVersion: ...", "kind: ..."),
// which a TOML document cannot ("key = value").
bool has_nodeconfig_key(std::string_view doc) {
    for (size_t pos = 0; pos < doc.size();) {
        size_t nl = std::min(doc.find('\n', pos), doc.size());
        std::string_view line = text::trim_left(doc.substr(pos, nl - pos));
        pos = nl + 1;
        if (!line.empty() && (line.front() == '"' || line.front() == '\'')) line.remove_prefix(1);
        for (std::string_view key : {std::string_view("apiVersion"), std::string_view("kind")}) {
            if (line.substr(0, key.size()) != key) continue;
            std::string_view rest = line.substr(key.size());
            if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) rest.remove_prefix(1);
            if (text::trim_left(rest).substr(0, 1) == ":") return true;
        }
    }
    return false;
}

std::string_view without_bom(std::string_view s) { return s.substr(0, 3) == "\xEF\xBB\xBF" ? s.substr(3) : s; }

void require_text(std::string_view doc, const std::string& source) {
    if (!is_utf8_text(doc)) throw ConfigError(source, "", "binary data that is neither gzip, base64 nor UTF-8 text");
}

// A shell script yields the fragment of its bootstrap.sh call, if it has one.
std::vector<Fragment> fragments_from_script(std::string_view script, const std::string& source, bool scripts) {
    std::optional<Fragment> f;
    if (scripts) {
        require_text(script, source);
        f = bootstrap_sh::fragment_from_script(script, source);
    }
    if (!f) log::debug("{}: script without a call of {}, no configuration in it", source, bootstrap_sh::script_path);
    return f ? std::vector<Fragment>{std::move(*f)} : std::vector<Fragment>{};
}

// A document without MIME headers: sniff its format.
std::vector<Fragment> fragments_from_document(std::string_view doc, const std::string& source, bool scripts) {
    std::string_view head = text::trim_left(doc);
    if (head.empty()) return {};
    if (head.substr(0, 2) == "#!") return fragments_from_script(doc, source, scripts);
    if (is_cloud_init_format(head)) {
        log::debug("{}: {} document, no configuration in it", source, head.substr(0, head.find_first_of(" \r\n")));
        return {};
    }
    require_text(doc, source);
    if (head.front() == '{' || head.substr(0, 3) == "---" || has_nodeconfig_key(doc))
        return fragments_from_nodeconfig(doc, source);
    try {
        return {fragment_from_toml(doc, source)};
    } catch (const ConfigError&) {
        // Neither TOML nor clearly a NodeConfig: a YAML mapping is a NodeConfig
        // missing its apiVersion, and saying so helps more than a TOML error.
        if (is_yaml_mapping(doc)) return fragments_from_nodeconfig(doc, source);
        throw;
    }
}

// Walks a MIME message, numbering parts like IMAP does (RFC 3501 6.4.5):
// "2" is the second part, "2.1" the first part inside it.
class MimeWalker {
public:
    MimeWalker(const std::string& label, bool scripts) : label_(label), scripts_(scripts) {}

    void entity(const mime::Entity& e, const std::string& number, const std::string& source, int depth) {
        if (mime::is_multipart(e)) return multipart(e, number, source, depth + 1);
        if (e.media_type == nodeconfig_media_type)
            return append(fragments_from_nodeconfig(config_text(e, source), source));
        if (e.media_type == toml_media_type) return append({fragment_from_toml(config_text(e, source), source)});
        if (e.media_type == "text/x-shellscript")
            return append(fragments_from_script(mime::decode_body(e, source), source, scripts_));
        log::debug("{}: no configuration in this part, ignored", source);
    }

    std::vector<Fragment> take() { return std::move(fragments_); }

private:
    void multipart(const mime::Entity& e, const std::string& number, const std::string& source, int depth) {
        if (depth > limits::mime_depth)
            throw ConfigError(source, "",
                              fmt::format("MIME multipart nested deeper than {} levels", limits::mime_depth));
        std::string body = mime::decode_body(e, source);
        std::vector<std::string_view> parts = mime::split_multipart(body, e, source);
        for (size_t i = 0; i < parts.size(); ++i) {
            if (++parts_seen_ > limits::mime_parts)
                throw ConfigError(label_, "", fmt::format("more than {} MIME parts", limits::mime_parts));
            std::string part_number = (number.empty() ? "" : number + ".") + std::to_string(i + 1);
            std::string where = text::qualify(label_, "MIME part " + part_number);
            mime::Entity part = mime::parse_entity(parts[i], where);
            entity(part, part_number, text::qualify(where, part.media_type), depth);
        }
    }

    // Like nodeadm, a configuration part may itself be base64 and/or gzip.
    static std::string config_text(const mime::Entity& e, const std::string& source) {
        std::string content = unwrap_encodings(mime::decode_body(e, source), source);
        require_text(content, source);
        return content;
    }

    void append(std::vector<Fragment> more) {
        for (Fragment& f : more) fragments_.push_back(std::move(f));
    }

    const std::string& label_;
    bool scripts_;
    std::vector<Fragment> fragments_;
    int parts_seen_ = 0;
};

std::vector<Fragment> user_data_fragments(std::string_view raw, std::string_view label, bool scripts) {
    std::string source(label);
    if (raw.size() > limits::user_data_bytes)
        throw ConfigError(source, "",
                          fmt::format("{} bytes, beyond the {} MiB limit", raw.size(), limits::user_data_bytes >> 20));
    std::string content = unwrap_encodings(raw, source);
    std::string_view doc = without_bom(content);
    // nodeadm falls back to reading a message whose MIME structure is broken
    // as one NodeConfig, and then reports a confusing NodeConfig error; a
    // message that starts with MIME headers is MIME here, and its errors say so.
    if (!mime::starts_with_header(doc)) return fragments_from_document(doc, source, scripts);

    mime::Entity message = mime::parse_entity(doc, source);
    MimeWalker walker(source, scripts);
    // A single-part MIME message is one entity of its own type.
    walker.entity(message, "", mime::is_multipart(message) ? source : text::qualify(source, message.media_type), 0);
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
    std::string out(limits::user_data_bytes + 1, '\0');
    size_t have = 0;
    while (have < out.size()) {
        ssize_t n = ::read(f.fd, out.data() + have, out.size() - have);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EISDIR) throw ConfigError(path, "", "a directory, not a file");
            throw Error(fmt::format("{}: read failed: {}", path, std::strerror(errno)));
        }
        if (n == 0) break;
        have += static_cast<size_t>(n);
    }
    if (have > limits::user_data_bytes)
        throw ConfigError(path, "", fmt::format("over the {} MiB limit for user data", limits::user_data_bytes >> 20));
    out.resize(have);
    return out;
}

std::vector<Fragment> fragments_from_user_data(std::string_view raw, std::string_view label) {
    return user_data_fragments(raw, label, true);
}

std::vector<Fragment> bootstrap_sh::fragments_from_user_data_without_scripts(std::string_view raw,
                                                                            std::string_view label) {
    return user_data_fragments(raw, label, false);
}

}  // namespace eksnode::config
