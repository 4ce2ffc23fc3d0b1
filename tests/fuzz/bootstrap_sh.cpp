// SPDX-License-Identifier: Apache-2.0
// AL2 user data: the static reader of shell scripts calling
// /etc/eks/bootstrap.sh (words, quotes, here-documents, variables), and the
// flag mapping the shim shares with it (arguments one per input line).
#include <optional>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "input/bootstrap_sh.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view script = fuzz::text(data, size);
    fuzz::refused_only_as<eksnode::ConfigError>(
        [&] { eksnode::input::bootstrap_sh::fragment_from_script(script, "user data"); });

    std::vector<std::string> args;
    for (size_t start = 0; start <= script.size();) {
        size_t end = script.find('\n', start);
        if (end == std::string_view::npos) end = script.size();
        args.emplace_back(script.substr(start, end - start));
        start = end + 1;
    }
    auto no_files = [](const std::string&, std::string& why) -> std::optional<std::string> {
        why = "not on this node";
        return std::nullopt;
    };
    fuzz::refused_only_as<eksnode::ConfigError>(
        [&] { eksnode::input::bootstrap_sh::fragment_from_args(args, "bootstrap.sh", no_files); });
    return 0;
}
