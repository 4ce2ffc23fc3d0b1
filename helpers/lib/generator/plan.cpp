// SPDX-License-Identifier: Apache-2.0
// eks-node-generator's plan primitives (plan.hpp).
#include <fmt/format.h>

#include "core/fsutil.hpp"
#include "generator/plan.hpp"

namespace eksnode::generator::detail {

const json* member(const json* j, const char* key) {
    if (!j || !j->is_object()) return nullptr;
    auto it = j->find(key);
    return it == j->end() ? nullptr : &*it;
}

// ---- output ----------------------------------------------------------------

// Every value below reaches a unit file through core/syntax.hpp's writers:
// comment() for the words of a comment, unit::value() and unit::path() for
// settings. A file name, path or description can then add no line to a
// drop-in (issue 34): input they cannot write is refused where it enters
// (eks-node-config, exit 6) and ignored here with a warning.

// SourcePath= for `source`: config.json, the kernel command line or a
// fragment. A path systemd could not take back as written (an origin in a
// config.json from before eks-node-config refused such names) names
// config.json instead, where the value was read.
std::string source_path(std::string_view source) {
    if (syntax::unit::path_problem(source).empty()) return syntax::unit::path(source);
    return syntax::unit::path(path::config_json);
}

void add_file(GeneratorPlan& plan, const std::string& rel, std::string_view body) {
    plan.files[rel] = {GeneratedFile::Kind::file, std::string(header) + std::string(body)};
}

void add_wants(GeneratorPlan& plan, std::string_view target, std::string_view unit) {
    plan.files[fmt::format("{}.wants/{}", target, unit)] = {GeneratedFile::Kind::symlink,
                                                            fmt::format("{}/{}", unitdir, unit)};
}

namespace {
// The [Unit] lines of a mount of what `step` makes (instance store, EBS
// volumes): no default dependencies, unmounted at shutdown, Requires= and
// After= the step, `why` the comment above those two.
std::string late_mount_dependencies(std::string_view step, std::string_view why) {
    return fmt::format(
        "# mounted late, after the step (which follows the network): the default\n"
        "# Before=local-fs.target would be an ordering cycle\n"
        "DefaultDependencies=no\n"
        "Conflicts=umount.target\n"
        "Before=umount.target\n"
        "# {}.\n"
        "# Requisite=, not Requires=: a start of this unit (a consumer's, such as a\n"
        "# socket-activated Docker's) never starts the step, so a failed step is not\n"
        "# re-run each time something asks; the target and an admin's start re-run\n"
        "# it (eks-node-generator(8), FAILED STEPS)\n"
        "Requisite={}\n"
        "After={}\n",
        why, step, step);
}
}  // namespace

std::string mount_unit(const MountUnit& m) {
    const std::string_view name = m.step.substr(0, m.step.rfind('.'));
    return fmt::format(
        "#\n"
        "# {}\n"
        "\n"
        "[Unit]\n"
        "Description={}\n"
        "Documentation=man:{}(8)\n"
        "SourcePath={}\n"
        "{}"
        "{}"
        "\n"
        "[Mount]\n"
        "What={}\n"
        "Where={}\n"
        "{}"
        "Options={}\n",
        m.head, m.description, name, source_path(path::config_json), late_mount_dependencies(m.step, m.why), m.extra,
        syntax::unit::path(m.what), syntax::unit::path(m.where), m.type, m.options);
}

}  // namespace eksnode::generator::detail
