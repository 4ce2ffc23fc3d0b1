// SPDX-License-Identifier: Apache-2.0
// Values written into the text formats eks-node generates: systemd unit files
// and drop-ins, environment files, YAML, and the comment lines all of them
// (and TOML, sysctl.d) carry. One writer per syntax, used by every generator
// and renderer, so that no file name, path, description or origin is pasted
// into a file raw: a line break in one would start a line of its own (a
// setting, a section, a TOML key), and a trailing backslash would join the
// next line to it.
//
// Each writer either writes its value so that the format's own parser reads
// it back unchanged, or throws Unwritable saying why it cannot. The *_problem
// functions say the same ahead of time, for the checks that refuse such
// input where it enters (exit 6, naming the source). TOML values are written
// by format::json_to_toml (toml++), which quotes them; its comments come from
// comment() here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace eksnode::syntax {

// A value a writer cannot put into its format. Input is refused before it
// gets this far (the *_problem checks), so this is a broken hand-off: exit 1.
class Unwritable : public Error {
public:
    using Error::Error;
};

// `text` as it may follow "# " on one comment line of any format here: line
// breaks and other control characters, bytes that are not UTF-8, Unicode's
// own line separators and what YAML refuses even in a comment (U+FEFF,
// U+FFFE, U+FFFF) shown as C escapes ("\n", "\x1b", "\u2028"), and the
// backslash doubled, so the escapes are unambiguous and no line ends in a
// backslash (systemd's environment-file parser continues a comment that
// does). Never refuses: a comment only has to be read by a person.
std::string comment(std::string_view text);

// systemd unit files and drop-ins (systemd.syntax(7), systemd.unit(5)).
namespace unit {

// Why `value` cannot be a setting's value systemd reads back as written, or
// "" when it can: it must be UTF-8 without control characters (a line break
// ends the line, and systemd drops a line that is not UTF-8), without blanks
// around it (systemd strips them) and not end in a backslash (which joins the
// next line to it).
std::string value_problem(std::string_view value);
// `value` for a setting that resolves specifiers (nearly all do: Description=,
// SourcePath=, Where=, ExecStart=...): '%' doubled. Throws Unwritable.
std::string value(std::string_view value);

// value_problem(), and an absolute path without "." or ".." components.
std::string path_problem(std::string_view path);
// `path` for a path setting (SourcePath=, What=, Where=). Throws Unwritable.
std::string path(std::string_view path);
// Paths for a setting that takes a list split at blanks (RequiresMountsFor=):
// each as path(), none with a blank in it. Throws Unwritable.
std::string paths(const std::vector<std::string>& paths);

// Why `word` cannot be a word of an ExecStart= command ("" when it can):
// UTF-8 without control characters.
std::string exec_word_problem(std::string_view word);
// The command as an ExecStart= value: each word double-quoted, with '\' and
// '"' escaped and '%' and '$' doubled, so that systemd neither splits,
// unescapes, expands specifiers in nor substitutes variables into a word.
// The program (first word) must be an absolute path: a leading '-', '@', '+'
// or '!' would be read as one of systemd's prefixes. Throws Unwritable.
std::string exec(const std::vector<std::string>& words);

// The reading side, for units and drop-ins admins and packages write (`eks-node validate
// --image` reads what they name). One setting as the line reader sees it: its section's
// name ("Unit" for a "[Unit]" header; a header without its closing bracket is kept as
// written, so it names no section), its key and its value, both trimmed. A line ending in
// a backslash goes on in the next, joined with a space; blank lines and '#' or ';'
// comments between settings are skipped; a continuation the text ends in is dropped.
struct Setting {
    std::string section, key, value;
};
std::vector<Setting> read(std::string_view text);

}  // namespace unit

// Environment files as systemd's EnvironmentFile= reads them (systemd.exec(5)).
namespace env {

// [A-Za-z_][A-Za-z0-9_]*: what systemd accepts as a variable name.
bool valid_name(std::string_view name);
// A value read back unchanged: bare when that is exact (as nodeadm writes
// them, so `grep 'flag$'` works), else double-quoted with \ " ` $ escaped.
// Throws Unwritable for a NUL byte or bytes that are not UTF-8, which systemd
// drops the variable for.
std::string value(std::string_view value);
// "NAME=value\n". Throws Unwritable for a name systemd would not take.
std::string assignment(std::string_view name, std::string_view value);

}  // namespace env

// YAML (1.1, as libyaml and go-yaml v2 read it, and 1.2).
namespace yaml {

// `s` as a double-quoted scalar: always a string, never typed (no "yes",
// "null" or 0755 surprises); '"', '\' and everything YAML does not allow
// printed (control characters, DEL, C1, U+2028/U+2029 line separators, U+FEFF,
// U+FFFE/U+FFFF) escaped. Throws Unwritable for bytes that are not UTF-8.
std::string string(std::string_view s);

}  // namespace yaml

}  // namespace eksnode::syntax
