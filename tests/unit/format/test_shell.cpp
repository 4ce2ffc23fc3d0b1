// SPDX-License-Identifier: Apache-2.0
// The static shell reader (format/shell.hpp): words, quotes, variables,
// here-documents, and the limits that keep expansion from eating the node.
// The command looked for is a made-up one: the reader must not care which.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "fixtures.hpp"
#include "format/shell.hpp"

using namespace eksnode;
using namespace eksnode::format;
using eksnode::test::repeat;

namespace {

constexpr std::string_view command = "/usr/local/bin/join-node";
const std::string endpoint = "https://ABCD.gr7.us-west-2.eks.amazonaws.com";

format::shell::Script read_script(std::string_view script) { return format::shell::read(script, command, "user data"); }

// The words of the script's one call, every one of them resolved.
std::vector<std::string> words_of(std::string_view script) {
    format::shell::Script s = read_script(script);
    REQUIRE(s.calls.size() == 1);
    std::vector<std::string> words;
    for (const format::shell::Word& w : s.calls.front().args) {
        INFO(w.raw);
        CHECK(w.unresolved.empty());
        words.push_back(w.value);
    }
    return words;
}

// The error reading a script gives: "field: problem".
std::string shell_error_of(std::string_view script) {
    try {
        read_script(script);
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "no error";
}

}  // namespace

TEST_CASE("shell words: quotes, escapes, continuations, comments, CRLF", "[config][shell]") {
    struct Case {
        std::string script;
        std::vector<std::string> words;
        int line;
    };
    auto c = GENERATE_REF(values<Case>({
        {"#!/bin/bash\n/usr/local/bin/join-node c --endpoint " + endpoint + " --extra '--labels=a=b,c=d -v 2'\n",
         {"c", "--endpoint", endpoint, "--extra", "--labels=a=b,c=d -v 2"},
         2},
        {"#!/bin/bash\n\n/usr/local/bin/join-node \\\n  c \\\n  --endpoint=\"" + endpoint +
             "\" \\\n  --extra=\"--labels=a=b,c=d --v=2\"\n",
         {"c", "--endpoint=" + endpoint, "--extra=--labels=a=b,c=d --v=2"},
         3},
        {"#!/bin/bash\nset -ex\nexec /usr/local/bin/join-node c --extra --labels=a=b,c=d\\ --v=2 # done\n",
         {"c", "--extra", "--labels=a=b,c=d --v=2"},
         3},
        {"#!/bin/bash\r\n/usr/local/bin/join-node c --extra \"--labels a=b,\\$c \\d\"\r\n",
         {"c", "--extra", "--labels a=b,$c \\d"},
         2},
        {"#!/bin/bash\nif true; then /usr/local/bin/join-node c '" + endpoint + "' \"\" && echo joined; fi\n",
         {"c", endpoint, ""},
         2},
    }));
    INFO(c.script);
    CHECK(words_of(c.script) == c.words);
    CHECK(read_script(c.script).calls.front().line == c.line);
}

TEST_CASE("the command is found after prefixes and assignments, and only as a command", "[config][shell]") {
    for (std::string_view prefix :
         {"", "sudo ", "exec ", "nohup ", "bash ", "/bin/sh -x ", "env -i ", "X=1 ", "! ", "{ ", "time "}) {
        std::string script = "#!/bin/sh\n" + std::string(prefix) + "/usr/local/bin/join-node a\n";
        INFO(script);
        CHECK(words_of(script) == std::vector<std::string>{"a"});
    }
    for (std::string_view script :
         {"#!/bin/bash\necho hi\n", "#!/bin/sh\n# /usr/local/bin/join-node c\n",
          "#!/bin/sh\necho /usr/local/bin/join-node c\n", "#!/bin/sh\ncat <<EOF\n/usr/local/bin/join-node c\nEOF\n",
          "#!/bin/sh\n/usr/local/bin/join-node.sh c\n", "#!/bin/sh\n/etc/eks/bootstrap.sh c\n"}) {
        INFO(script);
        CHECK(read_script(script).calls.empty());
    }
    format::shell::Script twice =
        read_script("#!/bin/sh\n/usr/local/bin/join-node a\necho\n/usr/local/bin/join-node b; true\n");
    REQUIRE(twice.calls.size() == 2);
    CHECK(twice.calls[0].line == 2);
    CHECK(twice.calls[1].line == 4);
    CHECK(twice.calls[0].seq < twice.calls[1].seq);
}

TEST_CASE("variables assigned earlier in the script are expanded", "[config][shell]") {
    struct Case {
        std::string script;
        std::vector<std::string> words;
    };
    auto c = GENERATE_REF(values<Case>({
        {"A=x\nB=\"y z\"\n/usr/local/bin/join-node $A \"$B\" ${A} \"${A}1\"", {"x", "y z", "x", "x1"}},
        // unquoted expansion splits into fields, as the shell does; an empty one vanishes
        {"B=\"y  z\tw\"\nE=\n/usr/local/bin/join-node $B $E \"$E\"", {"y", "z", "w", ""}},
        {"export C=prod D=\"q r\"\nreadonly F=f; local G=g\n/usr/local/bin/join-node \"$C\" $D $F $G",
         {"prod", "q", "r", "f", "g"}},
        // ${NAME:-word} also for an empty value, ${NAME-word} only for an unset one
        {"E=\n/usr/local/bin/join-node ${E:-f} ${E-g}x ${U-u} ${U:-v w}", {"f", "x", "u", "v", "w"}},
        // a later assignment wins over an earlier unresolvable one; A is set for B
        {"EP=$(curl -s http://example.com)\nEP=" + endpoint + "\nA=p B=$A\n/usr/local/bin/join-node $B $EP",
         {"p", endpoint}},
        // "$" before no name is literal
        {"/usr/local/bin/join-node a$ \"$\" $%", {"a$", "$", "$%"}},
    }));
    INFO(c.script);
    CHECK(words_of("#!/bin/bash\n" + c.script + "\n") == c.words);
}

TEST_CASE("a word that needs the script run says why", "[config][shell]") {
    struct Case {
        std::string script, raw, why;
    };
    auto c = GENERATE_REF(values<Case>({
        {"/usr/local/bin/join-node $(cat /tmp/ep)", "$(cat /tmp/ep)", "$(...) is a command substitution"},
        {"/usr/local/bin/join-node `cat /tmp/ep`", "`cat /tmp/ep`", "`...` is a command substitution"},
        {"EP=`cat /tmp/ep`\n/usr/local/bin/join-node \"$EP\"", "\"$EP\"",
         "$EP is set on line 2: `...` is a command substitution"},
        {"/usr/local/bin/join-node $CA", "$CA", "$CA is not set by the script before this line"},
        {"/usr/local/bin/join-node $1", "$1", "$1 is a positional or special parameter"},
        {"/usr/local/bin/join-node ${@}", "${@}", "${@} is a positional or special parameter"},
        {"/usr/local/bin/join-node $((1+2))", "$((1+2))", "$((...)) is arithmetic"},
        {"A=a\n/usr/local/bin/join-node ${A#x}", "${A#x}", "${A#x} uses an operator eks-node does not evaluate"},
        {"/usr/local/bin/join-node ${A:-$B}", "${A:-$B}", "${A:-$B} has a default eks-node does not evaluate"},
        {"/usr/local/bin/join-node <(cat /tmp/ca)", "<(cat /tmp/ca)", "<(...) is a process substitution"},
    }));
    INFO(c.script);
    format::shell::Script s = read_script("#!/bin/bash\n" + c.script + "\n");
    REQUIRE(s.calls.size() == 1);
    REQUIRE(s.calls.front().args.size() == 1);
    const format::shell::Word& w = s.calls.front().args.front();
    CHECK(w.raw == c.raw);
    CHECK_THAT(w.unresolved, Catch::StartsWith(c.why));
}

// The line is where reading stopped: for an unterminated quote or substitution,
// the end of the script.
TEST_CASE("syntax the reader cannot read past is an error naming the line", "[config][shell]") {
    struct Case {
        std::string script, error;
    };
    auto c = GENERATE_REF(values<Case>({
        {"/usr/local/bin/join-node 'c", ": line 2: unterminated single quote"},
        {"echo \"a\n\nb", ": line 5: unterminated double quote"},
        {"echo $(date", ": line 3: unterminated $(...)"},
        {"echo ${A", ": line 2: unterminated ${...}"},
        {"echo `date", ": line 3: unterminated `...`"},
        {"true\necho >", ": line 3: > without a target"},
        {"exec > >(tee /var/log/x", ": line 3: unterminated >(...)"},
    }));
    INFO(c.script);
    CHECK(shell_error_of("#!/bin/bash\n" + c.script + "\n") == c.error);
    try {
        read_script("#!/bin/bash\n" + c.script + "\n");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "user data");
    }
}

TEST_CASE("process substitutions are words the reader steps over", "[config][shell]") {
    // The logging line AWS documents for user data: a redirection to a
    // process substitution, on a command that is not the call.
    const std::string logging = "exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1\n";
    CHECK(words_of("#!/bin/bash\nset -ex\n" + logging + "/usr/local/bin/join-node c --x y\n") ==
          std::vector<std::string>{"c", "--x", "y"});
    // as arguments of another command
    CHECK(words_of("diff <(echo a) <(echo b)\n/usr/local/bin/join-node c\n") == std::vector<std::string>{"c"});
    // the parenthesis inside it does not end the line's command early
    CHECK(words_of("exec 2> >(logger -t x)\n/usr/local/bin/join-node \"c d\"\n") == std::vector<std::string>{"c d"});
}

TEST_CASE("files written from here-documents before a call", "[config][shell]") {
    const std::string head = "#!/bin/bash\nREG=/etc/containerd/certs.d\n";
    const std::string call = "/usr/local/bin/join-node c\n";
    const std::string expected = "[registry]\nconfig_path = \"/etc/containerd/certs.d\"\n";
    auto content_of = [](const std::string& script, const std::string& path, std::string& why) {
        format::shell::Script s = read_script(script);
        REQUIRE(s.calls.size() == 1);
        return format::shell::file_before(s, s.calls.front(), path, why);
    };
    auto body = GENERATE_REF(values<std::string>({
        "cat > /etc/c.toml <<'EOF'\n[registry]\nconfig_path = \"/etc/containerd/certs.d\"\nEOF\n",
        "cat <<EOF >/etc/c.toml\n[registry]\nconfig_path = \"$REG\"\nEOF\n",
        "mkdir -p /etc; tee /etc/c.toml >/dev/null <<-EOF\n\t[registry]\n\tconfig_path = \"${REG}\"\n\tEOF\n",
        "cat > /etc/c.toml <<EOF\n[registry]\nEOF\ncat >> /etc/c.toml <<EOF\nconfig_path = \"\\\n$REG\"\nEOF\n",
        "sudo tee -a /etc/other /etc/c.toml <<\"EOF\"\n[registry]\nconfig_path = \"/etc/containerd/certs.d\"\nEOF\n",
    }));
    INFO(body);
    std::string why;
    CHECK(content_of(head + body + call, "/etc/c.toml", why) == expected);

    why.clear();
    CHECK_FALSE(content_of(head + call + body, "/etc/c.toml", why));
    CHECK(why ==
          "/etc/c.toml is not written by the script before the call (cat > /etc/c.toml <<EOF ... EOF); "
          "user data is read before the script runs");
    why.clear();
    CHECK_FALSE(content_of(head + body + call, "/etc/c.tom", why));
    CHECK_THAT(why, Catch::StartsWith("/etc/c.tom is not written"));
}

TEST_CASE("a here-document's expansion is kept literal when quoted, refused when it needs running", "[config][shell]") {
    format::shell::Script s = read_script(
        "#!/bin/bash\ncat > /quoted <<'EOF'\n$HOME `x`\nEOF\ncat > /run <<EOF\n$(date)\nEOF\n"
        "cat > /unset <<EOF\n$NOPE\nEOF\n/usr/local/bin/join-node\n");
    REQUIRE(s.calls.size() == 1);
    std::string why;
    CHECK(format::shell::file_before(s, s.calls.front(), "/quoted", why) == "$HOME `x`\n");
    CHECK_FALSE(format::shell::file_before(s, s.calls.front(), "/run", why));
    CHECK(why == "the here-document writing /run has a command substitution, which eks-node does not run");
    CHECK_FALSE(format::shell::file_before(s, s.calls.front(), "/unset", why));
    CHECK(why == "the here-document writing /unset uses $NOPE, which is not known without running the script");
}

namespace {

// Lines 2-16 of a script: A holds 256 KiB (16 bytes doubled 14 times).
const std::string a_256k = "#!/bin/bash\nA=0123456789abcdef\n" + repeat("A=$A$A\n", 14);

}  // namespace

// Ten lines of A=$A$A make A a thousand times longer; forty made the reader
// run until it was killed (2.8 GB after a minute).
TEST_CASE("a script's expansions are capped: 1 MiB a value, 4 MiB in all", "[config][shell]") {
    const std::string one_value = "a word, variable or here-document expands to more than 1 MiB";
    const std::string in_all = "expansions and here-documents make more than 4 MiB in all";
    const std::string call = "/usr/local/bin/join-node c --extra \"--labels=$A\"\n";
    // 512 KiB, then "A=" and 1 MiB on line 18
    CHECK(shell_error_of(a_256k + repeat("A=$A$A\n", 26) + call) == ": line 18: " + one_value);
    CHECK(shell_error_of(a_256k + "echo $A$A$A$A$A\n" + call) == ": line 17: " + one_value);
    CHECK(shell_error_of(a_256k + "cat > /f <<EOF\n$A$A$A$A$A\nEOF\n" + call) == ": line 17: " + one_value);
    // 15 more expansions of A exceed 4 MiB with the 512 KiB made by the doubling
    CHECK(shell_error_of(a_256k + repeat("B=$A$A$A\n", 5) + call) == ": line 21: " + in_all);
    CHECK(shell_error_of(a_256k + repeat("echo ${A:-x}\n", 15) + call) == ": line 31: " + in_all);
    // each file tee writes is a copy of the here-document
    CHECK(shell_error_of(a_256k + "tee" + repeat(" /f", 20) + " <<EOF\n$A\nEOF\n" + call) == ": line 17: " + in_all);
    // appending here-documents grows one file past what one may hold
    format::shell::Script appended =
        read_script(a_256k + repeat("cat <<EOF >> /etc/c.toml\n$A\nEOF\n", 5) + "/usr/local/bin/join-node\n");
    REQUIRE(appended.calls.size() == 1);
    std::string why;
    CHECK_FALSE(format::shell::file_before(appended, appended.calls.front(), "/etc/c.toml", why));
    CHECK(why == "the here-documents writing /etc/c.toml make more than 1 MiB");
    // within the limits all is as before: 256 KiB in 4 places and a 512 KiB value
    CHECK(words_of(a_256k + "B=$A$A\nC=$A\necho $A\n/usr/local/bin/join-node c\n") == std::vector<std::string>{"c"});
}

// Each of these took minutes or many gigabytes: every word of a command
// compared with all before it, every here-document of a command counted
// again for each body.
//
// No clock here (a CPU-time bound fails on a loaded machine): the inputs are
// sized so that the linear reading takes about a second and a quadratic one
// several minutes each, past the unit suite's meson timeout (300 s), which
// then fails the run.
TEST_CASE("long scripts are read in time linear in their length", "[config][shell]") {
    const std::string scripts[] = {
        "#!/bin/bash\n" + repeat("a=1 ", 400000) + "\n/usr/local/bin/join-node c\n",
        "#!/bin/bash\ncat" + repeat(" <<A", 300000) + "\n" + repeat("A\n", 300000) + "/usr/local/bin/join-node c\n",
    };
    for (const std::string& script : scripts) {
        CHECK(words_of(script) == std::vector<std::string>{"c"});
    }
}

namespace {

// The watched variables as the script's one call sees them: "NAME=value"
// for those in its environment, "NAME absent: why" for the others.
std::vector<std::string> environment_of(std::string_view script) {
    format::shell::Watch watch{{"A", "B", "C"}, {}};
    format::shell::Script s = format::shell::read(script, command, "user data", watch);
    REQUIRE(s.calls.size() == 1);
    std::vector<std::string> out;
    for (const auto& [name, v] : s.calls.front().variables)
        out.push_back(v.absent.empty() ? name + "=" + (v.unresolved.empty() ? v.value : "?")
                                       : name + " absent: " + v.absent);
    return out;
}

}  // namespace

TEST_CASE("which variables reach the command's environment", "[config][shell][environment]") {
    struct Case {
        std::string script;
        std::vector<std::string> environment;
    };
    const std::string call = "/usr/local/bin/join-node x\n";
    auto c = GENERATE_REF(values<Case>({
        {"export A=1\nB=2\n" + call, {"A=1", "B absent: not exported"}},
        {"A=1\nexport A\nA=3\n" + call, {"A=3"}},
        {"export A\nA=4\n" + call, {"A=4"}},
        {"declare -x A=1; typeset -rx B=2; declare C=3\n" + call, {"A=1", "B=2", "C absent: not exported"}},
        {"export A=1 B=2\nexport -n A\ndeclare +x B\n" + call, {"A absent: not exported", "B absent: not exported"}},
        {"set -a\nA=1\nset +a\nB=2\n" + call, {"A=1", "B absent: not exported"}},
        {"set -o allexport\nA=1\n" + call, {"A=1"}},
        {"export A=1 B=2\nunset A\n" + call, {"B=2"}},
        {"export A=$(curl -s x)\n" + call, {"A=?"}},
        // a NAME=value before a command is in that command's environment only
        {"A=1 B=$A true\n" + call, {}},
        {"A=old\nA=new C=3 " + call, {"A=new", "C=3"}},
        // sudo resets the environment; what is given to sudo itself stays
        {"export A=1\nsudo B=2 " + call, {"A absent: sudo resets the environment", "B=2"}},
        {"export A=1\nenv -i B=2 " + call, {"A absent: env -i empties the environment", "B=2"}},
        {"export A=1\nenv B=2 " + call, {"A=1", "B=2"}},
    }));
    INFO(c.script);
    CHECK(environment_of("#!/bin/bash\n" + c.script) == c.environment);
}

TEST_CASE("an assignment before a command lasts for that command only", "[config][shell][environment]") {
    // as the shell runs it: A is "old" again after the first command, and the
    // command's own words expand the value from before it
    CHECK(words_of("#!/bin/bash\nA=old\nA=new true\n/usr/local/bin/join-node $A\n") == std::vector<std::string>{"old"});
    CHECK(words_of("#!/bin/bash\nA=old\nA=new /usr/local/bin/join-node $A\n") == std::vector<std::string>{"old"});
    CHECK(words_of("#!/bin/bash\nA=1 B=2\n/usr/local/bin/join-node $A $B\n") == std::vector<std::string>{"1", "2"});
    CHECK(words_of("#!/bin/bash\nif true; then A=1; fi\n/usr/local/bin/join-node $A\n") ==
          std::vector<std::string>{"1"});
    // a prefixed assignment of an unset variable leaves it unset
    format::shell::Script s = read_script("#!/bin/bash\nU=1 true\n/usr/local/bin/join-node $U\n");
    REQUIRE(s.calls.size() == 1);
    CHECK_THAT(s.calls.front().args.at(0).unresolved, Catch::Contains("$U is not set by the script"));
}

TEST_CASE("commands naming a watched path are reported with their words", "[config][shell][environment]") {
    const std::string path = "/etc/watched.sh";
    format::shell::Watch watch{{}, {path}};
    format::shell::Script s = format::shell::read(
        "#!/bin/bash\nF=/etc/watched.sh\nsudo sed -i 's/a/b/' \"$F\"\necho hi > $F\ndd if=/dev/zero of=/etc/watched.sh\n"
        "/etc/watched.sh x\ncat /etc/other\n",
        command, "user data", watch);
    REQUIRE(s.mentions.size() == 4);
    CHECK(s.mentions[0].line == 3);
    CHECK(s.mentions[0].words.size() == 4);
    CHECK(s.mentions[0].words[0].value == "sed");
    CHECK(s.mentions[0].words[2].value == "s/a/b/");
    CHECK(s.mentions[1].words.at(0).value == "echo");
    CHECK(s.mentions[1].redirects == std::vector<std::string>{">"});
    CHECK(s.mentions[2].words.at(2).value == "of=/etc/watched.sh");
    CHECK(s.mentions[3].words.at(0).value == path);  // run, where another command is looked for
    // the path run as the command looked for is a call, not a mention
    CHECK(format::shell::read("#!/bin/sh\n/etc/watched.sh x\n", path, "user data", watch).mentions.empty());
}
