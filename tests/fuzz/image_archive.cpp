// SPDX-License-Identifier: Apache-2.0
// An image archive as eks-node-pause-image.service's check reads it
// (cri/archive.cpp): a file of the image, which a broken build, a disk or an
// admin can leave in any shape. Input: the archive's bytes. Refusals: Error.
// Property: an accepted archive checked at least one blob, and named an image
// for each entry of its index.
#include <sstream>
#include <string>

#include "cri/archive.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in(std::string(fuzz::text(data, size)));
    fuzz::refused_only_as<eksnode::Error>([&] {
        eksnode::cri::ArchiveReport r = eksnode::cri::check_image_archive(in, "fuzz.tar", "amd64");
        if (r.blobs == 0 || r.images.empty()) fuzz::broken("an archive was taken with no blob or no image");
    });
    return 0;
}
