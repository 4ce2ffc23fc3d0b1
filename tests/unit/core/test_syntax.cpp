// SPDX-License-Identifier: Apache-2.0
// core/syntax.hpp: each writer's output read back by the format's own rules
// (systemd_model.hpp for unit and environment files, libyaml through
// format::yaml_documents), and what each refuses.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/syntax.hpp"
#include "format/convert.hpp"
#include "systemd_model.hpp"

using namespace eksnode;
namespace unit = eksnode::syntax::unit;

TEST_CASE("a comment is one line whatever its text", "[syntax]") {
    CHECK(syntax::comment("plain /etc/eks-node/node.toml.d/10-a.toml") == "plain /etc/eks-node/node.toml.d/10-a.toml");
    CHECK(syntax::comment("a\nb\r\tc") == "a\\nb\\r\\tc");
    CHECK(syntax::comment("C:\\") == "C:\\\\");  // no line ends in a backslash
    CHECK(syntax::comment("\x1b[31m\x7f") == "\\x1b[31m\\x7f");
    CHECK(syntax::comment("\xff") == "\\xff");                                // not UTF-8
    CHECK(syntax::comment("\xc2\x85 \xe2\x80\xa8") == "\\xc2\\x85 \\u2028");  // NEL, LINE SEPARATOR
    CHECK(syntax::comment("100% é") == "100% é");
    // what YAML refuses even in a comment (found by fuzzing, env-yaml-writer)
    CHECK(syntax::comment("\xef\xbb\xbf \xef\xbf\xbe \xef\xbf\xbf") == "\\ufeff \\ufffe \\uffff");
    std::vector<json> docs =
        format::yaml_documents("# " + syntax::comment("\xef\xbf\xbe\n\xe2\x80\xa8x: 1") + "\nk: 2\n", "test");
    CHECK(docs == std::vector<json>{json{{"k", 2}}});
}

TEST_CASE("a unit-file value reads back as written, or is refused", "[syntax]") {
    CHECK(unit::value("fill 90% of it") == "fill 90%% of it");
    CHECK(unit::value("a\\b \"q\" $HOME") == "a\\b \"q\" $HOME");
    for (const char* bad : {"a\nb", "a\rb", "tab\there", "C:\\", " lead", "trail ", "\xff"}) {
        INFO(bad);
        CHECK_FALSE(unit::value_problem(bad).empty());
        CHECK_THROWS_AS(unit::value(bad), syntax::Unwritable);
    }
    CHECK_THAT(unit::value_problem("C:\\"), Catch::Contains("backslash"));

    systemd_model::UnitFile u =
        systemd_model::parse("[Unit]\nDescription=" + unit::value("50% \"done\" \\o/") + "\nSourcePath=/x\n");
    CHECK(systemd_model::without_specifiers(u.values("Unit", "Description").at(0)) == "50% \"done\" \\o/");
    CHECK(u.values("Unit", "SourcePath") == std::vector<std::string>{"/x"});
}

TEST_CASE("unit-file paths are absolute, without . or .., a list without blanks", "[syntax]") {
    CHECK(unit::path("/etc/eks-node/node.toml.d/90-100%n a\\b.toml") ==
          "/etc/eks-node/node.toml.d/90-100%%n a\\b.toml");
    for (const char* bad : {"", "relative", "/a/../b", "/a/./b", "/..", "/a\nb"}) {
        INFO(bad);
        CHECK_THROWS_AS(unit::path(bad), syntax::Unwritable);
    }
    CHECK(unit::paths({"/var/lib/kubelet", "/mnt/100%"}) == "/var/lib/kubelet /mnt/100%%");
    CHECK_THROWS_AS(unit::paths({"/a b"}), syntax::Unwritable);
}

TEST_CASE("an ExecStart= command reads back as its words", "[syntax]") {
    const std::vector<std::string> words = {
        "/opt/my tool/run", "--msg=\"hi\" $HOME ${X} %n 100%", "back\\slash", "", "'single'", ";"};
    std::string line = unit::exec(words);
    systemd_model::UnitFile u = systemd_model::parse("[Service]\nExecStart=" + line + "\n");
    auto resolved = systemd_model::without_specifiers(u.values("Service", "ExecStart").at(0));
    REQUIRE(resolved);
    CHECK(systemd_model::exec_words(*resolved) == words);
    CHECK_THROWS_AS(unit::exec({}), syntax::Unwritable);
    CHECK_THROWS_AS(unit::exec({"-/bin/true"}), syntax::Unwritable);  // a prefix, not a path
    CHECK_THROWS_AS(unit::exec({"/bin/echo", "a\nb"}), syntax::Unwritable);
}

TEST_CASE("an environment file gives systemd back each value", "[syntax]") {
    const std::vector<std::string> values = {"plain",       "--flag=a --other=b", " padded ", "\"quoted\"", "'single'",
                                             "back\\slash", "line\nbreak",        "cr\rhere", "$HOME `id`", "",
                                             "#not"};
    std::string file = "# a comment ending in a backslash: " + syntax::comment("C:\\") + "\n";
    for (size_t i = 0; i < values.size(); ++i) file += syntax::env::assignment(fmt::format("V{}", i), values[i]);
    auto vars = systemd_model::env_file(file);
    REQUIRE(vars.size() == values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        INFO(values[i]);
        CHECK(vars[i].first == fmt::format("V{}", i));
        CHECK(vars[i].second.value_or("") == values[i]);
    }
    CHECK(syntax::env::value("--node-ip=10.0.0.1") == "--node-ip=10.0.0.1");  // bare, as nodeadm writes it
    CHECK_THROWS_AS(syntax::env::assignment("1BAD", "x"), syntax::Unwritable);
    CHECK_THROWS_AS(syntax::env::value("\xff"), syntax::Unwritable);
}

TEST_CASE("a YAML string stays the string, whatever YAML would type or break", "[syntax]") {
    for (std::string s : {"yes", "null", "0755", "1e3", "~", "- a", "a: b", "#c", "\"q\" \\ 'p'", "line\nbreak",
                          "\x7f del", "\xc2\x85 nel", "\xe2\x80\xa8 ls", "\xef\xbb\xbf bom", "tab\t", ""}) {
        INFO(s);
        std::vector<json> docs = format::yaml_documents("k: " + syntax::yaml::string(s) + "\n", "test");
        REQUIRE(docs.size() == 1);
        CHECK(docs[0] == json{{"k", s}});
    }
    CHECK_THROWS_AS(syntax::yaml::string("\xff"), syntax::Unwritable);
}

TEST_CASE("a unit file reads as its settings, section by section", "[syntax]") {
    const std::vector<unit::Setting> s = unit::read(
        "# a comment\n"
        "[Unit]\r\n"
        "Wants = a.service b.service \n"
        "; another\n"
        "\n"
        "[Service]\n"
        "ExecStart=-/usr/bin/x \\\n"
        "  --flag\n"
        "no equals sign here\n"
        "[Install\n"
        "WantedBy=multi-user.target\n"
        "ExecStop=/bin/dropped \\");
    REQUIRE(s.size() == 3);
    CHECK((s[0].section == "Unit" && s[0].key == "Wants" && s[0].value == "a.service b.service"));
    CHECK((s[1].section == "Service" && s[1].key == "ExecStart" && s[1].value == "-/usr/bin/x  --flag"));
    // a header without its closing bracket names no section a reader asks for
    CHECK((s[2].section == "[Install" && s[2].key == "WantedBy"));
}

TEST_CASE("the model of systemd splits lines as read_line() does", "[syntax]") {
    using V = std::vector<std::string>;
    // "\n", "\r", "\r\n" and NUL each end a line; an empty line is a line; text after the last break is one
    CHECK(systemd_model::lines(std::string_view("a\nb\rc\r\nd\0e\n\nf", 13)) == V{"a", "b", "c", "d", "e", "", "f"});
    CHECK(systemd_model::lines("\r\r\n\n") == V{"", "", ""});
    CHECK(systemd_model::lines("x\n") == V{"x"});
    CHECK(systemd_model::lines("").empty());
}
