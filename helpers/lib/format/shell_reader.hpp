// SPDX-License-Identifier: Apache-2.0
// The static shell reader's one class (format/shell.hpp's read()): shell.cpp
// reads the text (lines, words, quotes, redirections, here-document bodies),
// shell_expand.cpp gives it meaning (expansions, assignments and the
// environment, the watched command's calls, the files here-documents write).
// Internal to the reader.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "format/shell.hpp"
#include "format/shell_words.hpp"

namespace eksnode::format::shell::detail {

inline constexpr std::string_view command_substitution = "is a command substitution, which eks-node does not run";

class ScriptReader {
public:
    ScriptReader(std::string_view script, std::string_view command, const std::string& label, const Watch& watch)
        : s_(script), command_(command), label_(label), watch_(watch) {}

    Script read();

private:
    [[noreturn]] void syntax(const std::string& problem) const;

    char at(size_t k) const { return k < s_.size() ? s_[k] : '\0'; }

    // One line of commands, then the bodies of its here-documents.
    void read_line();

    void skip_blanks();

    void read_redirect(Command& cmd);

    // "<(list)" or ">(list)" at i_ (bash): a /dev/fd/N path, known only when
    // the script runs. AWS's documented user-data logging line redirects to
    // one: exec > >(tee /var/log/user-data.log|logger -t user-data -s 2>/dev/console) 2>&1
    RawWord read_process_substitution();

    RawWord read_word();

    void read_double_quoted(RawWord& w);

    void skip_backticks();

    // From the "(" at i_ to its matching ")", quotes respected.
    void skip_parens(std::string_view what = "$(...)");

    // At a '$'.
    void expand(RawWord& w, bool quoted);

    // `fallback`: the word of ${NAME-word} (second: ":-", also for an empty value).
    void substitute(RawWord& w, const std::string& name, bool quoted,
                    const std::optional<std::pair<std::string, bool>>& fallback);

    // Expansion makes much text of little: ten lines of A=$A$A make A a
    // thousand times longer. So one word, variable or here-document may
    // grow to limits::script_value_bytes, and all expansions and copies of
    // here-documents together to limits::script_expansion_bytes. Called
    // before `added` bytes join `size` bytes, on `line` of the script.
    void expanding(size_t size, size_t added, int line);

    std::vector<RawWord> split(const RawWord& w);

    static std::string name_of(const RawWord& w) { return w.text.substr(0, w.text.find('=')); }

    void assign(const RawWord& w, int line);

    struct Saved {
        std::string name;
        std::optional<Var> var;
        bool exported;
    };

    void save(std::vector<Saved>& saved, const RawWord& w);

    void restore(std::vector<Saved>& saved);

    static bool is_name(std::string_view s);

    // export, declare, typeset, local, readonly at ws[k]: assignments, and the
    // export attribute (export NAME, export -n NAME, declare -x, declare +x).
    void declare(const std::vector<RawWord>& ws, size_t k, int line);

    // set -a / set -o allexport (and + to end it); the rest of set's options
    // change nothing read here.
    void set_options(const std::vector<RawWord>& ws, size_t k);

    // What happens to the environment between the script and the command,
    // in order: an assignment (ws index) joins it, a reset empties it.
    struct EnvStep {
        size_t assignment = std::string::npos;
        std::string reset;  // why the environment is emptied
    };

    // The watched variables as the command at `line` sees them.
    std::map<std::string, Variable> environment(const std::vector<RawWord>& ws, const std::vector<EnvStep>& steps,
                                                int line);

    // A command naming a watched path, from ws[k] (its name) on.
    void mention(const Command& cmd, size_t k);

    void run(const Command& cmd);

    struct Pending {
        size_t redirect;
        std::string delimiter;
        bool strip_tabs;
        bool expand;
    };

    void read_heredoc_bodies(std::vector<Command>& cmds);

    // An unquoted here-document delimiter: $NAME, ${NAME} and \ escapes.
    std::string expand_body(std::string_view body, std::string& unresolved, int line);

    // cat > PATH <<EOF / cat <<EOF >> PATH / tee [-a] PATH <<EOF
    void record_file_write(const Command& cmd);

    std::string_view s_;
    std::string_view command_;
    const std::string& label_;
    const Watch& watch_;
    size_t i_ = 0;
    int line_ = 1;
    int seq_ = 0;
    std::map<std::string, Var> vars_;
    std::set<std::string> exported_;  // names with the export attribute, set or not
    bool allexport_ = false;          // set -a
    size_t expanded_ = 0;             // bytes made by expansions and here-document copies
    std::vector<Pending> pending_;
    std::vector<FileWrite> writes_;
    std::vector<Call> calls_;
    std::vector<Mention> mentions_;
};

}  // namespace eksnode::format::shell::detail
