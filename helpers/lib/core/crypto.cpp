// SPDX-License-Identifier: Apache-2.0
#include "core/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include "core/dl.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

namespace eksnode::crypto {

namespace {

// libcrypto is loaded with dlopen() on first use (a signature, a digest), as libcurl is
// (core/curl.cpp): linked, merely loading it cost every run of eks-node-config
// ~1.4 MiB of RSS and ~0.9 ms of CPU (tests/bench/steps.py: 6.3 -> 7.8 MiB),
// and most runs sign nothing. The headers give the types; the soname below
// must match them.
static_assert(OPENSSL_VERSION_MAJOR == 3, "crypto.cpp loads libcrypto.so.3: update the soname with the headers");

// The libcrypto calls we use, resolved once.
struct Crypto {
    decltype(&::HMAC) hmac;
    decltype(&::EVP_sha256) evp_sha256;
    decltype(&::SHA256) sha256;
    decltype(&::EVP_MD_CTX_new) md_ctx_new;
    decltype(&::EVP_MD_CTX_free) md_ctx_free;
    decltype(&::EVP_DigestInit_ex) digest_init;
    decltype(&::EVP_DigestUpdate) digest_update;
    decltype(&::EVP_DigestFinal_ex) digest_final;
};

EKSNODE_DLOPEN_NOTE("aws-sigv4", "recommended",
                    "SigV4 signatures (HMAC-SHA256) of the EC2 and EKS API requests, image blob digests",
                    "libcrypto.so.3");

const Crypto& lib() {
    return dl::load<Crypto>("libcrypto.so.3", "to sign AWS requests and check digests", "install libssl3",
                            [](const dl::Library& l, Crypto& c) {
                                l.bind("HMAC", c.hmac);
                                l.bind("EVP_sha256", c.evp_sha256);
                                l.bind("SHA256", c.sha256);
                                l.bind("EVP_MD_CTX_new", c.md_ctx_new);
                                l.bind("EVP_MD_CTX_free", c.md_ctx_free);
                                l.bind("EVP_DigestInit_ex", c.digest_init);
                                l.bind("EVP_DigestUpdate", c.digest_update);
                                l.bind("EVP_DigestFinal_ex", c.digest_final);
                            });
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view data) {
    const Crypto& c = lib();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!c.hmac(c.evp_sha256(), key.data(), static_cast<int>(key.size()),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n))
        throw Error("HMAC-SHA256 failed (OpenSSL)");
    return std::string(reinterpret_cast<char*>(out), n);
}

std::string sha256_hex(std::string_view data) {
    unsigned char out[SHA256_DIGEST_LENGTH];
    lib().sha256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
    return hex_encode({reinterpret_cast<const char*>(out), sizeof out});
}

Sha256::Sha256() : ctx_(lib().md_ctx_new()) {
    if (!ctx_ || !lib().digest_init(static_cast<EVP_MD_CTX*>(ctx_), lib().evp_sha256(), nullptr)) {
        if (ctx_) lib().md_ctx_free(static_cast<EVP_MD_CTX*>(ctx_));
        throw Error("SHA-256: cannot start a digest (OpenSSL)");
    }
}

Sha256::~Sha256() { lib().md_ctx_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::string_view data) {
    if (!lib().digest_update(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()))
        throw Error("SHA-256: digest update failed (OpenSSL)");
}

std::string Sha256::hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!lib().digest_final(static_cast<EVP_MD_CTX*>(ctx_), out, &n)) throw Error("SHA-256: digest failed (OpenSSL)");
    return hex_encode({reinterpret_cast<const char*>(out), n});
}

}  // namespace eksnode::crypto
