// SPDX-License-Identifier: Apache-2.0
// eks-node-ebs-volumes: finds the EBS volumes of spec.instance.storage.volumes,
// formats the blank ones, and links them for the generated .mount units.
// See eks-node-ebs-volumes(8).
#include "steps/entries.hpp"

int main(int argc, char** argv) {
    return eksnode::steps::step_main(argc, argv, eksnode::steps::ebs_volumes_spec, eksnode::steps::ebs_volumes);
}
