// SPDX-License-Identifier: Apache-2.0
// The cluster CA's certificates, read and checked without OpenSSL
// (certificate.cpp says why).
#pragma once

#include <string>
#include <string_view>

namespace eksnode::format {

// The cluster CA as PEM text: accepts base64 of PEM, base64 of DER, or PEM
// text; every certificate's DER structure is checked (certificate.cpp says
// how far, and why not with OpenSSL). Throws ConfigError naming `field`.
std::string certificate_authority_pem(std::string_view value, const std::string& source,
                                      const std::string& field = "spec.cluster.certificateAuthority");

}  // namespace eksnode::format
