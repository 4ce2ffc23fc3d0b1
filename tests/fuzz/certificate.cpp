// SPDX-License-Identifier: Apache-2.0
// spec.cluster.certificateAuthority (format/certificate.cpp): base64 of PEM
// or DER, or PEM text, every certificate's DER structure checked. What it
// accepts it hands on as normalized PEM, and normalized PEM must read back
// as itself.
#include <string>

#include "format/certificate.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::refused_only_as<eksnode::ConfigError>([&] {
        std::string pem = eksnode::format::certificate_authority_pem(fuzz::text(data, size), "fuzz");
        std::string again;
        try {
            again = eksnode::format::certificate_authority_pem(pem, "fuzz (normalized)");
        } catch (const eksnode::ConfigError&) {
            fuzz::broken("the normalized PEM of an accepted CA is refused");
        }
        if (again != pem) fuzz::broken("normalizing the normalized PEM changed it");
    });
    return 0;
}
