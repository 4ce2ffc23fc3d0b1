// SPDX-License-Identifier: Apache-2.0
// Runs the bad-input corpus (tests/bad-input/README.md) through the steps
// eks-node-config takes with user data.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "config/merge.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "input/sources.hpp"
#include "resolve/resolve.hpp"
#include "support.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> read_expect(const fs::path& p) {
    std::map<std::string, std::string> out;
    std::istringstream in(read_file(p));
    for (std::string line; std::getline(in, line);) {
        size_t colon = line.find(':');
        REQUIRE(colon != std::string::npos);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        out[line.substr(0, colon)] = value;
    }
    return out;
}

void run_config_step(const std::string& user_data) {
    json spec = json::object(), settings = json::object();
    Origins origins;
    const std::vector<input::Fragment> fragments = fragments_from_user_data(user_data);
    for (const input::Fragment& f : fragments) {
        validate_fragment(f);
        merge_fragment(spec, settings, f, origins);
    }
    unknown_field_warnings(fragments, settings);  // the error settings.strict asks for
    validate_merged(spec, settings, origins);
    resolve::check_volumes(spec, settings, origins);  // eks-node-config's checks across volumes
}

}  // namespace

TEST_CASE("every bad-input case is refused with the expected source and field", "[config][bad-input]") {
    std::vector<fs::path> cases;
    for (const auto& entry : fs::directory_iterator(test::source_path("tests/bad-input")))
        if (entry.is_directory()) cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 36);

    for (const fs::path& dir : cases) {
        INFO(dir.filename().string());
        auto expect = read_expect(dir / "expect");
        REQUIRE(expect.count("source") == 1);
        REQUIRE(expect.count("field") == 1);
        REQUIRE(expect.size() == 2 + expect.count("message"));
        try {
            run_config_step(read_file(dir / "user-data"));
            FAIL_CHECK("accepted");
        } catch (const ConfigError& e) {
            INFO(e.what());
            CHECK_THAT(e.source(), Catch::Contains(expect["source"]));
            CHECK(e.field() == expect["field"]);
            if (expect.count("message")) CHECK_THAT(e.problem(), Catch::Contains(expect["message"]));
        }
    }
}
