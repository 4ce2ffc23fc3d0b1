// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "config/support.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "input/sources.hpp"

using namespace eksnode;
using namespace eksnode::format;
using namespace eksnode::input;
using eksnode::test::cluster_named;

namespace {

std::string lines(std::initializer_list<std::string_view> ls, std::string_view eol = "\n") {
    std::string out;
    for (std::string_view l : ls) out.append(l).append(eol);
    return out;
}

std::string nodeconfig(std::string_view name) {
    return lines({"apiVersion: node.eks.aws/v1alpha1", "kind: NodeConfig", "spec:", "  cluster:"}) +
           "    name: " + std::string(name) + "\n";
}

// What a decoded fragment says, compactly: source -> spec.
using Summary = std::vector<std::pair<std::string, json>>;

Summary summarize(const std::vector<input::Fragment>& fragments) {
    Summary out;
    for (const input::Fragment& f : fragments) out.emplace_back(f.source, f.spec);
    return out;
}

struct UserDataCase {
    std::string name;
    std::string user_data;
    Summary expected;
};

struct Failure {
    std::string name;
    std::string user_data;
    std::string source;
    std::string problem;  // a substring
};

}  // namespace

TEST_CASE("user data formats without configuration yield no fragments", "[config][userdata]") {
    for (std::string_view ud : {"", "   \n\n", "#!/bin/bash\nyum install -y jq\n", "#cloud-config\npackages: [jq]\n",
                                "#include\nhttps://example.com/x\n", "\xEF\xBB\xBF#!/bin/sh\necho hi\n"}) {
        INFO(ud);
        CHECK(fragments_from_user_data(ud).empty());
    }
}

TEST_CASE("user data is sniffed: YAML, JSON and TOML", "[config][userdata]") {
    json spec = cluster_named("c");
    auto c = GENERATE_REF(values<UserDataCase>({
        {"YAML NodeConfig", nodeconfig("c"), {{"user data", spec}}},
        {"YAML starting with ---", "---\n" + nodeconfig("c"), {{"user data", spec}}},
        {"YAML with a byte order mark", "\xEF\xBB\xBF" + nodeconfig("c"), {{"user data", spec}}},
        {"JSON NodeConfig",
         R"({"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": {"cluster": {"name": "c"}}})",
         {{"user data", spec}}},
        {"TOML", "# image defaults\n[cluster]\nname = \"c\"\n", {{"user data", spec}}},
        {"YAML with CRLF line ends",
         lines({"apiVersion: node.eks.aws/v1alpha1", "kind: NodeConfig", "spec:", "  cluster:", "    name: c"}, "\r\n"),
         {{"user data", spec}}},
    }));
    INFO(c.name);
    CHECK(summarize(fragments_from_user_data(c.user_data)) == c.expected);
}

TEST_CASE("MIME multipart user data", "[config][userdata]") {
    const std::string head = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n";
    auto c = GENERATE_REF(values<UserDataCase>({
        {"two NodeConfig parts, in order",
         head + "--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("one") +
             "\n--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("two") + "\n--BOUNDARY--\n",
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("one")},
          {"user data (MIME part 2, application/node.eks.aws)", cluster_named("two")}}},
        {"scripts, cloud-config, include-url and plain text are ignored",
         head +
             "preamble is ignored\n--BOUNDARY\nContent-Type: text/x-shellscript; "
             "charset=\"us-ascii\"\n\n#!/bin/bash\necho hi\n" +
             "--BOUNDARY\nContent-Type: text/cloud-config\n\n#cloud-config\n{}\n" +
             "--BOUNDARY\nContent-Type: text/x-include-url\n\nhttps://example.com/x\n" +
             "--BOUNDARY\nContent-Type: text/plain\n\nhello\n" +
             "--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("c") +
             "--BOUNDARY--\nepilogue is ignored\n",
         {{"user data (MIME part 5, application/node.eks.aws)", cluster_named("c")}}},
        {"CRLF line ends, unquoted boundary, upper-case header names and media type",
         lines({"MIME-VERSION: 1.0", "CONTENT-TYPE: Multipart/Mixed; boundary=b1", "", "--b1",
                "Content-Type: Application/Node.EKS.AWS", "", "apiVersion: node.eks.aws/v1alpha1", "kind: NodeConfig",
                "spec:", "  cluster:", "    name: c", "--b1--"},
               "\r\n"),
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("c")}}},
        {"boundary in quotes with characters that need them, folded Content-Type",
         "Content-Type: multipart/mixed;\n boundary=\"==abc; def==\"\nMIME-Version: 1.0\n\n--==abc; def==\n"
         "Content-Type: application/node.eks.aws\n\n" +
             nodeconfig("c") + "--==abc; def==--\n",
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("c")}}},
        {"base64 transfer encoding",
         head + "--BOUNDARY\nContent-Type: application/node.eks.aws\nContent-Transfer-Encoding: base64\n\n" +
             test::base64(nodeconfig("c")) + "\n--BOUNDARY--\n",
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("c")}}},
        {"quoted-printable transfer encoding with a soft line break and an escape",
         head + "--BOUNDARY\nContent-Type: application/node.eks.aws\nContent-Transfer-Encoding: quoted-printable\n\n" +
             "apiVersion: node.eks.aws/v1alpha1\nkind: Node=\nConfig\nspec:\n  cluster:\n    name: caf=C3=A9  \n" +
             "--BOUNDARY--\n",
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("caf\xC3\xA9")}}},
        {"a part that is gzip, raw in the body (as nodeadm accepts)",
         head + "--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + test::gzip(nodeconfig("c")) +
             "\n--BOUNDARY--\n",
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("c")}}},
        {"nested multipart, parts numbered like IMAP",
         head + "--BOUNDARY\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n" +
             "--BOUNDARY\nContent-Type: multipart/alternative; boundary=inner\n\n" +
             "--inner\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("a") +
             "--inner\nContent-Type: application/vnd.eks-node+toml\n\n[cluster]\nname = \"b\"\n--inner--\n" +
             "--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("c") + "--BOUNDARY--\n",
         {{"user data (MIME part 2.1, application/node.eks.aws)", cluster_named("a")},
          {"user data (MIME part 2.2, application/vnd.eks-node+toml)", cluster_named("b")},
          {"user data (MIME part 3, application/node.eks.aws)", cluster_named("c")}}},
        {"two documents in one part",
         head + "--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("a") + "---\n" + nodeconfig("b") +
             "--BOUNDARY--\n",
         {{"user data (MIME part 1, application/node.eks.aws, document 1)", cluster_named("a")},
          {"user data (MIME part 1, application/node.eks.aws, document 2)", cluster_named("b")}}},
        {"a single-part MIME message",
         "MIME-Version: 1.0\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("c"),
         {{"user data (application/node.eks.aws)", cluster_named("c")}}},
        {"the whole message gzip'd, then base64'd",
         test::base64(test::gzip(head + "--BOUNDARY\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("c") +
                                 "--BOUNDARY--\n")),
         {{"user data (MIME part 1, application/node.eks.aws)", cluster_named("c")}}},
    }));
    INFO(c.name);
    CHECK(summarize(fragments_from_user_data(c.user_data)) == c.expected);
}

TEST_CASE("malformed user data names its source and says what is wrong", "[config][userdata]") {
    const std::string head = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n";
    const std::string part = "--B\nContent-Type: application/node.eks.aws\n\n" + nodeconfig("c");
    auto c = GENERATE_REF(values<Failure>({
        {"multipart without a boundary", "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n" + part + "--B--\n",
         "user data", "multipart/mixed without a boundary parameter"},
        {"unterminated multipart", head + part, "user data", "not terminated (no closing \"--B--\" line)"},
        {"boundary never used", head + "nothing here\n", "user data", "never contains its boundary \"B\""},
        {"headers not ended by an empty line", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B",
         "user data", "MIME headers are not followed by an empty line"},
        {"part headers not ended by an empty line",
         head + "--B\nContent-Type: application/node.eks.aws\napiVersion: node.eks.aws/v1alpha1\n--B--\n",
         "user data (MIME part 1)", "MIME headers are not followed by an empty line"},
        {"malformed header line", head + "--B\nthis is not a header\n\nx\n--B--\n", "user data (MIME part 1)",
         "malformed MIME header line \"this is not a header\""},
        {"bad quoted-printable",
         head + "--B\nContent-Type: application/node.eks.aws\nContent-Transfer-Encoding: "
                "quoted-printable\n\nkind=ZZ\n--B--\n",
         "user data (MIME part 1, application/node.eks.aws)", "invalid quoted-printable escape \"=ZZ\""},
        {"unknown transfer encoding",
         head + "--B\nContent-Type: application/node.eks.aws\nContent-Transfer-Encoding: x-uuencode\n\nx\n--B--\n",
         "user data (MIME part 1, application/node.eks.aws)", "unsupported Content-Transfer-Encoding \"x-uuencode\""},
        {"bad YAML in part 2", head + part + "--B\nContent-Type: application/node.eks.aws\n\nspec: [unclosed\n--B--\n",
         "user data (MIME part 2, application/node.eks.aws)",
         "invalid YAML at line 2, column 1: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 7)"},
        {"multipart nested too deep",
         head + "--B\nContent-Type: multipart/mixed; boundary=C\n\n--C\nContent-Type: multipart/mixed; boundary=D\n\n"
                "--D\nContent-Type: multipart/mixed; boundary=E\n\n--E\nContent-Type: multipart/mixed; boundary=F\n\n"
                "--F\n\nx\n--F--\n--E--\n--D--\n--C--\n--B--\n",
         "user data (MIME part 1.1.1.1, multipart/mixed)", "MIME multipart nested deeper than 4 levels"},
        {"malformed Content-Type", "Content-Type: multipart\n\nx\n", "user data",
         "malformed Content-Type \"multipart\""},
        {"YAML mentioning apiVersion reports the YAML error", "apiVersion: node.eks.aws/v1alpha1\nkind: [\n",
         "user data", "invalid YAML"},
        {"TOML that does not parse reports the TOML error", "[cluster\nname = 1\n", "user data",
         "invalid TOML at line 1, column 9"},
        {"a YAML mapping without apiVersion is a NodeConfig missing it", "spec:\n  cluster:\n    name: c\n",
         "user data", "missing (expected \"node.eks.aws/v1alpha1\")"},
    }));
    INFO(c.name);
    try {
        fragments_from_user_data(c.user_data);
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK(e.source() == c.source);
        CHECK_THAT(e.problem(), Catch::Contains(c.problem));
    }
}

TEST_CASE("more than 64 MIME parts are refused", "[config][userdata]") {
    std::string ud = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n";
    for (int i = 0; i < 65; ++i) ud += "--B\nContent-Type: text/plain\n\nx\n";
    ud += "--B--\n";
    CHECK_THROWS_WITH(fragments_from_user_data(ud), "user data: more than 64 MIME parts");
}

TEST_CASE("an empty MIME part is an empty text/plain part", "[config][userdata]") {
    std::string ud =
        "Content-Type: multipart/mixed; boundary=B\n\n--B\n--B\nContent-Type: application/node.eks.aws\n\n" +
        nodeconfig("c") + "--B--\n";
    CHECK(summarize(fragments_from_user_data(ud)) ==
          Summary{{"user data (MIME part 2, application/node.eks.aws)", cluster_named("c")}});
}

TEST_CASE("the label names the user data's origin, MIME parts qualify it", "[config][userdata]") {
    auto plain = fragments_from_user_data(nodeconfig("c"), "/tmp/ud");
    REQUIRE(plain.size() == 1);
    CHECK(plain[0].source == "/tmp/ud");
    std::string mime = "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: application/node.eks.aws\n\n" +
                       nodeconfig("c") + "--B--\n";
    auto parts = fragments_from_user_data(mime, "user data (/tmp/ud)");
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].source == "user data (/tmp/ud, MIME part 1, application/node.eks.aws)");
}

namespace {

// A two-part MIME message: a NodeConfig and a part of the given type and body.
std::string mime_with(std::string_view type, std::string_view body, std::string_view extra_headers = "") {
    return lines({"MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\"B\"", "", "--B",
                  "Content-Type: application/node.eks.aws", ""}) +
           nodeconfig("c") + lines({"--B"}) + "Content-Type: " + std::string(type) + "\n" + std::string(extra_headers) +
           "\n" + std::string(body) + "\n--B--\n";
}

}  // namespace

TEST_CASE("the parts cloud-init runs are found, and only those", "[config][userdata][cloud-init]") {
    struct Expect {
        std::string name;
        std::string user_data;
        std::vector<std::string> parts;
    };
    const std::string mp2 = "user data (MIME part 2, ";
    std::vector<Expect> cases = {
        // the Karpenter / managed node group case: nothing to wait for
        {"bare NodeConfig", nodeconfig("c"), {}},
        {"TOML", "[cluster]\nname = \"c\"\n", {}},
        {"NodeConfig only in MIME", mime_with("application/node.eks.aws", nodeconfig("d")), {}},
        // the common AL2023 pattern
        {"script part", mime_with("text/x-shellscript", "#!/bin/bash\necho hi"), {mp2 + "text/x-shellscript)"}},
        {"per-boot script part",
         mime_with("text/x-shellscript-per-boot", "#!/bin/sh\n:"),
         {mp2 + "text/x-shellscript-per-boot)"}},
        {"boothook part", mime_with("text/cloud-boothook", "#cloud-boothook\necho"), {mp2 + "text/cloud-boothook)"}},
        {"include part", mime_with("text/x-include-url", "http://x/y"), {mp2 + "text/x-include-url)"}},
        {"cloud-config with runcmd",
         mime_with("text/cloud-config", "#cloud-config\nruncmd:\n  - echo hi"),
         {mp2 + "text/cloud-config)"}},
        {"cloud-config with write_files",
         mime_with("text/cloud-config", "#cloud-config\nwrite_files:\n- path: /x"),
         {mp2 + "text/cloud-config)"}},
        {"cloud-config with bootcmd (JSON)",
         mime_with("text/cloud-config", "#cloud-config\n{\"bootcmd\": [\"x\"]}"),
         {mp2 + "text/cloud-config)"}},
        // cloud-config that only configures cloud-init runs nothing of the user's
        {"cloud-config without commands",
         mime_with("text/cloud-config", "#cloud-config\nssh_pwauth: false\nusers:\n  - runcmd: no"),
         {}},
        // a nested key named like a command key is not one
        {"indented runcmd", mime_with("text/cloud-config", "#cloud-config\nfoo:\n  runcmd: x"), {}},
        // text/plain is typed by its first line, as cloud-init does
        {"text/plain script", mime_with("text/plain", "#!/bin/sh\necho"), {mp2 + "text/plain)"}},
        {"text/plain note", mime_with("text/plain", "just a note"), {}},
        {"jinja template of a script",
         mime_with("text/plain", "## template: jinja\n#!/bin/sh\necho {{ v1.region }}"),
         {mp2 + "text/plain)"}},
        // a base64 transfer encoding comes off first
        {"base64 script part",
         mime_with("text/x-shellscript", "IyEvYmluL3NoCmVjaG8gaGkK", "Content-Transfer-Encoding: base64\n"),
         {mp2 + "text/x-shellscript)"}},
        // parts of no interest to cloud-init
        {"unknown type", mime_with("application/x-whatever", "#!/bin/sh"), {}},
        // documents without MIME
        {"AL2 script", "#!/bin/bash\n/etc/eks/bootstrap.sh c\n", {"user data"}},
        {"cloud-config document", "#cloud-config\nruncmd: [ls]\n", {"user data"}},
        {"#include document", "#include\nhttp://x\n", {"user data"}},
        {"cloud-config document without commands", "#cloud-config\nhostname: x\n", {}},
    };
    for (const Expect& c : cases) {
        INFO(c.name);
        CHECK(cloud_init_parts(c.user_data) == c.parts);
    }
}

TEST_CASE("finding cloud-init parts does not parse the configuration", "[config][userdata][cloud-init]") {
    // A NodeConfig error is eks-node-config's to report, once, from the
    // fragments; the cloud-init scan must not fail on it.
    std::string ud = mime_with("text/x-shellscript", "#!/bin/sh\n:");
    std::string broken = ud;
    broken.replace(broken.find("kind: NodeConfig"), 16, "kind: [broken");
    CHECK(cloud_init_parts(broken) == std::vector<std::string>{"user data (MIME part 2, text/x-shellscript)"});
    CHECK_THROWS_AS(fragments_from_user_data(broken), ConfigError);
}

TEST_CASE("a user data file that is not there, or not a file, is a missing configuration", "[config][userdata]") {
    test::TempRoot t;
    t.write("/ud.yaml", "kind: NodeConfig\n");
    CHECK(read_user_data_file((t.dir / "ud.yaml").string()) == "kind: NodeConfig\n");

    auto error_of = [](const std::string& path) -> std::string {
        try {
            read_user_data_file(path);
        } catch (const ConfigError& e) {
            CHECK(e.source() == path);
            CHECK(e.field().empty());
            CHECK(e.exit_code() == EXIT_CONFIG);
            return e.problem();
        }
        return "read";
    };
    CHECK(error_of((t.dir / "missing.yaml").string()) == "no such file");
    CHECK(error_of(t.dir.string()) == "a directory, not a file");
}
