# Example of the custom runtime hook: a VM-based runtime next to runc
# (Kontain's krun, as in its EKS custom-AMI guide), without forking the
# template: the same eks-node configuration a node could get in user data
# (eks-node.toml(5), RUNTIME HANDLERS). eks-node checks the binary and the
# module at build (eks-node render --image) and at boot, has systemd load the
# module before containerd starts, and prints the RuntimeClass for the
# cluster (eks-node runtime-class). Pods select it with runtimeClassName: krun.
# Combine with a variant: -var-file=variants/standard.pkrvars.hcl -var-file=THIS.
#
# The runtime's own files are the image builder's to add: AL2023 packages no
# krun (nor any OCI runtime but runc), so there is no package name to put in
# extra_packages here. Where a runtime has one in AL2023's repositories, name
# it there (extra_packages = ["NAME"]); without the binary on the image the
# build stops at `eks-node render --image`, naming the handler.
runtime_handlers_toml = <<-EOT
  [settings.runtimes.krun]
  binary = "/opt/kontain/bin/krun"
  kernelModules = ["kvm"]
  podAnnotations = ["app.kontain.*"]
  EOT
