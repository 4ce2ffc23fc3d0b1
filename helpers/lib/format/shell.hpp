// SPDX-License-Identifier: Apache-2.0
// A static reader of POSIX shell scripts: finds the runs of one command and the
// files the script writes from here-documents, without running anything.
//
// User data may be a shell script (AL2's way: it calls /etc/eks/bootstrap.sh).
// eks-node reads its configuration before cloud-init runs the script, so the
// script is read, never run: shell words, quotes, escapes, `\` continuations,
// comments, command separators, redirections and here-documents, NAME=value
// assignments (also after export, readonly, declare, local) and $NAME /
// ${NAME} / ${NAME:-word} expansion with field splitting, and which variables
// are exported (export, declare -x, set -a, NAME=value before a command).
// Control flow is not followed: assignments apply in script order. A word that needs something run
// ($(...), `...`, $((...)), $1, a variable the script does not set) is kept
// with the reason it cannot be known; whether that matters is the caller's
// decision. This reader knows nothing of what the command's arguments mean.
//
// Owner area: helpers/lib/format/.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eksnode::format::shell {

// One word of a command after quote removal, expansion and field splitting.
struct Word {
    std::string value;
    std::string unresolved;  // why the value is not known without running the script; empty if it is
    std::string raw;         // as written in the script, for messages
};

// A watched variable (Watch::variables) as a command sees it.
struct Variable {
    std::string value;
    std::string unresolved;  // why the value is not known ("is set on line 3: $(...) is ..."); empty if it is
    int line = 0;            // of the assignment that set it
    std::string absent;      // why it is not in the command's environment ("not exported"); empty if it is
};

// One run of the command looked for, with the words after it.
struct Call {
    int line = 0;  // where the command starts
    int seq = 0;   // its place among all commands of the script
    std::vector<Word> args;
    // The watched variables set at the call, exported or not; a NAME=value
    // before the command (also after sudo or env) is in its environment.
    std::map<std::string, Variable> variables;
};

// A command that names a watched path (Watch::paths) as a word ("sed -i ...
// PATH", "of=PATH" too) or as the target of a redirection ("> PATH"). The
// run of the command looked for itself is a Call, not a Mention.
struct Mention {
    int line = 0;
    int seq = 0;
    std::string path;
    std::vector<Word> words;             // from the command's name on: assignments, sudo, env and the like left out
    std::vector<std::string> redirects;  // the operators (">", ">>", ...) of redirections to the path
};

// What the caller wants followed beside the command's runs.
struct Watch {
    std::vector<std::string> variables;
    std::vector<std::string> paths;
};

// A here-document copied into a file: `cat > PATH <<EOF`, `cat <<EOF >> PATH`,
// `tee [-a] PATH <<EOF`.
struct FileWrite {
    int seq = 0;  // the writing command's place among all commands
    std::string path;
    std::string content;
    std::string unresolved;  // why the content is not known; empty if it is
    bool append = false;
};

struct Script {
    std::vector<Call> calls;  // in script order
    std::vector<FileWrite> writes;
    std::vector<Mention> mentions;  // in script order
};

// Reads `text` and collects every run of `command` (matched as written, also
// after prefixes such as exec, sudo, env, bash, `if`), and every here-document
// written to a file. Throws ConfigError(label, "", "line N: problem") for
// syntax it cannot read past, or expansions beyond limits::script_value_bytes
// (one word, variable or here-document) or limits::script_expansion_bytes (all
// expansions and here-document copies together): expansion makes much text of
// little, so both are capped before memory runs out (the copies of watched
// variables and words a Call or Mention keeps count too).
Script read(std::string_view text, std::string_view command, const std::string& label, const Watch& watch = {});

// The content of `path` as the script's here-documents left it just before
// `call`. nullopt if that is unknown (not written, written from an unresolved
// here-document, or grown beyond limits::script_value_bytes); `why` then says why.
std::optional<std::string> file_before(const Script& script, const Call& call, const std::string& path,
                                       std::string& why);

}  // namespace eksnode::format::shell
