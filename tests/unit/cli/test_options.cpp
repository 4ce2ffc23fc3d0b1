// SPDX-License-Identifier: Apache-2.0
// eks-node's one option parser (cli/options.hpp), on the table from options.tsv.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "core/error.hpp"

using namespace eksnode;
using namespace eksnode::cli;

namespace {

std::string usage_error_of(std::string_view command, const std::vector<std::string>& args) {
    try {
        parse_options(command, args);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("options: --opt=V and --opt V alike, flags alone, -- ends them", "[cli][options]") {
    const ParsedOptions a = parse_options("max-pods", {"--instance-type=m5.large", "--json", "--root", "/x"});
    CHECK(a.value("--instance-type") == "m5.large");
    CHECK(a.value("--root") == "/x");
    CHECK(a.has("--json"));
    CHECK_FALSE(a.has("--vcpus"));
    const ParsedOptions b = parse_options("max-pods", {"--instance-type", "m5.large"});
    CHECK(b.value("--instance-type") == "m5.large");
    // a value may start with "-" or be empty
    CHECK(parse_options("get-token", {"--region", "-x"}).value("--region") == "-x");
    CHECK(parse_options("get-token", {"--region="}).value("--region") == "");
    const ParsedOptions c = parse_options("config check", {"-", "--strict", "--", "--json"});
    CHECK(c.args == std::vector<std::string>{"-", "--json"});
    CHECK(c.has("--strict"));
    CHECK_FALSE(c.has("--json"));
    CHECK(parse_options("runtime-class", {"--node-selector=a=b", "--node-selector", "c=d"}).values("--node-selector") ==
          std::vector<std::string>{"a=b", "c=d"});
}

TEST_CASE("options: one wording for each usage error, with the nearest option", "[cli][options]") {
    CHECK(usage_error_of("render", {"--rot=/x"}) == "render: unknown option --rot (did you mean --root?)");
    CHECK(usage_error_of("render", {"--offline"}) == "render: unknown option --offline");
    CHECK(usage_error_of("config dump", {"--origin"}) ==
          "config dump: unknown option --origin (did you mean --origins?)");
    CHECK(usage_error_of("status", {"-j"}) == "status: unknown option -j");
    CHECK(usage_error_of("status", {"--json=1"}) == "status: --json takes no value");
    CHECK(usage_error_of("max-pods", {"--vcpus"}) == "max-pods: --vcpus needs a value (--vcpus N or --vcpus=N)");
    CHECK(usage_error_of("status", {"--json", "--json"}) == "status: --json given twice");
    CHECK(usage_error_of("render", {"--root=/a", "--root=/b"}) == "render: --root given twice");
}

TEST_CASE("options: every command of the table has a usage line and its options a value name or none",
          "[cli][options]") {
    CHECK(usage_line("config check") == "Usage: eks-node config check [OPTIONS] [SOURCE...]");
    CHECK(usage_line("status") == "Usage: eks-node status [OPTIONS]");
    CHECK(usage_line("help") == "Usage: eks-node help");
    size_t options = 0;
    for (const CommandSpec& c : command_specs()) {
        CHECK(find_command(c.name) == &c);
        for (const OptionSpec& o : c.options) {
            CHECK(o.name.starts_with("--"));
            ++options;
        }
    }
    CHECK(options >= 30);
    CHECK(step_of_unit("eks-node-imds.service") == "imds");
    CHECK(step_of_unit("eks-node-imds") == "imds");
    CHECK(step_of_unit("imds") == "imds");
}
