#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>
#include <map>

#include "fixtures.hpp"
#include "cli/commands.hpp"
#include "core/fsutil.hpp"

using namespace eksnode;
using Outcome = cli::CheckResult::Outcome;

namespace {

std::string gunzip(const std::string& gz) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    char buf[4096];
    int r = Z_OK;
    while (r == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        r = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
    }
    inflateEnd(&z);
    REQUIRE(r == Z_STREAM_END);
    return out;
}

// name -> contents of a ustar archive, checking each header's checksum
std::map<std::string, std::string> untar(const std::string& tar) {
    std::map<std::string, std::string> files;
    size_t pos = 0;
    while (pos + 512 <= tar.size() && tar[pos] != '\0') {
        const char* h = tar.data() + pos;
        unsigned sum = 0;
        for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
        CHECK(std::stoul(std::string(h + 148, 6), nullptr, 8) == sum);
        CHECK(std::string(h + 257, 5) == "ustar");
        std::string name(h, strnlen(h, 100)), prefix(h + 345, strnlen(h + 345, 155));
        if (!prefix.empty()) name = prefix + "/" + name;
        size_t size = std::stoul(std::string(h + 124, 11), nullptr, 8);
        files[name] = tar.substr(pos + 512, size);
        pos += 512 + (size + 511) / 512 * 512;
    }
    return files;
}

sd::UnitStatus unit(std::string active, uint64_t start = 0, bool condition = true, uint64_t checked = 1) {
    sd::UnitStatus u;
    u.name = "eks-node-x.service";
    u.load_state = "loaded";
    u.active_state = std::move(active);
    u.start_usec = start;
    u.condition_result = condition;
    u.condition_usec = checked;
    return u;
}

}  // namespace

TEST_CASE("status names each step's state as systemd reports it", "[cli][status]") {
    CHECK(cli::step_state(unit("active", 5)) == "active");
    CHECK(cli::step_state(unit("failed", 5)) == "failed");
    CHECK(cli::step_state(unit("inactive", 0, false)) == "skipped by condition");
    CHECK(cli::step_state(unit("inactive", 0)) == "not run");
    // conditions never checked: not a skip, it just did not run
    CHECK(cli::step_state(unit("inactive", 0, false, 0)) == "not run");
    CHECK(cli::step_state(unit("inactive", 5)) == "inactive");  // ran, then stopped
    CHECK(cli::step_state(unit("activating", 5)) == "activating");
    sd::UnitStatus missing = unit("inactive");
    missing.load_state = "not-found";
    CHECK(cli::step_state(missing) == "not found");
}

TEST_CASE("collect-logs redacts secrets, keeps the rest", "[cli][collect-logs]") {
    std::string kubeconfig =
        "users:\n"
        "- name: kubelet\n"
        "  user:\n"
        "    token: abcdef.0123456789abcdef\n"
        "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==\n"
        "    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n";
    std::string r = cli::redact_secrets(kubeconfig);
    CHECK(r.find("abcdef.0123456789abcdef") == std::string::npos);
    CHECK(r.find("LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==") == std::string::npos);
    CHECK(r.find("    token: \"REDACTED\"\n") != std::string::npos);
    CHECK(r.find("client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem") != std::string::npos);

    CHECK(cli::redact_secrets("HTTPS_PROXY=http://alice:s3cret@proxy.example:3128\n") ==
          "HTTPS_PROXY=http://REDACTED@proxy.example:3128\n");
    CHECK(cli::redact_secrets("  \"httpsProxy\": \"http://bob:pw@10.0.0.1:3128\",") ==
          "  \"httpsProxy\": \"http://REDACTED@10.0.0.1:3128\",");
    CHECK(cli::redact_secrets("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG") ==
          "export AWS_SECRET_ACCESS_KEY=\"REDACTED\"");
    CHECK(cli::redact_secrets("{\"aws_session_token\": \"FwoGZXIvYXdz\",") == "{\"aws_session_token\": \"REDACTED\",");
    CHECK(cli::redact_secrets("key id AKIAIOSFODNN7EXAMPLE used") == "key id REDACTED used");
    // no secret: untouched, including URLs without credentials and prose with "token"
    std::string plain = "server: https://ABCD.gr7.us-west-2.eks.amazonaws.com\n"
                        "imds: token request failed: timeout\n\"maxPods\": 58,\n";
    CHECK(cli::redact_secrets(plain) == plain);
}

TEST_CASE("collect-logs writes a ustar archive gzip can read", "[cli][collect-logs]") {
    cli::TarGzWriter w;
    std::string big(1500, 'x');
    std::string long_name = "eks-node-logs/files/" + std::string(90, 'd') + "/" + std::string(60, 'f') + ".txt";
    w.add("eks-node-logs/a.txt", "hello\n");
    w.add("eks-node-logs/big.txt", big);
    w.add(long_name, "deep\n");
    w.add("eks-node-logs/empty", "");
    std::string gz = w.finish();
    REQUIRE(gz.size() > 2);
    CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
    std::string tar = gunzip(gz);
    CHECK(tar.size() % 512 == 0);
    auto files = untar(tar);
    REQUIRE(files.size() == 4);
    CHECK(files["eks-node-logs/a.txt"] == "hello\n");
    CHECK(files["eks-node-logs/big.txt"] == big);
    CHECK(files[long_name] == "deep\n");
    CHECK(files["eks-node-logs/empty"].empty());
    cli::TarGzWriter too_long;
    CHECK_THROWS(too_long.add(std::string(300, 'n'), "x"));
}

TEST_CASE("validate checks every output file: present, mode, parseable", "[cli][validate]") {
    test::TempRoot root;
    Paths p = root.paths();
    auto put = [&](std::string_view path, std::string_view text, mode_t mode) {
        write_file_atomic(p.of(path), text, mode);
    };
    auto outcome = [&](std::string_view name) {
        for (const auto& c : cli::validate_files(p))
            if (c.name == name) return c;
        FAIL("no check named " << name);
        return cli::CheckResult{};
    };

    // an empty root: every required file missing
    CHECK(outcome(path::config_json).outcome == Outcome::failed);
    CHECK(outcome(path::config_json).detail == "missing");
    CHECK(outcome(path::kubeconfig).outcome == Outcome::failed);
    CHECK(outcome(path::user_data).outcome == Outcome::skipped);

    put(path::instance_json, "{}", 0644);
    put(path::config_json, "{\"spec\": {}}", 0600);
    put(path::ca_crt, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0644);
    put(path::kubelet_config, "{\"kind\": \"KubeletConfiguration\"}", 0644);
    put(path::credential_provider_config, "{}", 0644);
    put(path::kubelet_env, "# from eks-node\nNODEADM_KUBELET_ARGS=--node-ip=10.0.0.1\n", 0644);
    put(path::containerd_config, "version = 2\n[plugins]\n", 0644);
    put(path::base_runtime_spec, "{}", 0644);
    put(path::kubeconfig, "apiVersion: v1\nkind: Config\n", 0600);
    for (const auto& c : cli::validate_files(p)) {
        INFO(c.name << ": " << c.detail);
        CHECK(c.outcome != Outcome::failed);
    }

    put(path::config_json, "{\"spec\": {}}", 0644);
    CHECK(outcome(path::config_json).detail == "mode 0644, want 0600");
    put(path::containerd_config, "version = = 2\n", 0644);
    CHECK(outcome(path::containerd_config).outcome == Outcome::failed);
    CHECK(outcome(path::containerd_config).detail.starts_with("cannot parse"));
    put(path::kubelet_env, "not an assignment\n", 0644);
    CHECK(outcome(path::kubelet_env).detail == "cannot parse: line 1: not KEY=VALUE");
    put(path::ca_crt, "garbage", 0644);
    CHECK(outcome(path::ca_crt).outcome == Outcome::failed);
    // an optional file is checked once present
    put(path::user_data, "x", 0644);
    CHECK(outcome(path::user_data).detail == "mode 0644, want 0600");
}
