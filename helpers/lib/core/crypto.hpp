// SPDX-License-Identifier: Apache-2.0
// SHA-256 and HMAC-SHA256 on libcrypto, loaded with dlopen() on first use
// (core/crypto.cpp says why): SigV4 (aws/sigv4.cpp) signs with them, the
// image archive check (cri/archive.cpp) verifies blobs' digests.
#pragma once

#include <string>
#include <string_view>

namespace eksnode::crypto {

// The SHA-256 digest of `data`, lower-case hex.
std::string sha256_hex(std::string_view data);
// The raw HMAC-SHA256 of `data` under `key` (32 bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);

// SHA-256 of data fed in pieces (an image archive's blobs, read a chunk at a time).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::string_view data);
    std::string hex();  // the digest, lower-case hex; once
private:
    void* ctx_;  // EVP_MD_CTX
};

}  // namespace eksnode::crypto
