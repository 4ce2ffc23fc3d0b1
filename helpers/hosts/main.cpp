// eks-node-hosts: the Outposts API server's addresses in /etc/hosts.
// See eks-node-hosts(8).
#include "core/step.hpp"
#include "render/render.hpp"

int main(int argc, char** argv) {
    const eksnode::StepSpec spec{"hosts", "pin the Outposts API server in /etc/hosts"};
    return eksnode::run_step(argc, argv, spec, eksnode::render_step<eksnode::render_hosts>);
}
