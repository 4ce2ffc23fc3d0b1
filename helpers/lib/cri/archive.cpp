// SPDX-License-Identifier: Apache-2.0
#include "cri/archive.hpp"

#include <sys/utsname.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "core/text.hpp"

namespace eksnode::cri {

namespace {

constexpr std::size_t block = 512;
// index.json and manifests are a few KiB; a larger one is not what ctr wrote.
constexpr std::uint64_t max_json_bytes = 4u << 20;
// Deeper than an index of indexes of manifests is not an image layout.
constexpr int max_depth = 4;

struct Entry {
    std::uint64_t offset;  // of the data, in the archive
    std::uint64_t size;
};

[[noreturn]] void fail(std::string_view name, std::string_view problem) {
    throw Error(fmt::format("{}: {}", name, problem));
}

// A numeric header field: octal digits (space or NUL ended), or base-256 when
// its first byte has the high bit set (GNU, for sizes of 8 GiB and more).
bool header_number(std::string_view field, std::uint64_t& out) {
    out = 0;
    if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
        for (std::size_t i = 0; i < field.size(); ++i) {
            auto b = static_cast<unsigned char>(field[i]);
            if (i == 0) b &= 0x7f;
            if (out >> 56) return false;
            out = out << 8 | b;
        }
        return true;
    }
    std::size_t i = 0;
    while (i < field.size() && field[i] == ' ') ++i;
    bool digits = false;
    for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i) {
        if (out >> 60) return false;
        out = out * 8 + static_cast<unsigned>(field[i] - '0');
        digits = true;
    }
    for (; i < field.size(); ++i)
        if (field[i] != ' ' && field[i] != '\0') return false;
    return digits;
}

std::string c_string(std::string_view field) { return std::string(field.substr(0, field.find('\0'))); }

// The "path" record of a pax extended header ("LEN path=VALUE\n" records).
std::string pax_path(std::string_view records) {
    while (!records.empty()) {
        std::size_t space = records.find(' ');
        if (space == std::string_view::npos) break;
        std::size_t len = 0;
        for (char c : records.substr(0, space)) {
            if (c < '0' || c > '9' || len > records.size()) return "";
            len = len * 10 + static_cast<std::size_t>(c - '0');
        }
        if (len <= space + 1 || len > records.size()) return "";
        std::string_view record = records.substr(space + 1, len - space - 2);  // without the '\n'
        if (record.starts_with("path=")) return std::string(record.substr(5));
        records.remove_prefix(len);
    }
    return "";
}

bool read_exact(std::istream& in, char* buf, std::size_t n) {
    in.read(buf, static_cast<std::streamsize>(n));
    return static_cast<std::size_t>(in.gcount()) == n;
}

std::string read_at(std::istream& in, const Entry& e) {
    std::string data(e.size, '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(e.offset));
    if (!read_exact(in, data.data(), data.size())) data.clear();
    return data;
}

// Every regular file of the archive by name, with the tar's own structure
// checked: header checksums, and every entry's data within the file.
std::map<std::string, Entry> read_members(std::istream& in, std::string_view name) {
    in.seekg(0, std::ios::end);
    const auto end = static_cast<std::uint64_t>(in.tellg());
    in.seekg(0);
    std::map<std::string, Entry> members;
    std::string long_name;
    char header[block];
    std::uint64_t pos = 0;
    bool ended = false;
    while (pos + block <= end) {
        in.clear();
        in.seekg(static_cast<std::streamoff>(pos));
        if (!read_exact(in, header, block)) fail(name, fmt::format("cannot read the tar header at byte {}", pos));
        std::string_view h(header, block);
        if (h.find_first_not_of('\0') == std::string_view::npos) {
            ended = true;  // the end-of-archive blocks
            break;
        }
        std::uint64_t sum = 0, want = 0;
        for (std::size_t i = 0; i < block; ++i)
            sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
        if (!header_number(h.substr(148, 8), want) || want != sum)
            fail(name, fmt::format("not a tar archive (bad header checksum at byte {})", pos));
        std::uint64_t size = 0;
        if (!header_number(h.substr(124, 12), size)) fail(name, fmt::format("bad entry size at byte {}", pos));
        const char type = header[156];
        std::string path = c_string(h.substr(0, 100));
        if (h.substr(257, 5) == "ustar") {
            std::string prefix = c_string(h.substr(345, 155));
            if (!prefix.empty()) path = prefix + "/" + path;
        }
        const std::uint64_t data = pos + block;
        if (size > end - data)
            fail(name, fmt::format("cut short: {} needs {} bytes at byte {}, the file ends after {}",
                                   json_quoted(path, 200, QuoteAs::ascii), size, data, end - data));
        const Entry entry{data, size};
        if (type == 'L' || type == 'x') {
            if (size > 64 * 1024) fail(name, fmt::format("an oversized long-name header at byte {}", pos));
            std::string text = read_at(in, entry);
            long_name = type == 'L' ? c_string(text) : pax_path(text);
        } else {
            if (!long_name.empty()) path = std::move(long_name);
            long_name.clear();
            while (path.starts_with("./")) path.erase(0, 2);
            if (type == '0' || type == '\0') members[path] = entry;
        }
        pos = data + (size + block - 1) / block * block;
    }
    if (!ended) fail(name, fmt::format("cut short: no end-of-archive blocks after byte {} (of {})", pos, end));
    return members;
}

bool is_index(std::string_view media_type) {
    return media_type == "application/vnd.oci.image.index.v1+json" ||
           media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

bool is_manifest(std::string_view media_type) {
    return media_type == "application/vnd.oci.image.manifest.v1+json" ||
           media_type == "application/vnd.docker.distribution.manifest.v2+json";
}

struct Walker {
    std::istream& in;
    std::string_view name;
    std::string_view arch;
    const std::map<std::string, Entry>& members;
    std::set<std::string> checked;
    ArchiveReport report;

    // The blob a descriptor names, present and of its size and digest.
    const Entry& blob(const json& d, std::string_view where) {
        if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string() || !d.contains("size") ||
            !d["size"].is_number_unsigned())
            fail(name, fmt::format("{}: a descriptor without a digest and a size", where));
        const std::string digest = d["digest"].get<std::string>();
        const std::uint64_t size = d["size"].get<std::uint64_t>();
        std::size_t colon = digest.find(':');
        std::string_view hex =
            colon == std::string::npos ? std::string_view() : std::string_view(digest).substr(colon + 1);
        if (digest.substr(0, colon) != "sha256" || hex.size() != 64 ||
            hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
            fail(name, fmt::format("{}: digest {} is not sha256:<64 hex digits>", where,
                                   json_quoted(digest, 80, QuoteAs::ascii)));
        auto it = members.find("blobs/sha256/" + std::string(hex));
        if (it == members.end()) fail(name, fmt::format("{}: blob {} is missing", where, digest));
        const Entry& e = it->second;
        if (e.size != size)
            fail(name, fmt::format("{}: blob {} has {} bytes, its descriptor says {}", where, digest, e.size, size));
        if (checked.insert(digest).second) {
            crypto::Sha256 sha;
            in.clear();
            in.seekg(static_cast<std::streamoff>(e.offset));
            char buf[65536];
            for (std::uint64_t left = e.size; left > 0;) {
                std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof buf));
                if (!read_exact(in, buf, n)) fail(name, fmt::format("{}: blob {} cannot be read", where, digest));
                sha.update({buf, n});
                left -= n;
            }
            if (sha.hex() != hex)
                fail(name, fmt::format("{}: blob {} does not have that digest (its content changed)", where, digest));
            report.blobs++;
            report.bytes += e.size;
        }
        return e;
    }

    json document(const Entry& e, std::string_view what) {
        if (e.size > max_json_bytes) fail(name, fmt::format("{}: {} bytes, not an image document", what, e.size));
        json doc = json::parse(read_at(in, e), nullptr, false);
        if (!doc.is_object()) fail(name, fmt::format("{}: not a JSON object", what));
        return doc;
    }

    // Every descriptor of `list` (an index's "manifests"), in order.
    void walk_index(const json& index, const std::string& where, int depth) {
        if (depth > max_depth) fail(name, fmt::format("{}: indexes nested deeper than {}", where, max_depth));
        if (!index.contains("manifests") || !index["manifests"].is_array())
            fail(name, fmt::format("{}: no \"manifests\" list", where));
        std::size_t ours = 0;
        for (std::size_t i = 0; i < index["manifests"].size(); ++i) {
            const json& d = index["manifests"][i];
            const std::string at = fmt::format("{}: manifests[{}]", where, i);
            std::string media_type = d.is_object() && d.contains("mediaType") && d["mediaType"].is_string()
                                         ? d["mediaType"].get<std::string>()
                                         : "";
            // An exported multi-platform index names every platform; only this
            // machine's manifest comes along.
            const json* platform = d.is_object() && d.contains("platform") ? &d["platform"] : nullptr;
            bool other = platform && platform->is_object() && platform->contains("architecture") &&
                         (*platform)["architecture"] != arch;
            if (other && d.contains("digest") && d["digest"].is_string()) {
                std::string digest = d["digest"].get<std::string>();
                if (!members.contains("blobs/sha256/" + digest.substr(digest.find(':') + 1))) continue;
            }
            const Entry& e = blob(d, at);
            if (is_index(media_type)) {
                walk_index(document(e, at), at, depth + 1);
            } else if (is_manifest(media_type)) {
                walk_manifest(document(e, at), at);
            } else {
                fail(name, fmt::format("{}: media type {} is neither an index nor a manifest", at,
                                       json_quoted(media_type, 80, QuoteAs::ascii)));
            }
            ours++;
            if (depth == 0) {
                const json* ann = d.contains("annotations") ? &d["annotations"] : nullptr;
                std::string image;
                if (ann && ann->is_object()) {
                    for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
                        if (image.empty() && ann->contains(key) && (*ann)[key].is_string())
                            image = (*ann)[key].get<std::string>();
                    }
                }
                report.images.push_back(image);
            }
        }
        if (ours == 0) fail(name, fmt::format("{}: no manifest for {}", where, arch));
    }

    void walk_manifest(const json& manifest, const std::string& where) {
        if (!manifest.contains("config")) fail(name, fmt::format("{}: a manifest without a config", where));
        blob(manifest["config"], where + ": config");
        if (!manifest.contains("layers") || !manifest["layers"].is_array())
            fail(name, fmt::format("{}: a manifest without layers", where));
        for (std::size_t i = 0; i < manifest["layers"].size(); ++i)
            blob(manifest["layers"][i], fmt::format("{}: layers[{}]", where, i));
    }
};

}  // namespace

ArchiveReport check_image_archive(std::istream& in, std::string_view name, std::string_view arch) {
    const std::map<std::string, Entry> members = read_members(in, name);
    auto layout = members.find("oci-layout");
    if (layout == members.end()) fail(name, "not an OCI image layout (no oci-layout file)");
    auto index = members.find("index.json");
    if (index == members.end()) fail(name, "not an OCI image layout (no index.json)");
    Walker w{in, name, arch, members, {}, {}};
    w.walk_index(w.document(index->second, "index.json"), "index.json", 0);
    return w.report;
}

std::string host_goarch() {
    utsname u{};
    if (uname(&u) != 0) return "amd64";
    std::string_view m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64") return "arm64";
    return std::string(m);
}

}  // namespace eksnode::cri
