# Example of the custom runtime hook: a VM-based runtime next to runc
# (Kontain's krun, as in its EKS custom-AMI guide), without forking the
# template. Pods select it with a RuntimeClass whose handler is "krun".
# Combine with a variant: -var-file=variants/standard.pkrvars.hcl -var-file=THIS.
extra_packages       = ["kontain-krun"]
extra_kernel_modules = ["kvm"]
runtime_handlers = [
  {
    name         = "krun"
    runtime_type = "io.containerd.runc.v2"
    binary_name  = "/opt/kontain/bin/krun"
  },
]
