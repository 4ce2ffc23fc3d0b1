// SPDX-License-Identifier: Apache-2.0
// The unit-file writers of core/syntax.hpp (comment(), unit::value(),
// unit::path(), unit::paths(), unit::exec()), read back through systemd's
// rules (tests/unit/systemd_model.hpp): what a writer accepts reads back as
// itself and takes no line after it; it refuses exactly what its *_problem
// check names; a comment's escapes decode back to its text.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <vector>

#include "../unit/systemd_model.hpp"
#include "core/syntax.hpp"
#include "fuzz.hpp"

namespace {

using eksnode::syntax::Unwritable;
namespace unit = eksnode::syntax::unit;

// comment()'s escapes undone, written apart from it: \\ \n \t \r \xNN \uNNNN.
std::string decode_comment(std::string_view s) {
    std::string out;
    auto hex = [&](size_t at, size_t n) {
        return static_cast<unsigned>(std::stoul(std::string(s.substr(at, n)), nullptr, 16));
    };
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (i + 1 >= s.size()) fuzz::broken("a comment ends in a lone backslash");
        char e = s[++i];
        if (e == '\\') out += '\\';
        else if (e == 'n') out += '\n';
        else if (e == 't') out += '\t';
        else if (e == 'r') out += '\r';
        else if (e == 'x' && i + 2 < s.size()) out += static_cast<char>(hex(i + 1, 2)), i += 2;
        else if (e == 'u' && i + 4 < s.size()) {
            unsigned cp = hex(i + 1, 4);  // U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF: three bytes
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
            i += 4;
        } else fuzz::broken("a comment has an escape it should not");
    }
    return out;
}

// `setting`=`written`, with a comment and a setting around it, read back: the
// one value of `setting`, and the setting after it untouched.
std::string read_back(const std::string& section, const std::string& setting, const std::string& written) {
    systemd_model::UnitFile u =
        systemd_model::parse("[" + section + "]\n# before\n" + setting + "=" + written + "\nX-After=after\n");
    if (!u.problems.empty()) fuzz::broken("a written value made systemd complain");
    if (u.sections.size() != 1) fuzz::broken("a written value opened a section");
    if (u.values(section, "X-After") != std::vector<std::string>{"after"}) fuzz::broken("a value took the next line");
    std::vector<std::string> v = u.values(section, setting);
    if (v.size() != 1 || u.assignments.size() != 2) fuzz::broken("a value added a setting");
    return v[0];
}

std::string resolved(const std::string& v) {
    std::optional<std::string> r = systemd_model::without_specifiers(v);
    if (!r) fuzz::broken("a written value has a specifier");
    return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string text = in.ConsumeRandomLengthString(256);

    // a comment never refuses, never takes the next line, and decodes to its text
    const std::string c = eksnode::syntax::comment(text);
    systemd_model::UnitFile u = systemd_model::parse("[Unit]\n# " + c + "\nDescription=after\n");
    if (!u.problems.empty() || u.assignments.size() != 1 || u.values("Unit", "Description")[0] != "after")
        fuzz::broken("a comment took a line");
    if (decode_comment(c) != text) fuzz::broken("a comment's escapes do not decode to its text");

    try {
        if (resolved(read_back("Unit", "Description", unit::value(text))) != text)
            fuzz::broken("a value read back differently");
        if (!unit::value_problem(text).empty()) fuzz::broken("a value written despite its problem");
    } catch (const Unwritable&) {
        if (unit::value_problem(text).empty()) fuzz::broken("a value refused without a problem");
    }

    try {
        if (resolved(read_back("Unit", "SourcePath", unit::path(text))) != text)
            fuzz::broken("a path read back differently");
    } catch (const Unwritable&) {
        if (unit::path_problem(text).empty()) fuzz::broken("a path refused without a problem");
    }

    std::vector<std::string> words;
    while (in.remaining_bytes() > 0 && words.size() < 8) words.push_back(in.ConsumeRandomLengthString(64));
    try {
        std::string line = unit::exec(words);
        std::optional<std::vector<std::string>> back =
            systemd_model::exec_words(resolved(read_back("Service", "ExecStart", line)));
        if (!back || *back != words) fuzz::broken("a command read back as other words");
    } catch (const Unwritable&) {
        bool problem = words.empty() || words[0].empty() || words[0][0] != '/';
        for (const std::string& w : words) problem |= !unit::exec_word_problem(w).empty();
        if (!problem) fuzz::broken("a command refused without a problem");
    }

    try {
        std::string list = unit::paths(words);
        std::string back = resolved(read_back("Unit", "RequiresMountsFor", list));
        std::string joined;
        for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
        if (back != joined) fuzz::broken("a path list read back differently");
        for (const std::string& w : words)
            if (w.find_first_of(" \t") != std::string::npos) fuzz::broken("a path with a blank went into a list");
    } catch (const Unwritable&) {
    }
    return 0;
}
