// SPDX-License-Identifier: Apache-2.0
// An OCI image layout archive (what `ctr images export` writes and `ctr images
// import` reads: oci-layout, index.json, blobs/ALG/HEX in a tar) checked by
// content before anything imports it: the tar whole, and every blob the index
// reaches there with the size and SHA-256 digest its descriptor names.
//
// Why: a cached archive cut short at image build (issue 33: the sid image's
// /etc/eks/pause.tar ended after 196,608 of 303,167 bytes of a blob) was
// imported at every containerd start and failed it, in a loop. Checked here, a
// bad archive is refused by name before the import, in the unit that imports
// it (eks-node-generator(8), FASTIMAGEPULL), and `eks-node check-archive`
// says what is wrong with it.
//
// Owner area: helpers/lib/cri/.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace eksnode::cri {

struct ArchiveReport {
    std::vector<std::string> images;  // io.containerd.image.name (else the ref name) of each index entry
    std::size_t blobs = 0;            // blobs checked against their digest
    std::uint64_t bytes = 0;          // their bytes
};

// Checks the archive read from `in` (seekable); `name` is how errors name it.
// `arch` is the GOARCH whose manifests must be present ("amd64", "arm64"):
// an exported multi-platform index names every platform, but only this one's
// manifest travels. Throws Error with one line naming `name` and the first
// problem: not a tar, cut short, a blob missing, of another size or digest,
// an index or manifest that is not JSON of its kind.
ArchiveReport check_image_archive(std::istream& in, std::string_view name, std::string_view arch);

// The GOARCH of this machine ("amd64" on x86_64, "arm64" on aarch64).
std::string host_goarch();

}  // namespace eksnode::cri
