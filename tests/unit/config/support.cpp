// SPDX-License-Identifier: Apache-2.0
#include "support.hpp"

#include <catch2/catch.hpp>

#include "config/merge.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "format/encoding.hpp"
#include "input/sources.hpp"

#include <zlib.h>

#include <stdexcept>

namespace eksnode::test {

const std::string ca_pem = R"(-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUTVM1DcyxulkP+OZOLEEsU/VgvxIwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAgFw0yNjExMjExMTAxNTBaGA8yMTI2MTAy
ODExMDE1MFowFTETMBEGA1UEAwwKa3ViZXJuZXRlczBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABBoI00l0o00w0WHGm3iKt7DTHNjx0xzfGo0XzsXLTxS9ppUMMOcx
TvNWJYlLu2IwRzgO07I9Ckzhq8roGDJzeUWjUzBRMB0GA1UdDgQWBBTWm1mqMrlL
fnxBoUGQpi4z7e5cADAfBgNVHSMEGDAWgBTWm1mqMrlLfnxBoUGQpi4z7e5cADAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIFGgQR0srUK+pw5tdX7j
/M5JyVwj8BLx0w8PbvPn4xUjAiEA0T+R0BsNTzZ+4mKLCY8Q84H2zNUUJVqKynkh
0IGa7jQ=
-----END CERTIFICATE-----
)";

std::string ca_base64() { return base64(ca_pem); }

std::string base64(std::string_view bytes) { return format::base64_encode(bytes); }

std::string gzip(std::string_view bytes) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&zs, bytes.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
    return out;
}

std::string nodeconfig_yaml(std::string_view extra) {
    return "apiVersion: node.eks.aws/v1alpha1\n"
           "kind: NodeConfig\n"
           "spec:\n"
           "  cluster:\n"
           "    name: my-cluster\n"
           "    apiServerEndpoint: https://example.com\n"
           "    certificateAuthority: " +
           ca_base64() +
           "\n"
           "    cidr: 10.100.0.0/16\n" +
           std::string(extra);
}

nlohmann::ordered_json nodeconfig_document() {
    return {{"apiVersion", "node.eks.aws/v1alpha1"},
            {"kind", "NodeConfig"},
            {"spec",
             {{"cluster",
               {{"name", "my-cluster"},
                {"apiServerEndpoint", "https://example.com"},
                {"certificateAuthority", ca_base64()},
                {"cidr", "10.100.0.0/16"}}}}}};
}

std::filesystem::path conformance_root() { return source_path("tests/conformance"); }

json merged_settings(const Fragments& fragments, Origins& origins) {
    json spec = json::object(), settings = json::object();
    for (const auto& [source, text] : fragments) {
        input::Fragment f = input::fragment_from_toml(text, source);
        config::validate_fragment(f);
        config::merge_fragment(spec, settings, f, origins);
    }
    config::validate_settings(settings, origins);
    return settings;
}

std::string settings_error(const Fragments& fragments) {
    Origins origins;
    try {
        merged_settings(fragments, origins);
    } catch (const ConfigError& e) {
        CHECK(e.exit_code() == EXIT_CONFIG);
        return e.what();
    }
    return "accepted";
}

json spec_of(std::string_view yaml) {
    auto fragments = input::fragments_from_nodeconfig(
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n" + std::string(yaml), "t");
    REQUIRE(fragments.size() == 1);
    return fragments[0].spec;
}

}  // namespace eksnode::test
