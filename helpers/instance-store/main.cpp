// SPDX-License-Identifier: Apache-2.0
// eks-node-instance-store: the md array and XFS filesystems that the
// generated .mount units put on the EC2 instance-store disks.
// See eks-node-instance-store(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::instance_store_spec, eksnode::steps::instance_store);
}
