// SPDX-License-Identifier: Apache-2.0
// Service environment (spec.instance.environment): the one implementation the
// kubelet and containerd steps both call, each for its own service.
#pragma once

#include <string_view>

#include "core/jsonutil.hpp"
#include "core/paths.hpp"
#include "core/step.hpp"

namespace eksnode::render::detail {

// The files (path::default_env, path::kubelet_service_env,
// path::containerd_service_env) are loaded by the static drop-ins
// (EnvironmentFile=-, so absent is fine).
enum class Service { kubelet, containerd };

// Writes default.env (spec.instance.environment.default) and the service's
// own file. An absent or empty map removes its file.
void render_service_environment(StepResult& result, const json& cfg, const Paths& paths, Service service);

}  // namespace eksnode::render::detail
