// SPDX-License-Identifier: Apache-2.0
// The cluster CA check (helpers/lib/format/certificate.cpp): real certificates
// come out as the PEM OpenSSL wrote for them, and what cannot be a certificate
// is refused with where and what. Fixtures: tests/data/certificates/README.md.
#include <catch2/catch.hpp>

#include "config/support.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "format/certificate.hpp"
#include "format/encoding.hpp"

using namespace eksnode;
using namespace eksnode::format;

namespace {

// The DER inside every CERTIFICATE block of `pem`, concatenated.
std::string der_of(std::string_view pem) {
    std::string der;
    for (size_t at = 0; (at = pem.find("-----BEGIN CERTIFICATE-----\n", at)) != std::string_view::npos;) {
        at += 28;
        der += base64_decode(pem.substr(at, pem.find("-----END", at) - at), "t");
    }
    return der;
}

// The problem reported for `value`, or "(accepted)".
std::string problem(const std::string& value) {
    try {
        certificate_authority_pem(value, "src", "spec.cluster.certificateAuthority");
    } catch (const ConfigError& e) {
        CHECK(e.source() == "src");
        CHECK(e.field() == "spec.cluster.certificateAuthority");
        return e.problem();
    }
    return "(accepted)";
}

std::string pem_of(std::string_view der) {
    return "-----BEGIN CERTIFICATE-----\n" + base64_encode(der) + "\n-----END CERTIFICATE-----\n";
}

// test::ca_pem (EC P-256, v3, notAfter a GeneralizedTime) as DER, 389 bytes;
// `openssl asn1parse` numbers the offsets below the same way:
//   0 certificate SEQUENCE (30 82 01 81), 4 tbsCertificate (30 82 01 27),
//   47 issuer, 70 validity (30 20), 104 subject, 127 subjectPublicKeyInfo,
//   218 extensions [3], 303 signatureAlgorithm, 315 signatureValue (03 48 00 ...)
std::string ca_der() { return der_of(test::ca_pem); }

constexpr std::string_view not_a_certificate = "certificate 1 is not a valid X.509 certificate";
constexpr std::string_view from_der =
    "is base64 of neither PEM text nor a DER certificate (set it to the certificateAuthority `aws eks "
    "describe-cluster` gives, or leave it out for eks:DescribeCluster to fill): ";

}  // namespace

TEST_CASE("a CA bundle comes out byte for byte as OpenSSL wrote it", "[config][certificate]") {
    // bundle.expected.pem is `openssl x509` of each certificate: what
    // PEM_write_bio_X509 wrote when this check was OpenSSL's d2i_X509.
    std::string bundle = test::certificate_fixture("bundle.pem"),
                expected = test::certificate_fixture("bundle.expected.pem");
    REQUIRE(expected.starts_with("-----BEGIN CERTIFICATE-----\nMIIDMjCCAhqgAwIBAgIUPcSBc9X4ce2cZuCX"));
    std::string crlf;
    for (char ch : bundle) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    CHECK(certificate_authority_pem(bundle, "t") == expected);
    CHECK(certificate_authority_pem(crlf, "t") == expected);
    CHECK(certificate_authority_pem(base64_encode(bundle), "t") == expected);
    CHECK(certificate_authority_pem(base64_encode(der_of(expected)), "t") == expected);  // DER, concatenated
    CHECK(certificate_authority_pem(expected, "t") == expected);
    // RSA CA with extensions, then a v1 certificate (no version, no
    // extensions) with an EC P-384 key; the EC CA with a GeneralizedTime.
    CHECK(certificate_authority_pem(expected + test::ca_pem, "t") == expected + test::ca_pem);
}

TEST_CASE("PEM blocks other than CERTIFICATE are refused by name", "[config][certificate]") {
    std::string encrypted_key =
        "-----BEGIN EC PRIVATE KEY-----\n"
        "Proc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n"
        "\n"
        "AAAA\n"
        "-----END EC PRIVATE KEY-----\n";
    CHECK(problem(encrypted_key) == "PEM block 1 is a \"EC PRIVATE KEY\", not a CERTIFICATE");
    CHECK(problem(test::ca_pem + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") ==
          "PEM block 2 is a \"PRIVATE KEY\", not a CERTIFICATE");
    CHECK(problem(base64_encode("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")) ==
          "PEM block 1 is a \"PUBLIC KEY\", not a CERTIFICATE");
    CHECK(problem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n") ==
          "PEM block 1 is malformed (it ends with \"-----END PRIVATE KEY-----\", not \"-----END CERTIFICATE-----\")");
    CHECK(problem(test::ca_pem.substr(0, 200)) == "PEM block 1 is malformed (no \"-----END CERTIFICATE-----\" line)");
    CHECK(problem("-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n") ==
          "PEM block 1 is malformed (invalid base64: unexpected \"*\" at offset 2)");
    CHECK(problem("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n") ==
          std::string(not_a_certificate) + " (certificate: missing, the data ends at byte 0)");
    CHECK(problem("-----BEGIN CERTIFICATE without its dashes\n") == "holds no certificate");
}

TEST_CASE("DER that cannot be a certificate is refused with where and why", "[config][certificate]") {
    const std::string der = ca_der();
    REQUIRE(der.size() == 389);
    auto with = [&](size_t at, unsigned char byte) {
        std::string d = der;
        d[at] = static_cast<char>(byte);
        return d;
    };
    struct Case {
        std::string name, der, problem;
    };
    auto c = GENERATE_COPY(values<Case>({
        {"truncated", der.substr(0, 200),
         "certificate: 385 bytes at byte 0 run past the end of the data at byte 200 (196 left)"},
        {"validity's length one byte long (0x20 -> 0x21)", with(71, 0x21),
         "validity: unexpected SEQUENCE at byte 104 (after validity notAfter)"},
        {"issuer's length one byte short (0x15 -> 0x14)", with(48, 0x14),
         "issuer: 19 bytes at byte 49 run past the end of issuer at byte 69 (18 left)"},
        {"tbsCertificate's length one byte long (0x0127 -> 0x0128)", with(7, 0x28),
         "tbsCertificate: unexpected SEQUENCE at byte 303 (after extensions)"},
        {"validity a SET", with(70, 0x31), "validity: expected SEQUENCE at byte 70, found SET"},
        {"indefinite length", with(1, 0x80), "certificate: indefinite length at byte 1 (BER, not DER)"},
        {"length not in shortest form", std::string("\x30\x83\x00", 3) + der.substr(2),
         "certificate: length at byte 1 is not in DER's shortest form"},
        {"signatureValue with 8 unused bits", with(317, 0x08), "signatureValue: malformed BIT STRING at byte 315"},
        {"an RSA public key (PKCS #1)", std::string("\x30\x0a\x02\x03\x00\xc3\x55\x02\x03\x01\x00\x01", 12),
         "tbsCertificate: expected SEQUENCE at byte 2, found INTEGER"},
        {"a public key (SubjectPublicKeyInfo)", der.substr(127, 91),
         "serialNumber: expected INTEGER at byte 4, found OBJECT IDENTIFIER"},
        {"a random SEQUENCE", std::string("\x30\x03\x02\x01\x05", 5),
         "tbsCertificate: expected SEQUENCE at byte 2, found INTEGER"},
        {"text", "certificateAuthority", "certificate: expected SEQUENCE at byte 0, found tag 0x63"},
    }));
    DYNAMIC_SECTION(c.name) {
        // base64 of DER, and the same bytes as a PEM block
        CHECK(problem(base64_encode(c.der)) ==
              std::string(from_der) + std::string(not_a_certificate) + " (" + c.problem + ")");
        CHECK(problem(pem_of(c.der)) == std::string(not_a_certificate) + " (" + c.problem + ")");
    }
}

TEST_CASE("nothing may follow a certificate inside it or inside its PEM block", "[config][certificate]") {
    const std::string der = ca_der();
    // Two bytes (a NULL) inside the outer SEQUENCE: its length 0x0181 -> 0x0183.
    std::string inside = der + std::string("\x05\x00", 2);
    inside[3] = '\x83';
    CHECK(problem(base64_encode(inside)) == std::string(from_der) + std::string(not_a_certificate) +
                                                " (certificate: unexpected NULL at byte 389 (after signatureValue))");
    // After it, in the same PEM block: a second certificate would be lost.
    CHECK(problem(pem_of(der + std::string("\x05\x00", 2))) ==
          "certificate 1 has trailing data (2 bytes after its end at byte 389)");
    // Concatenated DER is a bundle: each certificate counts from its own first byte.
    CHECK(problem(base64_encode(der + der.substr(0, 100))) ==
          std::string(from_der) +
              "certificate 2 is not a valid X.509 certificate "
              "(certificate: 385 bytes at byte 0 run past the end of the data at byte 100 (96 left))");
}
