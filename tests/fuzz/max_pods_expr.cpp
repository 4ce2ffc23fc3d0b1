// SPDX-License-Identifier: Apache-2.0
// spec.kubelet.maxPodsExpression, the CEL subset of derive/expr.cpp: parsing,
// type checks and arithmetic, with every variable known and with none.
#include "derive/derive.hpp"
#include "derive/internal.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view expr = fuzz::text(data, size);
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        eksnode::derive::detail::max_pods_from_expression(expr, {4, 15, 58}, "user data");
    });
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        eksnode::derive::detail::evaluate_expression(expr, eksnode::derive::detail::ExpressionVariables{}, "user data");
    });
    return 0;
}
