// SPDX-License-Identifier: Apache-2.0
// settings.hooks: what a declaration must be, how fragments merge into one
// hook, and the ExecStart= line that systemd splits back into the same words.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/support.hpp"
#include "core/error.hpp"
#include "core/jsonutil.hpp"
#include "input/hooks.hpp"

using namespace eksnode;
using namespace eksnode::input;

namespace {

std::string hooks_error_of(const test::Fragments& fragments) { return test::settings_error(fragments); }

// systemd's unquoting of one ExecStart= word (extract_first_word with
// EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) and its specifier and $ expansion, for
// the characters exec_line() escapes: an independent reading of the line.
std::vector<std::string> systemd_words(const std::string& line) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i == line.size()) break;
        REQUIRE(line[i] == '"');
        std::string w;
        for (++i; line[i] != '"'; ++i) {
            if (line[i] == '\\') w += line[++i];
            else if (line[i] == '%' || line[i] == '$') {
                REQUIRE(line[i + 1] == line[i]);  // a lone one would be a specifier or a variable
                w += line[i++];
            } else w += line[i];
        }
        ++i;
        words.push_back(w);
    }
    return words;
}

}  // namespace

TEST_CASE("a hook has defaults for everything but its command", "[config][hooks]") {
    Origins origins;
    json s = test::merged_settings({{"image", "[settings.hooks.a]\ncommand = [\"/bin/true\"]\n"}}, origins);
    std::vector<hooks::Hook> h = hooks::read(s["hooks"], [](const std::string&) { return "x"; });
    REQUIRE(h.size() == 1);
    CHECK(h[0].name == "a");
    CHECK(h[0].command == std::vector<std::string>{"/bin/true"});
    CHECK(h[0].stage == hooks::Stage::before_kubelet);
    CHECK(h[0].timeout == std::chrono::minutes(5));
    CHECK(h[0].essential);
    CHECK(hooks::unit_name(h[0].name) == "eks-node-hook@a.service");
}

TEST_CASE("an admin's fragment changes one key of an image's hook", "[config][hooks]") {
    Origins origins;
    json s = test::merged_settings(
        {{"/usr/lib/eks-node/node.toml.d/10-image.toml",
          "[settings.hooks.warm]\ncommand = [\"/usr/bin/warm\", \"--all\"]\n"
          "stage = \"after-join\"\ntimeout = \"90s\"\n"},
         {"/etc/eks-node/node.toml.d/90-admin.toml", "[settings.hooks.warm]\nessential = false\n"}},
        origins);
    std::vector<hooks::Hook> h = hooks::read(s["hooks"], [](const std::string&) { return "x"; });
    REQUIRE(h.size() == 1);
    CHECK(h[0].command == std::vector<std::string>{"/usr/bin/warm", "--all"});
    CHECK(h[0].stage == hooks::Stage::after_join);
    CHECK(h[0].timeout == std::chrono::seconds(90));
    CHECK_FALSE(h[0].essential);
}

TEST_CASE("bad hooks are exit 6 naming the hook, the key and the source", "[config][hooks]") {
    // only the merged table must have a command: the admin's fragment alone is fine
    CHECK(hooks_error_of({{"admin.toml", "[settings.hooks.x]\nessential = false\n"}}) ==
          "admin.toml: settings.hooks.x.command: required: the program to run and its arguments");
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"true\"]\n"}}) ==
          "u: settings.hooks.x.command[0]: \"true\" is not an absolute path (hooks run without a shell: name the "
          "program by its path)");
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = []\n"}}) ==
          "u: settings.hooks.x.command: required: the program to run and its arguments");
    CHECK(hooks_error_of({{"u", "[settings.hooks.\"a b\"]\ncommand = [\"/bin/true\"]\n"}})
              .find("settings.hooks.a b: \"a b\" is not a hook name") != std::string::npos);
    CHECK(hooks_error_of({{"u", "[settings.hooks.\"x@y\"]\ncommand = [\"/bin/true\"]\n"}}).find("is not a hook name") !=
          std::string::npos);
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/echo\", \"a\\nb\"]\n"}}) ==
          "u: settings.hooks.x.command[1]: a word with a control character");
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\nstage = \"later\"\n"}})
              .find("settings.hooks.x.stage: \"later\" is not one of before-containerd, before-kubelet, after-join") !=
          std::string::npos);
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\ntimeout = \"1.5s\"\n"}})
              .find("settings.hooks.x.timeout: expected a duration") != std::string::npos);
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\nessential = \"yes\"\n"}})
              .find("settings.hooks.x.essential: expected a boolean") != std::string::npos);
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\nuser = \"nobody\"\n"}})
              .find("settings.hooks.x.user: unknown field") != std::string::npos);
    std::string many;
    for (size_t i = 0; i <= hooks::max_hooks; ++i)
        many += fmt::format("[settings.hooks.h{}]\ncommand = [\"/bin/true\"]\n", i);
    CHECK(hooks_error_of({{"u", many}}) ==
          fmt::format("u: settings.hooks: {} hooks, more than {}", hooks::max_hooks + 1, hooks::max_hooks));
}

TEST_CASE("a hook's environment: variable names, values never quoted in errors", "[config][hooks]") {
    Origins origins;
    json s = test::merged_settings({{"u",
                                     "[settings.hooks.x]\ncommand = [\"/bin/true\"]\n"
                                     "[settings.hooks.x.environment]\nAGENT_TOKEN = \"tok-123\"\nB = \"\"\n"}},
                                   origins);
    std::vector<hooks::Hook> h = hooks::read(s["hooks"], [](const std::string&) { return std::string("u"); });
    REQUIRE(h.size() == 1);
    CHECK(h[0].environment == std::map<std::string, std::string>{{"AGENT_TOKEN", "tok-123"}, {"B", ""}});
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\nenvironment = { \"1X\" = \"v\" }\n"}})
              .find("\"1X\" is not an environment variable name") != std::string::npos);
    std::string bad = hooks_error_of(
        {{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\nenvironment = { T = \"sec\\nret-PLANTED\" }\n"}});
    CHECK(bad.find("settings.hooks.x.environment.T") != std::string::npos);
    CHECK(bad.find("PLANTED") == std::string::npos);
    CHECK(hooks_error_of({{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\nenvironment = { T = 1 }\n"}})
              .find("settings.hooks.x.environment.T") != std::string::npos);
}

TEST_CASE("the command file gives eks-node-hook the words and variables as declared", "[config][hooks]") {
    hooks::Hook h;
    h.name = "x";
    h.command = {"/opt/my tool/run", "--msg=\"hi\" $HOME ${X} %n 100%", "back\\slash", "", "'single'"};
    h.environment = {{"TOKEN", "t%$\"'"}, {"A", "1"}};
    const std::string text = hooks::command_file_text(h);
    CHECK(text == hooks::command_file_text(h));  // deterministic: the generator's output is compared
    hooks::Command c = hooks::parse_command_file(text, "f");
    CHECK(c.argv == h.command);
    CHECK(c.environment == h.environment);
    // what read() refuses, eks-node-hook refuses too, naming the position only
    auto problem = [](std::string_view t) {
        try {
            hooks::parse_command_file(t, "f");
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(problem("{\"command\": []}") == "f: \"command\" must be a list of 1 to 256 words");
    CHECK(problem("{\"command\": [\"true\"]}").starts_with("f: command[0]: "));
    CHECK(problem("{\"command\": [\"/bin/x\", \"PLANTED\\n\"]}") == "f: command[1] is not a word a hook takes");
    CHECK(problem("{\"command\": [\"/bin/x\"], \"environment\": {\"A B\": \"v\"}}") ==
          "f: environment: \"A B\" is not a variable a hook takes");
    CHECK(problem("not json") == "f: not a hook's command file (JSON)");
}

TEST_CASE("the ExecStart= line gives systemd back the words as written", "[config][hooks]") {
    const std::vector<std::string> words = {"/opt/my tool/run", "--msg=\"hi\" $HOME ${X} %n 100%", "back\\slash", "",
                                            "'single'"};
    std::string line = hooks::exec_line(words);
    CHECK(line == R"("/opt/my tool/run" "--msg=\"hi\" $$HOME $${X} %%n 100%%" "back\\slash" "" "'single'")");
    CHECK(systemd_words(line) == words);
}

// issue 34, item 5: Description= takes its value verbatim, so what it cannot
// hold is refused where the hook is declared (exit 6), not mangled later.
TEST_CASE("a hook's description must be one line systemd reads back as written", "[config][hooks][syntax]") {
    auto with_description = [](const std::string& toml_string) {
        return hooks_error_of(
            {{"u", "[settings.hooks.x]\ncommand = [\"/bin/true\"]\ndescription = " + toml_string + "\n"}});
    };
    // a trailing backslash would join the next line of the drop-in to it
    CHECK_THAT(with_description("'C:\\'"),
               Catch::Contains("settings.hooks.x.description") && Catch::Contains("ends in a backslash"));
    // systemd strips the blanks around a value
    CHECK_THAT(with_description("'padded '"), Catch::Contains("settings.hooks.x.description"));
    CHECK(with_description("'100% a\\\\b \"quoted\"'") == "accepted");
}
