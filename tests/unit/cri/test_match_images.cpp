// SPDX-License-Identifier: Apache-2.0
// tests/data/match-images.tsv: each matchImages pattern accepted or refused
// alike by `config check`'s reader (config::credential_providers::read, what
// eks-node-config and `eks-node config check` run) and by eks-node-prepull's
// credential reader (cri::parse_provider_config): a pattern only the second
// refused passed the check and then dropped every provider at the pull.
#include <catch2/catch.hpp>

#include "config/credential_providers.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/table.hpp"
#include "cri/registry_credentials.hpp"
#include "fixtures.hpp"

using namespace eksnode;

namespace {

struct PatternRow {
    std::string pattern;
    bool accepted = false;
    std::string why;
};

std::vector<PatternRow> pattern_rows() {
    std::vector<PatternRow> out;
    const std::string text = read_file(test::source_path("tests/data/match-images.tsv"));
    for (const table::Row& row : table::rows(text, "tests/data/match-images.tsv", 3))
        out.push_back({json::parse(row.cells[0]).get<std::string>(), row.cells[1] == "yes", row.cells[2]});
    return out;
}

// "" when accepted, else the error's text
template <typename F>
std::string refusal(F&& f) {
    try {
        f();
        return {};
    } catch (const ConfigError& e) {
        return e.what();
    }
}

}  // namespace

TEST_CASE("matchImages: config check and the credential reader agree with the table", "[cri][credentials]") {
    const std::vector<PatternRow> rows = pattern_rows();
    REQUIRE(rows.size() >= 30);
    for (const PatternRow& r : rows) {
        INFO(json(r.pattern).dump() << ": " << r.why);
        const std::string checked = refusal([&] {
            config::credential_providers::read(json{{"p", {{"matchImages", json::array({r.pattern})}}}},
                                               [](const std::string&) { return std::string("user data"); });
        });
        const std::string read = refusal([&] {
            cri::parse_provider_config(json{{"kind", "CredentialProviderConfig"},
                                            {"providers",
                                             {{{"name", "p"},
                                               {"matchImages", json::array({r.pattern})},
                                               {"apiVersion", "credentialprovider.kubelet.k8s.io/v1"}}}}}
                                           .dump(),
                                       "credential-provider-config.json");
        });
        CHECK(checked.empty() == r.accepted);
        CHECK(read.empty() == r.accepted);
        if (!r.accepted) {
            CHECK_THAT(checked, Catch::Contains("settings.credentialProviders.p.matchImages"));
            CHECK_THAT(read, Catch::Contains("providers[0].matchImages[0]"));
        }
    }
}

TEST_CASE("matchImages: an accepted pattern matches what it names", "[cri][credentials]") {
    // the check refuses nothing the matcher relies on: the rows' accepted
    // hosts still match an image of them
    CHECK(cri::image_matches("registry.example.com:5000/team/app", "registry.example.com:5000/team/app:1"));
    CHECK(cri::image_matches("r[a-z]gistry.example.com", "registry.example.com/x:1"));
    CHECK(cri::image_matches("r*y.example.com", "registry.example.com/x:1"));
    CHECK_FALSE(cri::image_matches("x[]a].example.com", "x].example.com/x:1"));  // Go: ErrBadPattern
}
