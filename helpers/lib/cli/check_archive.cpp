// SPDX-License-Identifier: Apache-2.0
// eks-node check-archive: an image archive checked by content before it is
// imported (cri/archive.hpp says why).
#include <fstream>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "cri/archive.hpp"

namespace eksnode::cli {

const char* const check_archive_help =
    "Usage: eks-node check-archive [--arch=GOARCH] FILE...\n"
    "\n"
    "Checks each OCI image layout archive (what `ctr images export` writes, e.g. /etc/eks/pause.tar) by\n"
    "content: the tar whole, and every blob its index reaches present with the size and SHA-256 digest\n"
    "its descriptor names. Prints one line per archive: its images, blobs and bytes.\n"
    "\n"
    "@OPTIONS@\n"
    "\n"
    "Exit status: 0 when every archive is whole, 1 (one error line naming the archive and the first\n"
    "problem) otherwise, 2 on usage errors. See eks-node(1).\n";

int check_archive_cmd(const std::vector<std::string>& args) {
    const ParsedOptions parsed = parse_options("check-archive", args);
    const std::string arch = parsed.value("--arch").value_or(cri::host_goarch());
    const std::vector<std::string>& files = parsed.args;
    if (files.empty()) throw UsageError("check-archive: name at least one archive");
    for (const std::string& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) throw Error(fmt::format("{}: cannot open it", f));
        cri::ArchiveReport r = cri::check_image_archive(in, f, arch);
        std::string images;
        for (const std::string& i : r.images) images += (images.empty() ? "" : ", ") + (i.empty() ? "(unnamed)" : i);
        fmt::print("{}: whole: {} ({} blobs, {} bytes checked)\n", f, images, r.blobs, r.bytes);
    }
    return EXIT_OK;
}

}  // namespace eksnode::cli
