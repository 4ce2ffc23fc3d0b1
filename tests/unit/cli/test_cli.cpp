// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstring>
#include <map>

#include "cli/commands.hpp"
#include "cli/redact.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "fixtures.hpp"
#include "input/aws_env.hpp"

using namespace eksnode;
using namespace eksnode::cli;
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

TEST_CASE("validate: containerd must have started after its files were last written", "[cli][validate]") {
    using O = cli::CheckResult::Outcome;
    CHECK(cli::containerd_current("active", 2'000'000, 1'000'000).outcome == O::ok);
    // started early, then eks-node-containerd rewrote config.toml and no restart followed
    cli::CheckResult stale = cli::containerd_current("active", 1'000'000, 3'500'000);
    CHECK(stale.outcome == O::failed);
    CHECK(stale.detail.find("2.500 s before") != std::string::npos);
    CHECK(stale.detail.find("systemctl restart containerd") != std::string::npos);
    CHECK(cli::containerd_current("active", 1'000'000, 1'000'000).outcome == O::failed);  // same µs: not after
    CHECK(cli::containerd_current("inactive", 0, 1'000'000).outcome == O::skipped);
    CHECK(cli::containerd_current("active", 1'000'000, 0).outcome == O::skipped);
}

TEST_CASE("status names each step's state as systemd reports it", "[cli][status]") {
    CHECK(cli::step_state(unit("active", 5)) == "active");
    CHECK(cli::step_state(unit("failed", 5)) == "failed");
    CHECK(cli::step_state(unit("inactive", 0, false)) == "skipped by condition");
    // failed in a run before, skipped by its condition at the last start: systemd keeps
    // "failed", but the step did not run since and would be skipped again
    CHECK(cli::step_state(unit("failed", 5, false)) == "skipped by condition");
    CHECK(cli::step_state(unit("inactive", 0)) == "not run");
    // conditions never checked: not a skip, it just did not run
    CHECK(cli::step_state(unit("inactive", 0, false, 0)) == "not run");
    CHECK(cli::step_state(unit("inactive", 5)) == "inactive");  // ran, then stopped
    CHECK(cli::step_state(unit("activating", 5)) == "activating");
    sd::UnitStatus missing = unit("inactive");
    missing.load_state = "not-found";
    CHECK(cli::step_state(missing) == "not found");
}

// Free text as collect-logs redacts it (cli/redact.hpp): the rules, then
// every value masked so, wherever else the text repeats it.
static std::string redact_text(std::string_view text) {
    cli::Redactor r;
    return r.scrub(r.text(text));
}

TEST_CASE("collect-logs redacts secrets, keeps the rest", "[cli][collect-logs]") {
    std::string kubeconfig =
        "users:\n"
        "- name: kubelet\n"
        "  user:\n"
        "    token: abcdef.0123456789abcdef\n"
        "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==\n"
        "    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n";
    std::string r = redact_text(kubeconfig);
    CHECK(r.find("abcdef.0123456789abcdef") == std::string::npos);
    CHECK(r.find("LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==") == std::string::npos);
    CHECK(r.find("    token: \"REDACTED\"\n") != std::string::npos);
    CHECK(r.find("client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem") != std::string::npos);
    // an exec plugin's environment: the name decides, as in an environment file
    std::string exec_env = redact_text(
        "      env:\n"
        "        - name: APP_SETTING\n"
        "          value: PLANTED-profile-value\n"
        "        - name: AWS_REGION\n"
        "          value: us-west-2\n");
    CHECK(exec_env.find("PLANTED") == std::string::npos);
    CHECK(exec_env.find("          value: \"REDACTED\"\n") != std::string::npos);
    CHECK(exec_env.find("          value: us-west-2\n") != std::string::npos);

    CHECK(redact_text("HTTPS_PROXY=http://alice:s3cret@proxy.example:3128\n") ==
          "HTTPS_PROXY=http://REDACTED@proxy.example:3128\n");
    CHECK(redact_text("  \"httpsProxy\": \"http://bob:pw@10.0.0.1:3128\",") ==
          "  \"httpsProxy\": \"http://REDACTED@10.0.0.1:3128\",");
    CHECK(redact_text("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG") ==
          "export AWS_SECRET_ACCESS_KEY=\"REDACTED\"");
    CHECK(redact_text("{\"aws_session_token\": \"FwoGZXIvYXdz\",") == "{\"aws_session_token\": \"REDACTED\",");
    CHECK(redact_text("key id AKIAIOSFODNN7EXAMPLE used") == "key id REDACTED used");
    // no secret: untouched, including URLs without credentials and prose with "token"
    std::string plain =
        "server: https://ABCD.gr7.us-west-2.eks.amazonaws.com\n"
        "imds: token request failed: timeout\n\"maxPods\": 58,\n";
    CHECK(redact_text(plain) == plain);
}

namespace {

// The secrets of the F6 report: names no suffix list knows, passwords with
// the characters that broke the URL pattern.
const std::vector<std::pair<std::string, std::string>> planted_environment = {
    {"DD_API_KEY", "dd0123456789abcdefPLANTED"}, {"REGISTRY_PASS", "reg-PLANTED-pass"},
    {"GITHUB_PAT", "ghp_PLANTEDpat0123456789"},  {"DB_PWD", "db-PLANTED-pwd"},
    {"VAULT_AUTH", "s.PLANTEDvaultauth"},        {"MY_SETTING", "anything-PLANTED-else"},
};
const std::string quote_password = "pa'ss:PLANTED@q";  // ', : and @ in one password
const std::string encoded_password = "enc%40PLANTED%3Apw";

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("collect-logs masks every environment value but the harmless ones", "[cli][collect-logs]") {
    std::string env = "# Generated by eks-node-kubelet from spec.instance.environment.default and .kubelet.\n";
    for (const auto& [k, v] : planted_environment) env += k + "=" + v + "\n";
    env += "HTTPS_PROXY=\"http://alice:" + quote_password + "@proxy.internal:3128\"\n";
    env += "HTTP_PROXY=http://bob:" + encoded_password + "@proxy.internal:3128\n";
    env += "NO_PROXY=localhost,127.0.0.1,169.254.169.254,.internal\n";
    env += "AWS_REGION=us-west-2\n";
    env += "MULTI=\"first line PLANTED-multi\nsecond line PLANTED-multi-2\"\n";
    env += "NODEADM_KUBELET_ARGS=--node-ip=10.0.0.1 --bootstrap-token=abcdef.PLANTEDtoken01\n";
    cli::Redactor r;
    std::string out = r.environment_file(env);
    for (const auto& [k, v] : planted_environment) {
        CHECK_FALSE(contains(out, v));
        CHECK(contains(out, k + "=REDACTED\n"));
    }
    CHECK_FALSE(contains(out, "PLANTED"));
    CHECK(contains(out, "HTTPS_PROXY=\"http://REDACTED@proxy.internal:3128\"\n"));
    CHECK(contains(out, "HTTP_PROXY=http://REDACTED@proxy.internal:3128\n"));
    CHECK(contains(out, "NO_PROXY=localhost,127.0.0.1,169.254.169.254,.internal\n"));
    CHECK(contains(out, "AWS_REGION=us-west-2\n"));
    CHECK(contains(out, "MULTI=REDACTED\n"));
    CHECK_FALSE(contains(out, "second line"));
    CHECK(contains(out, "NODEADM_KUBELET_ARGS=--node-ip=10.0.0.1 --bootstrap-token=REDACTED\n"));
    CHECK(contains(out, "# Generated by eks-node-kubelet"));

    // a unit drop-in's Environment= line, read the same way
    cli::Redactor d;
    CHECK(d.text("Environment=\"GITHUB_PAT=ghp_PLANTED0123\" NO_PROXY=.internal HTTPS_PROXY=http://u:" +
                 quote_password + "@proxy:3128\n") ==
          "Environment=\"GITHUB_PAT=REDACTED\" NO_PROXY=.internal HTTPS_PROXY=http://REDACTED@proxy:3128\n");
}

TEST_CASE("collect-logs shows the AWS SDK variables eks-node's client reads, from that client's table",
          "[cli][collect-logs]") {
    // one table (input/aws_env.hpp) for the client, its validation and the redactor
    for (std::string_view name : input::aws_env::names) {
        CAPTURE(name);
        CHECK(cli::harmless_environment_name(name));
    }
    cli::Redactor r;
    CHECK(r.environment_file("AWS_METADATA_SERVICE_TIMEOUT=7\nAWS_SECRET_ACCESS_KEY=PLANTEDsecret\n") ==
          "AWS_METADATA_SERVICE_TIMEOUT=7\nAWS_SECRET_ACCESS_KEY=REDACTED\n");
}

TEST_CASE("collect-logs: a URL's password inside a value masked whole is scrubbed alone too", "[cli][collect-logs]") {
    // a variable the redactor does not know as harmless: masked whole in the environment
    // file, and its URL's password searched for where a log line shows it alone
    cli::Redactor r;
    CHECK(r.environment_file("MIRROR_URL=http://dave:PLANTEDftp-pw-0123@ftp.internal:21\n"
                             "UPSTREAM=\"https://carol:PLANTED%2Fupstream-pw@up.internal/x\"\n") ==
          "MIRROR_URL=REDACTED\nUPSTREAM=REDACTED\n");
    const std::string journal =
        "containerd: ftp proxy login dave:PLANTEDftp-pw-0123 refused\n"
        "curl: password PLANTEDftp-pw-0123, upstream PLANTED/upstream-pw\n";
    const std::string out = r.scrub(journal);
    CHECK_FALSE(contains(out, "PLANTED"));
    CHECK(contains(out, "refused"));
}

TEST_CASE("collect-logs masks URL credentials whatever they hold", "[cli][collect-logs]") {
    for (const std::string& password :
         {quote_password, encoded_password, std::string("p\"w@x"), std::string("a/b@c"), std::string("::@@''")}) {
        std::string url = "http://user:" + password + "@proxy.example:3128/x";
        CAPTURE(url);
        CHECK(cli::redact_url_userinfo(url) == "http://REDACTED@proxy.example:3128/x");
        CHECK(cli::redact_url_userinfo("proxy " + url + " refused") ==
              "proxy http://REDACTED@proxy.example:3128/x refused");
    }
    // two URLs in one value: each masked, the hosts kept
    CHECK(cli::redact_url_userinfo("http://a:b@h1:1,https://c:d@h2:2") == "http://REDACTED@h1:1,https://REDACTED@h2:2");
    // no credentials: untouched
    CHECK(cli::redact_url_userinfo("https://ABCD.gr7.us-west-2.eks.amazonaws.com/api") ==
          "https://ABCD.gr7.us-west-2.eks.amazonaws.com/api");
}

TEST_CASE("collect-logs masks config.json's environment and secret keys, keeps the rest", "[cli][collect-logs]") {
    json cfg = {{"spec",
                 {{"instance",
                   {{"environment",
                     {{"default",
                       {{"HTTPS_PROXY", "http://alice:" + quote_password + "@proxy.internal:3128"},
                        {"NO_PROXY", "localhost,.internal"},
                        {"AWS_REGION", "eu-west-1"}}},
                      {"kubelet", json::object()}}}}},
                  {"containerd",
                   {{"config",
                     {{"plugins",
                       {{"io.containerd.grpc.v1.cri",
                         {{"registry",
                           {{"configs",
                             {{"reg.example",
                               {{"auth",
                                 {{"username", "bob"},
                                  {"password", "containerd-PLANTED-pw"},
                                  {"auth", "Ym9iOlBMQU5URUQ="}}}}}}}}}}}}}}}}},
                  {"kubelet", {{"flags", {"--node-labels=a=b", "--some-token=flag-PLANTED-tok"}}}}}},
                {"origins", {{"spec.instance.environment.kubelet.DD_API_KEY", "/etc/eks-node/node.toml.d/90-x.toml"}}}};
    for (const auto& [k, v] : planted_environment) cfg["spec"]["instance"]["environment"]["kubelet"][k] = v;
    cli::Redactor r;
    std::string out = r.json_text(cfg.dump());
    CAPTURE(out);
    CHECK_FALSE(contains(out, "PLANTED"));
    CHECK_FALSE(contains(out, "Ym9iOlBMQU5URUQ="));
    CHECK(contains(out, "\"HTTPS_PROXY\": \"http://REDACTED@proxy.internal:3128\""));
    CHECK(contains(out, "\"NO_PROXY\": \"localhost,.internal\""));
    CHECK(contains(out, "\"AWS_REGION\": \"eu-west-1\""));
    CHECK(contains(out, "\"username\": \"bob\""));
    CHECK(contains(out, "\"--node-labels=a=b\""));
    CHECK(contains(out, "\"spec.instance.environment.kubelet.DD_API_KEY\": \"/etc/eks-node/node.toml.d/90-x.toml\""));
    CHECK(json::parse(out)["spec"]["instance"]["environment"]["kubelet"]["GITHUB_PAT"] == "REDACTED");
}

TEST_CASE("collect-logs masks a TOML fragment's environment, comments included", "[cli][collect-logs]") {
    std::string toml =
        "# DD_API_KEY = \"commented-PLANTED-key\"\n"
        "[instance.environment.default]\n"
        "HTTPS_PROXY = \"http://alice:pa'ss:PLANTED@q@proxy.internal:3128\"\n"
        "NO_PROXY = \"localhost\"\n"
        "GITHUB_PAT = 'ghp_PLANTEDpat0123456789'\n"
        "[instance.environment]\n"
        "kubelet = { VAULT_AUTH = \"s.PLANTEDvaultauth\" }\n"
        "[kubelet.config]\n"
        "maxPods = 42\n";
    cli::Redactor r;
    std::string out = r.toml_text(toml);
    CAPTURE(out);
    CHECK_FALSE(contains(out, "PLANTED"));
    CHECK(contains(out, "http://REDACTED@proxy.internal:3128"));
    CHECK(contains(out, "NO_PROXY = \"localhost\""));
    CHECK(contains(out, "maxPods = 42"));
    CHECK_THROWS_AS(r.toml_text("[unclosed\nsecret = \"x\""), Error);
}

TEST_CASE("headers and Authorization are masked by key, whatever the header's name", "[cli][collect-logs]") {
    // containerd's registry headers, kubelet's static pod URL headers, a
    // registry's auth table: config.json and the kubelet drop-in (JSON)
    json cfg = {
        {"spec",
         {{"containerd",
           {{"config",
             {{"plugins",
               {{"io.containerd.grpc.v1.cri",
                 {{"registry",
                   {{"headers",
                     {{"Authorization", {"Bearer ctd-PLANTED-bearer"}}, {"X-Origin-Verify", {"ctd-PLANTED-origin"}}}},
                    {"configs",
                     {{"reg.example",
                       {{"auth", {{"username", "puller"}, {"identitytoken", "ctd-PLANTED-identity"}}}}}}}}}}}}}}}}},
          {"kubelet",
           {{"config",
             {{"staticPodURLHeader",
               {{"AUTHORIZATION", {"Bearer pod-PLANTED-bearer"}}, {"x-origin-verify", {"pod-PLANTED-origin"}}}},
              // a policy named "authorization", not a credential: kept
              {"authorization", {{"mode", "Webhook"}}}}},
            {"flags",
             {"--manifest-url-header=X-Origin-Verify:flag-PLANTED-header", "--authorization-mode=Webhook"}}}}}}};
    cli::Redactor r;
    std::string out = r.scrub(r.json_text(cfg.dump()));
    CAPTURE(out);
    CHECK_FALSE(contains(out, "PLANTED"));
    json got = json::parse(out);
    CHECK(got["spec"]["kubelet"]["config"]["staticPodURLHeader"]["x-origin-verify"][0] == "REDACTED");
    CHECK(got["spec"]["kubelet"]["config"]["authorization"]["mode"] == "Webhook");
    CHECK(got["spec"]["kubelet"]["flags"][1] == "--authorization-mode=Webhook");
    CHECK(got["spec"]["containerd"]["config"]["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["configs"]
             ["reg.example"]["auth"]["username"] == "puller");

    // config.toml as eks-node renders it: its header comments kept, the rest parsed
    std::string toml =
        "# Generated by eks-node-containerd from /run/eks-node/config.json.\n"
        "# containerd loads /etc/containerd/config.d/*.toml over this file (imports), in name order; "
        "none when rendered\n"
        "version = 2\n"
        "[plugins.\"io.containerd.grpc.v1.cri\".registry.headers]\n"
        "Authorization = [\"Bearer toml-PLANTED-bearer\"]\n"
        "X-Origin-Verify = [\"toml-PLANTED-origin\"]\n"
        "[plugins.\"io.containerd.grpc.v1.cri\".registry.configs.\"reg.example\".auth]\n"
        "password = \"toml-PLANTED-password\"\n"
        "username = \"puller\"\n";
    std::string t = r.rendered_toml(toml);
    CAPTURE(t);
    CHECK_FALSE(contains(t, "PLANTED"));
    CHECK(t.starts_with("# Generated by eks-node-containerd from /run/eks-node/config.json.\n# containerd loads"));
    CHECK(contains(t, "username = \"puller\""));
    CHECK(contains(t, "version = 2"));
    // a header as an HTTP client prints it: scheme and credential, not the scheme alone
    CHECK(redact_text("> Authorization: Bearer line.PLANTED-token\r\n> Accept: */*\n") ==
          "> Authorization: \"REDACTED\"\r\n> Accept: */*\n");
    CHECK(redact_text("Proxy-Authorization: Basic dXNlcjpQTEFOVEVE") == "Proxy-Authorization: \"REDACTED\"");
    // a header line read as text: the whole list
    CHECK(redact_text("Authorization = [\"Bearer line-PLANTED\", \"x\"] # note") ==
          "Authorization = \"REDACTED\" # note");
    // an OCI spec's process.env (baseRuntimeSpec): NAME=value strings, the
    // value masked unless the name is a harmless one
    json spec = {{"process", {{"env", {"PATH=/usr/bin", "DB_PASSWORD=env-PLANTED-value", "PLAIN"}}}}};
    std::string env = r.json_text(spec.dump());
    CAPTURE(env);
    CHECK_FALSE(contains(env, "PLANTED"));
    CHECK(contains(env, "PATH=/usr/bin"));
    CHECK(contains(env, "DB_PASSWORD="));
    // containerd 1.x logs its CRI configuration as Go prints a struct (%+v): a
    // map whose values are lists, brackets nested (seen in VM 16's journal)
    std::string go = redact_text(
        "Registry:{ConfigPath:/etc/containerd/certs.d Headers:map[Authorization:[Bearer go-PLANTED-bearer] "
        "X-Origin-Verify:[go-PLANTED-origin]]} ImageDecryption:{KeyModel:node}");
    CAPTURE(go);
    CHECK_FALSE(contains(go, "PLANTED"));
    CHECK(contains(go, "ImageDecryption:{KeyModel:node}"));
    CHECK(contains(go, "ConfigPath:/etc/containerd/certs.d"));
}

TEST_CASE("a hook's arguments are masked, its program kept", "[cli][collect-logs]") {
    json cfg = {{"settings",
                 {{"hooks",
                   {{"agent",
                     {{"command", {"/usr/bin/agent", "--token", "hook-PLANTED-arg"}},
                      {"environment", {{"AGENT_KEY", "hook-PLANTED-env"}}},
                      {"stage", "after-join"}}}}}}}};
    cli::Redactor r;
    std::string out = r.scrub(r.json_text(cfg.dump()));
    CAPTURE(out);
    CHECK_FALSE(contains(out, "PLANTED"));
    json got = json::parse(out);
    CHECK(got["settings"]["hooks"]["agent"]["command"] == json({"/usr/bin/agent", "REDACTED", "REDACTED"}));
    CHECK(got["settings"]["hooks"]["agent"]["stage"] == "after-join");
    // the same in a TOML fragment
    std::string t = r.toml_text("[settings.hooks.agent]\ncommand = [\"/usr/bin/agent\", \"frag-PLANTED-arg\"]\n");
    CAPTURE(t);
    CHECK_FALSE(contains(t, "PLANTED"));
    CHECK(contains(t, "/usr/bin/agent"));
}

TEST_CASE("collect-logs masks a learned secret wherever it appears, in its encoded forms too", "[cli][collect-logs]") {
    cli::Redactor r;
    r.environment_file("GITHUB_PAT=ghp_PLANTEDpat0123456789\nHTTP_PROXY=http://u:" + encoded_password + "@p:1\n");
    const std::string secret = "ghp_PLANTEDpat0123456789";
    // how a journal line or a tool's output could repeat it
    std::string journal =
        "eks-node-config[1]: spec.instance.environment.default.GITHUB_PAT: \"" + secret + "\" is not allowed\n";
    journal += "percent " + std::string("ghp_PLANTEDpat0123456789") + "%21\n";  // raw, followed by an encoded char
    journal += "decoded enc@PLANTED:pw in a log\n";
    const std::string b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    auto b64 = [&](const std::string& s) {
        std::string out;
        int val = 0, bits = -6;
        for (unsigned char c : s) {
            val = (val << 8) + c;
            bits += 8;
            while (bits >= 0) {
                out += b64_alphabet[(val >> bits) & 0x3F];
                bits -= 6;
            }
        }
        if (bits > -6) out += b64_alphabet[((val << 8) >> (bits + 8)) & 0x3F];
        while (out.size() % 4) out += '=';
        return out;
    };
    // the secret inside a longer base64 text at each byte alignment
    for (std::string prefix : {"", "x", "xy"}) journal += "blob " + b64(prefix + secret + "tail") + "\n";
    std::string out = r.scrub(r.text(journal));
    CAPTURE(out);
    CHECK_FALSE(contains(out, secret));
    CHECK_FALSE(contains(out, "enc@PLANTED:pw"));
    for (std::string prefix : {"", "x", "xy"}) {
        std::string whole = b64(prefix + secret + "tail");
        // the characters that depend on the secret alone are gone
        CHECK_FALSE(contains(out, whole.substr(prefix.empty() ? 0 : prefix.size() + 1, 20)));
    }
    CHECK(contains(out, "is not allowed"));
    // a short value is masked where it is assigned, not searched for everywhere
    cli::Redactor s;
    CHECK(s.environment_file("FLAG=true\n") == "FLAG=REDACTED\n");
    CHECK(s.scrub("enabled: true") == "enabled: true");
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
    put(path::kubelet_config, "{\"kind\": \"KubeletConfiguration\"}", 0600);
    put(path::credential_provider_config, "{}", 0600);
    put(path::kubelet_env, "# from eks-node\nNODEADM_KUBELET_ARGS=--node-ip=10.0.0.1\n", 0600);
    put(path::containerd_config, "version = 2\n[plugins]\n", 0600);
    put(path::base_runtime_spec, "{}", 0600);
    put(path::kubeconfig, "apiVersion: v1\nkind: Config\n", 0600);
    put(path::kubelet_config_al2, "{\"kind\": \"KubeletConfiguration\"}", 0600);
    put(path::kubelet_config_al2_written, "{\"kind\": \"KubeletConfiguration\"}", 0600);
    for (const auto& c : cli::validate_files(p)) {
        INFO(c.name << ": " << c.detail);
        CHECK(c.outcome != Outcome::failed);
    }

    put(path::config_json, "{\"spec\": {}}", 0644);
    CHECK(outcome(path::config_json).detail == "mode 0644, want 0600");
    put(path::containerd_config, "version = = 2\n", 0600);
    CHECK(outcome(path::containerd_config).outcome == Outcome::failed);
    CHECK(outcome(path::containerd_config).detail.starts_with("cannot parse"));
    put(path::kubelet_env, "not an assignment\n", 0600);
    CHECK(outcome(path::kubelet_env).detail == "cannot parse: line 1: not KEY=VALUE");
    put(path::ca_crt, "garbage", 0644);
    CHECK(outcome(path::ca_crt).outcome == Outcome::failed);
    // files that may carry a registry's or a static pod URL's credentials
    put(path::containerd_config, "version = 2\n", 0644);
    CHECK(outcome(path::containerd_config).detail == "mode 0644, want 0600");
    // an optional file is checked once present
    put(path::user_data, "x", 0644);
    CHECK(outcome(path::user_data).detail == "mode 0644, want 0600");
}

TEST_CASE("status counts config.json's warnings of each kind", "[cli][status]") {
    using Kind = input::Warning::Kind;
    test::TempRoot r;
    CHECK(config_warning_count(r.paths(), Kind::ignored).is_null());  // no config.json: nothing to count in
    r.write("/run/eks-node/config.json", R"({"schemaVersion": 1, "spec": {}})");
    CHECK(config_warning_count(r.paths(), Kind::ignored) == 0);
    r.write("/run/eks-node/config.json",
            R"({"schemaVersion": 1, "warnings": [{"field": "spec.cluster.nmae"}, {"field": "specs"},
                {"field": "spec.kubelet.config.evictionHardd", "kind": "kubeletField"}]})");
    CHECK(config_warning_count(r.paths(), Kind::ignored) == 2);
    CHECK(config_warning_count(r.paths(), Kind::kubelet_field) == 1);
    r.write("/run/eks-node/config.json", "{not json");
    CHECK(config_warning_count(r.paths(), Kind::kubelet_field).is_null());
}

TEST_CASE("collect-logs and config dump mask registry credentials, client keys and provider environments",
          "[cli][collect-logs]") {
    cli::Redactor r;
    const std::string out = r.json_text(R"({"settings": {
        "registries": {"r.example": {"username": "puller", "password": "planted-registry-password",
                                     "clientKey": "-----BEGIN PRIVATE KEY-----\nplanted-key-body\n-----END PRIVATE KEY-----\n"}},
        "credentialProviders": {"p": {"matchImages": ["x"], "env": {"PROVIDER_SETTING": "planted-provider-env", "HTTPS_PROXY": "http://proxy:3128"}}}}})");
    CHECK(out.find("planted-registry-password") == std::string::npos);
    CHECK(out.find("planted-key-body") == std::string::npos);
    CHECK(out.find("planted-provider-env") == std::string::npos);
    CHECK(out.find("http://proxy:3128") != std::string::npos);  // harmless, kept
    CHECK(out.find("puller") != std::string::npos);
}
