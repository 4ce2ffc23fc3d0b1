// eks-node-instance-store: the md array and XFS filesystems that the
// generated .mount units put on the EC2 instance-store disks.
// See eks-node-instance-store(8).
#include "core/step.hpp"
#include "storage/apply.hpp"

int main(int argc, char** argv) {
    const eksnode::StepSpec spec{"instance-store", "set up the EC2 instance-store disks"};
    return eksnode::run_step(argc, argv, spec, eksnode::storage::apply_instance_store);
}
