// SPDX-License-Identifier: Apache-2.0
// Pieces the renderers share: reading config.json with errors that name the
// field, version toggles, and writing or withdrawing an output while recording
// it in the step's result. Internal to helpers/lib/render/ and its tests.
#pragma once

#include <sys/types.h>
#include <map>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"
#include "core/outputs.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"

namespace eksnode::render::detail {

// The field at `pointer` ("/derived/maxPods"), or ConfigError
// "config.json: derived.maxPods: missing" (exit 6): a renderer only runs after
// eks-node-config wrote a complete config.json, so a gap is a broken hand-off.
const json& need(const json& cfg, std::string_view pointer);
std::string need_string(const json& cfg, std::string_view pointer);
// The field at `pointer`, or nullptr when it is absent or null.
const json* find(const json& cfg, std::string_view pointer);
// An optional boolean (feature gates, enableOutpost): absent means false.
bool flag(const json& cfg, std::string_view pointer);
// An optional object (kubelet.config, environment maps): absent or empty -> nullptr.
const json* non_empty_object(const json& cfg, std::string_view pointer);

// machine.kubeletVersion / machine.containerdVersion compared with a release
// ("1.29"): nodeadm's toggles are all "semver.Compare(version, vX.Y.0)".
bool kubelet_at_least(const json& cfg, std::string_view release);
bool containerd_at_least(const json& cfg, std::string_view release);

// Writes `data` to the registered output `absolute` (core/outputs.hpp) under
// the root, with the registry's mode, and records the result; the mode is not
// the caller's to choose, so a renderer cannot drift from validate and the man
// pages. A block-only output (/etc/hosts) keeps the mode the file already has.
// Throws Error for a path the registry does not know. Logs the path when the
// content changed, so the journal says what a re-run touched.
void put(StepResult& result, const Paths& paths, std::string_view absolute, std::string_view data);
// Removes an output this step no longer produces (idempotent re-render).
// Throws Error unless the registry says the output is optional.
void withdraw(StepResult& result, const Paths& paths, std::string_view absolute);

// Every generated text file we own starts with these lines ("#" comments are
// valid in TOML, EnvironmentFile= and resolved.conf), naming the program that
// wrote it ("eks-node-kubelet"), its source (through syntax::comment(): one
// line whatever it holds), and what to change instead.
std::string generated_header(std::string_view writer, std::string_view from);

// KEY=value lines for a systemd EnvironmentFile=, sorted by key, written by
// the environment-file writer (core/syntax.hpp, syntax::env): throws
// syntax::Unwritable for a name or value systemd would not take back.
std::string environment_file(std::string_view header, const std::map<std::string, std::string>& vars);
// syntax::env::value(): a value as systemd.exec(5) reads it back unchanged
// from an EnvironmentFile=: bare when that is exact (as nodeadm writes them,
// so `grep 'flag$'` works), else double-quoted with \ " ` $ escaped. No
// variables or specifiers are expanded in these files.
std::string environment_value(std::string_view value);
// syntax::env::valid_name(): [A-Za-z_][A-Za-z0-9_]*, what systemd accepts.
bool valid_environment_name(std::string_view name);

}  // namespace eksnode::render::detail
