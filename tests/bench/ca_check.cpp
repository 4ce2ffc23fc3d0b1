// SPDX-License-Identifier: Apache-2.0
// The cluster CA check two ways, in one process each: eks-node's DER reader
// (format/certificate.cpp) and OpenSSL 3 (PEM_read_bio_X509, what the check
// would be with libcrypto). Prints the first call (OpenSSL's includes its
// initialisation), the mean of the next N calls and the peak RSS.
//
//   build/tests/bench/ca-check ours    tests/data/certificates/bundle.pem 2000
//   build/tests/bench/ca-check openssl tests/data/certificates/bundle.pem 2000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/resource.h>

#include "format/certificate.hpp"

namespace {

long max_rss_kib() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss;
}

// Certificates read; the result is used so no call can be optimised away.
size_t with_openssl(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    size_t n = 0;
    while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
        ++n;
        X509_free(x);
    }
    BIO_free(b);
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: ca-check ours|openssl PEM-FILE CALLS\n");
        return 2;
    }
    const std::string how = argv[1];
    std::ifstream in(argv[2]);
    std::stringstream text;
    text << in.rdbuf();
    // two texts of the same certificates, taken in turn: the reader remembers
    // its last success (eks-node-config checks one CA twice), and a bench of
    // that memo would measure nothing
    const std::string texts[2] = {text.str(), text.str() + "\n"};
    const int calls = std::atoi(argv[3]);
    int turn = 0;
    auto once = [&] {
        const std::string& pem = texts[turn++ % 2];
        return how == "openssl" ? with_openssl(pem) : eksnode::format::certificate_authority_pem(pem, "bench").size();
    };

    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    size_t sink = once();
    auto t1 = clock::now();
    for (int i = 0; i < calls; ++i) sink += once();
    auto t2 = clock::now();
    std::printf("%-8s first %8.3f ms  then %8.2f us/call  max RSS %ld KiB  (%zu)\n", how.c_str(),
                std::chrono::duration<double, std::milli>(t1 - t0).count(),
                std::chrono::duration<double, std::micro>(t2 - t1).count() / calls, max_rss_kib(), sink);
    return 0;
}
