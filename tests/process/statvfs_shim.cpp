// SPDX-License-Identifier: Apache-2.0
// LD_PRELOAD for tests/process/swap.py: fstatvfs() describes the file system
// EKS_NODE_TEST_STATVFS="TOTAL_MIB:AVAIL_MIB" says, so that eks-node-swap's
// free-space check can be tried on the test's own disk without filling it
// (the check refuses before a block is taken; without it the file is made
// for real, small enough that this does not matter). Unset: the real answer.
#include <dlfcn.h>
#include <sys/statvfs.h>

#include <cstdio>
#include <cstdlib>

namespace {

void describe(struct statvfs* v) {
    const char* spec = std::getenv("EKS_NODE_TEST_STATVFS");
    unsigned long long total = 0, avail = 0;
    if (!spec || std::sscanf(spec, "%llu:%llu", &total, &avail) != 2) return;
    v->f_bsize = v->f_frsize = 1u << 20;
    v->f_blocks = total;
    v->f_bfree = v->f_bavail = avail;
}

}  // namespace

extern "C" int fstatvfs(int fd, struct statvfs* v) noexcept {
    using Real = int (*)(int, struct statvfs*);
    static const Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "fstatvfs"));
    const int r = real(fd, v);
    if (r == 0) describe(v);
    return r;
}
