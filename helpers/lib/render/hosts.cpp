// SPDX-License-Identifier: Apache-2.0
// eks-node-hosts: on Outposts, the API server's addresses in /etc/hosts, so
// that nodes keep reaching a local control plane while the Outpost is
// disconnected from its region (nodeadm/internal/kubelet/config.go,
// withOutpostSetup). nodeadm appends the lines on every run; here they live in
// one marked block that each run replaces.
#include "render/hosts.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"

namespace eksnode::render {

namespace detail {

std::string hosts_block(const std::string& host, const std::vector<std::string>& addresses) {
    // DNS answers come in rotating order; sorted (IPv4 first) the block only
    // changes when the addresses do.
    std::vector<std::string> sorted = addresses;
    auto key = [](const std::string& a) { return std::make_pair(a.find(':') != std::string::npos, a); };
    std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

    std::string out = fmt::format("{}\n", hosts_begin);
    for (const std::string& a : sorted) out += fmt::format("{}\t{}\n", a, host);
    out += fmt::format("{}\n", hosts_end);
    return out;
}

std::optional<BlockSpan> find_hosts_block(std::string_view text, std::string_view file) {
    std::optional<size_t> begin;
    std::optional<BlockSpan> found;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
        std::string_view line = text.substr(pos, (nl == std::string_view::npos ? text.size() : nl) - pos);
        if (line == hosts_begin) {
            if (begin || found)
                throw Error(fmt::format("{}: more than one \"{}\" line; remove the extra block by hand", file,
                                        hosts_begin));
            begin = pos;
        } else if (line == hosts_end) {
            if (!begin) throw Error(fmt::format("{}: \"{}\" without \"{}\"; fix the file by hand", file, hosts_end,
                                                hosts_begin));
            found = BlockSpan{*begin, next};
            begin.reset();
        }
        pos = next;
    }
    if (begin)
        throw Error(fmt::format("{}: \"{}\" without \"{}\"; fix the file by hand", file, hosts_begin, hosts_end));
    return found;
}

std::string with_hosts_block(std::string_view text, std::string_view block, std::string_view file) {
    if (std::optional<BlockSpan> span = find_hosts_block(text, file)) {
        std::string out(text.substr(0, span->begin));
        out.append(block).append(text.substr(span->end));
        return out;
    }
    std::string out(text);
    if (block.empty()) return out;
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out.append(block);
}

std::vector<std::string> addresses_in_dns_answer(const unsigned char* msg, size_t len) {
    std::vector<std::string> out;
    const unsigned char* end = msg + len;
    if (len < HFIXEDSZ) return out;
    auto u16 = [](const unsigned char* p) { return static_cast<unsigned>(p[0] << 8 | p[1]); };
    const unsigned questions = u16(msg + 4), answers = u16(msg + 6);
    const unsigned char* p = msg + HFIXEDSZ;
    for (unsigned i = 0; i < questions; ++i) {
        int n = dn_skipname(p, end);
        if (n < 0 || end - p < n + QFIXEDSZ) return out;
        p += n + QFIXEDSZ;
    }
    for (unsigned i = 0; i < answers; ++i) {
        int n = dn_skipname(p, end);
        if (n < 0 || end - p < n + RRFIXEDSZ) return out;
        p += n;
        const unsigned type = u16(p), rdlength = u16(p + 8);
        p += RRFIXEDSZ;
        if (end - p < static_cast<long>(rdlength)) return out;
        char text[INET6_ADDRSTRLEN];
        if (type == ns_t_a && rdlength == 4 && inet_ntop(AF_INET, p, text, sizeof text)) out.emplace_back(text);
        if (type == ns_t_aaaa && rdlength == 16 && inet_ntop(AF_INET6, p, text, sizeof text)) out.emplace_back(text);
        p += rdlength;
    }
    return out;
}

}  // namespace detail

namespace {

using namespace render::detail;

bool is_ip_literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::vector<std::string> resolve_with_dns(const std::string& host) {
    struct __res_state state {};
    if (res_ninit(&state) != 0) throw TempError(fmt::format("{}: cannot read the resolver configuration", host));
    struct Close {
        res_state s;
        ~Close() { res_nclose(s); }
    } close{&state};

    std::vector<std::string> out;
    std::vector<unsigned char> answer(NS_MAXMSG);
    for (int type : {ns_t_a, ns_t_aaaa}) {
        // A name with only one family simply has no records of the other.
        int n = res_nquery(&state, host.c_str(), ns_c_in, type, answer.data(), static_cast<int>(answer.size()));
        if (n <= 0) continue;
        std::vector<std::string> found = addresses_in_dns_answer(answer.data(), static_cast<size_t>(n));
        out.insert(out.end(), found.begin(), found.end());
    }
    if (out.empty()) throw TempError(fmt::format("cannot resolve {}: DNS returned no A or AAAA records", host));
    return out;
}

StepResult render_hosts(const json& cfg, const Paths& paths, const HostResolver& resolve) {
    StepResult result;
    const fs::path file = paths.of(path::etc_hosts);
    const std::optional<std::string> current = read_file_if_exists(file);
    const std::string text = current.value_or("");

    std::string block;
    const std::string host =
        flag(cfg, "/spec/cluster/enableOutpost") ? need_string(cfg, "/derived/apiServerHost") : std::string();
    // An address needs no /etc/hosts entry to be reached.
    if (!host.empty() && !is_ip_literal(host)) {
        try {
            block = hosts_block(host, resolve(host));
        } catch (const TempError& e) {
            if (!find_hosts_block(text, file.string())) throw;
            log::warning("{}; keeping the addresses already in {}", e.what(), path::etc_hosts);
            result.add(file, WriteResult::unchanged);
            return result;
        }
    }

    const std::string updated = with_hosts_block(text, block, file.string());
    if (updated == text) {
        result.add(file, WriteResult::unchanged);
        return result;
    }
    // put() keeps the administrator's mode (the registry's 0644 is for a new file).
    put(result, paths, path::etc_hosts, updated);
    return result;
}

StepResult render_hosts(const json& cfg, const Paths& paths) { return render_hosts(cfg, paths, resolve_with_dns); }

}  // namespace eksnode::render
