// The cluster CA: nodeadm writes whatever bytes it is given and kubelet fails
// later with a TLS error; we parse every certificate up front and hand the
// renderers normalized PEM.
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/sources.hpp"
#include "config/text.hpp"
#include "core/error.hpp"

namespace eksnode {

namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

// A problem with the value, turned into a ConfigError by the caller.
struct Problem {
    std::string text;
};

// The reason of OpenSSL's last error, and an empty error queue afterwards.
std::string openssl_reason() {
    unsigned long code = ERR_peek_last_error();
    const char* reason = code ? ERR_reason_error_string(code) : nullptr;
    ERR_clear_error();
    return reason ? reason : "unknown error";
}

// One block as PEM_read_bio returns it; frees what OpenSSL allocated.
struct PemBlock {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;

    PemBlock() = default;
    PemBlock(const PemBlock&) = delete;
    PemBlock& operator=(const PemBlock&) = delete;
    ~PemBlock() {
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
};

bool has_pem_marker(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

X509Ptr parse_der(const unsigned char*& p, long length, size_t number) {
    X509Ptr cert(d2i_X509(nullptr, &p, length), X509_free);
    if (!cert)
        throw Problem{fmt::format("certificate {} is not a valid X.509 certificate ({})", number, openssl_reason())};
    return cert;
}

// Concatenated DER certificates.
std::vector<X509Ptr> certificates_from_der(std::string_view der) {
    std::vector<X509Ptr> certs;
    auto p = reinterpret_cast<const unsigned char*>(der.data());
    const auto* end = p + der.size();
    while (p < end) certs.push_back(parse_der(p, static_cast<long>(end - p), certs.size() + 1));
    return certs;
}

// Every PEM block must be a CERTIFICATE: a private key pasted into the CA
// field is a mistake worth stopping for. Text between blocks is ignored, as
// OpenSSL and kubelet ignore it.
std::vector<X509Ptr> certificates_from_pem(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    std::vector<X509Ptr> certs;
    for (;;) {
        PemBlock block;
        if (!PEM_read_bio(bio.get(), &block.name, &block.header, &block.data, &block.length)) {
            bool at_end = ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE;
            std::string reason = openssl_reason();
            if (at_end) return certs;
            throw Problem{fmt::format("PEM block {} is malformed ({})", certs.size() + 1, reason)};
        }
        if (std::string_view(block.name) != PEM_STRING_X509)
            throw Problem{
                fmt::format("PEM block {} is a {}, not a CERTIFICATE", certs.size() + 1, text::quote(block.name))};
        const unsigned char* p = block.data;
        certs.push_back(parse_der(p, block.length, certs.size() + 1));
        if (p != block.data + block.length)
            throw Problem{fmt::format("certificate {} has trailing data", certs.size())};
    }
}

std::string to_pem(const std::vector<X509Ptr>& certs) {
    BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
    for (const auto& cert : certs)
        if (!PEM_write_bio_X509(bio.get(), cert.get())) throw Error("OpenSSL: cannot encode a certificate as PEM");
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(length));
}

std::vector<X509Ptr> certificates(std::string_view value) {
    std::string_view trimmed = text::trim(value);
    if (trimmed.empty()) throw Problem{"is empty"};
    if (has_pem_marker(trimmed)) return certificates_from_pem(trimmed);
    if (!looks_like_base64(trimmed)) throw Problem{"is neither base64 nor PEM text"};
    std::string bytes;
    try {
        bytes = base64_decode(trimmed, "");
    } catch (const ConfigError& e) {
        throw Problem{e.problem()};
    }
    if (has_pem_marker(bytes)) return certificates_from_pem(bytes);
    try {
        return certificates_from_der(bytes);
    } catch (const Problem& p) {
        throw Problem{"decodes to neither PEM text nor DER certificates: " + p.text};
    }
}

}  // namespace

std::string certificate_authority_pem(std::string_view value, const std::string& source, const std::string& field) {
    // eks-node-config parses the same CA twice (validation, then derive); the
    // second d2i_X509 costs ~7% of the step's instructions (tests/bench/
    // callgrind.py). Only a success is remembered: an error must name the
    // caller's source and field.
    static std::string last_value, last_pem;
    if (!last_pem.empty() && value == last_value) return last_pem;
    try {
        std::vector<X509Ptr> certs = certificates(value);
        if (certs.empty()) throw Problem{"holds no certificate"};
        std::string pem = to_pem(certs);
        last_value = value;
        last_pem = pem;
        return pem;
    } catch (const Problem& p) {
        throw ConfigError(source, field, p.text);
    }
}

}  // namespace eksnode
