# Every input of the AMI build. Versions are checked with regex_replace(...) == "":
# Packer 1.6 has no regex() in validation conditions and its can() is always
# false there; this form works there and in current Packer alike.

# --- What the image runs -----------------------------------------------------

variable "variant" {
  type        = string
  description = "Image flavour: standard, nvidia, neuron, fips or ecs (one var file each in variants/)."
  default     = "standard"
  validation {
    condition     = contains(["standard", "nvidia", "neuron", "fips", "ecs"], var.variant)
    error_message = "The variant must be one of standard, nvidia, neuron, fips, ecs."
  }
}

variable "hardening" {
  type        = string
  description = "Hardening profile of 71-cis-hardening: cis (CIS Level 1, the default), stig (CIS plus STIG items; variants/stig, variants/fedramp) or none (opt out)."
  default     = "cis"
  validation {
    condition     = contains(["cis", "stig", "none"], var.hardening)
    error_message = "The hardening must be one of cis, stig, none."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version the AMI is for (MAJOR.MINOR); names the AMI and /etc/eks/release."
  default     = "1.31"
  validation {
    condition     = regex_replace(var.kubernetes_version, "^1[.][0-9]+$", "") == ""
    error_message = "The kubernetes_version must be MAJOR.MINOR, such as 1.31."
  }
}

variable "kubelet_version" {
  type        = string
  description = "Exact kubelet release (MAJOR.MINOR.PATCH); the installed binary must report it."
  default     = "1.31.2"
  validation {
    condition     = regex_replace(var.kubelet_version, "^1[.][0-9]+[.][0-9]+$", "") == ""
    error_message = "The kubelet_version must be MAJOR.MINOR.PATCH, such as 1.31.2."
  }
}

variable "containerd_version" {
  type        = string
  description = "containerd package version, a prefix (\"1.7\" takes the newest 1.7.x of the repository)."
  default     = "1.7"
  validation {
    condition     = regex_replace(var.containerd_version, "^[12]([.][0-9]+){1,2}$", "") == ""
    error_message = "The containerd_version must be 1.x or 2.x, MAJOR.MINOR[.PATCH]."
  }
}

variable "runc_version" {
  type        = string
  description = "runc package version, a prefix (\"1.1\")."
  default     = "1.1"
  validation {
    condition     = regex_replace(var.runc_version, "^1([.][0-9]+){1,2}$", "") == ""
    error_message = "The runc_version must be 1.MINOR[.PATCH]."
  }
}

variable "cni_plugins_version" {
  type        = string
  description = "Reference CNI plugins release (MAJOR.MINOR.PATCH), installed into /opt/cni/bin."
  default     = "1.5.1"
  validation {
    condition     = regex_replace(var.cni_plugins_version, "^[0-9]+[.][0-9]+[.][0-9]+$", "") == ""
    error_message = "The cni_plugins_version must be MAJOR.MINOR.PATCH, such as 1.5.1."
  }
}

variable "ecr_credential_provider_version" {
  type        = string
  description = "ecr-credential-provider release (MAJOR.MINOR.PATCH), recorded next to the binary."
  default     = "1.31.0"
  validation {
    condition     = regex_replace(var.ecr_credential_provider_version, "^[0-9]+[.][0-9]+[.][0-9]+$", "") == ""
    error_message = "The ecr_credential_provider_version must be MAJOR.MINOR.PATCH."
  }
}

variable "nvidia_driver_version" {
  type        = string
  description = "NVIDIA driver branch or release for the nvidia variant (\"560\" or \"560.35.03\"); empty otherwise."
  default     = ""
  validation {
    condition     = regex_replace(var.nvidia_driver_version, "^([0-9]+([.][0-9]+){0,2})?$", "") == ""
    error_message = "The nvidia_driver_version must be empty or a number such as 560 or 560.35.03."
  }
}

variable "efa_version" {
  type        = string
  description = "AWS EFA installer release (MAJOR.MINOR.PATCH); empty: no EFA."
  default     = ""
  validation {
    condition     = regex_replace(var.efa_version, "^([0-9]+[.][0-9]+[.][0-9]+)?$", "") == ""
    error_message = "The efa_version must be empty or MAJOR.MINOR.PATCH."
  }
}

variable "pause_image" {
  type        = string
  description = "Pause image pulled at build time and cached, pinned, as localhost/kubernetes/pause:latest."
  default     = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10"
  validation {
    condition     = regex_replace(var.pause_image, "^[0-9]+[.]dkr[.]ecr[.][a-z0-9-]+[.]amazonaws[.]com[^:]*:[A-Za-z0-9._-]+$", "") == ""
    error_message = "The pause_image must be an ECR image reference with a tag."
  }
}

variable "soci_snapshotter" {
  type        = bool
  description = "Install the SOCI snapshotter, which the FastImagePull feature gate needs (eks-node-containerd(8))."
  default     = true
}

variable "cache_pause_image" {
  type        = bool
  description = "Cache the pause image in the AMI (false: nodes pull the regional EKS pause image with kubelet's image credentials before kubelet starts, eks-node-sandbox-image(8))."
  default     = true
}

variable "readahead_record" {
  type        = bool
  description = "Boot the finished image once in systemd-nspawn against a stand-in cluster and record which ranges of the join's files it reads (95-readahead), so that nodes read only those from the lazily loaded root volume (eks-node-readahead(8), RECORDING). false: nodes read the listed files whole."
  default     = true
}

variable "cache_addon_images" {
  type        = bool
  description = "With cache_pause_image: also cache, pinned, the default and latest kube-proxy, amazon-k8s-cni and amazon-k8s-cni-init images of their EKS add-ons for kubernetes_version, from the pause image's registry (80-pause-image)."
  default     = true
}

variable "install_crictl" {
  type        = bool
  description = "Install crictl (27-crictl) from the binary source, bin/linux/ARCH/crictl with its .sha256, and /etc/crictl.yaml. AL2023 packages no cri-tools and amazon-eks-ami's AL2023 recipe installs no crictl, so the default is false: set it where your binary source carries a cri-tools release's crictl."
  default     = false
}

variable "install_aws_cli" {
  type        = bool
  description = "Keep the AWS CLI in the AMI, for a kubeconfig whose credential plugin is `aws eks get-token`. The build installs it for itself where it fetches from S3 or ECR, and removes it again unless this is true."
  default     = false
}

# --- Custom runtime hook (no fork of the template needed) ----------------------

variable "extra_packages" {
  type        = list(string)
  description = "More dnf packages to install, e.g. a container runtime's own package."
  default     = []
}

variable "extra_kernel_modules" {
  type        = list(string)
  description = "More kernel modules to load at every boot (modules-load.d)."
  default     = []
}

variable "runtime_handlers" {
  type = list(object({
    name         = string
    runtime_type = string
    binary_name  = string
  }))
  description = "containerd runtime handlers (name, runtime_type, binary: the OCI runtime for io.containerd.runc.v2, else the shim), baked in as eks-node's settings.runtimes (eks-node.toml(5), RUNTIME HANDLERS)."
  default     = []
  validation {
    # no alltrue() in the Packer that tests/packer/check.sh runs: count the bad ones
    condition     = length([for h in var.runtime_handlers : h if ! (can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", h.name)) && can(regex("^/", h.binary_name)))]) == 0
    error_message = "Each runtime handler needs a DNS-label name and an absolute binary_name."
  }
}

variable "runtime_handlers_toml" {
  type        = string
  description = "eks-node TOML with [settings.runtimes.NAME] tables (every field: type, binary, options, privilegedWithoutHostDevices, podAnnotations, kernelModules, default), baked in with runtime_handlers as an image default; checked with `eks-node config check` at build."
  default     = ""
}

# --- Where the binaries come from ------------------------------------------------

variable "binary_bucket_name" {
  type        = string
  description = "S3 bucket holding bin/linux/ARCH/{kubelet,ecr-credential-provider,...} and a .sha256 beside each; empty: use binary_local_path."
  default     = ""
}

variable "binary_bucket_path" {
  type        = string
  description = "Key prefix in binary_bucket_name above bin/, e.g. 1.31.2/2024-11-15."
  default     = ""
}

variable "binary_bucket_region" {
  type        = string
  description = "Region of binary_bucket_name."
  default     = "us-west-2"
}

variable "binary_local_path" {
  type        = string
  description = "Directory on the machine running Packer with the same bin/linux/ARCH layout; uploaded to the builder when binary_bucket_name is empty."
  default     = ""
}

# --- eks-node itself --------------------------------------------------------------

# No default: an AMI is built from one commit's package, named on purpose. Nothing is compiled
# on the image, so without it there is no eks-node to install.
variable "eks_node_package" {
  type        = string
  description = "The eks-node .rpm built from the commit (packaging/build.py BUILD_DIR ARCH OUTDIR: OUTDIR/eks-node-VERSION-1.ARCH.rpm, ARCH x86_64 or aarch64 as arch) on the machine running Packer; uploaded and installed with dnf by 30-eks-node."
  default     = ""
  validation {
    condition     = var.eks_node_package != ""
    error_message = "The eks_node_package is not set: build the package first (packaging/build.py BUILD_DIR x86_64 OUTDIR) and pass -var eks_node_package=OUTDIR/eks-node-VERSION-1.x86_64.rpm; the AMI installs it, nothing is compiled on the image."
  }
  validation {
    condition     = regex_replace(var.eks_node_package, "^(.+[.]rpm)?$", "") == ""
    error_message = "The eks_node_package must be an .rpm (packaging/build.py's eks-node-VERSION-1.ARCH.rpm): AL2023 installs it with dnf, which runs its scriptlets and resolves its dependencies; a .deb or the tarball does not install there."
  }
  validation {
    # the conditional, unlike &&, evaluates one side only: fileexists("") is an error
    condition     = var.eks_node_package == "" ? true : fileexists(var.eks_node_package)
    error_message = "The eks_node_package names no file: build it first with packaging/build.py (packer/README.md, Building an AMI)."
  }
}

# --- The AMI and where it is built -----------------------------------------------

variable "arch" {
  type        = string
  description = "CPU architecture: x86_64 or arm64."
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.arch)
    error_message = "The arch must be x86_64 or arm64."
  }
}

variable "aws_region" {
  type        = string
  description = "Region the build instance runs in and the AMI is registered in first."
  default     = "us-west-2"
}

variable "instance_type" {
  type        = string
  description = "Build instance type; empty: m6i.large (x86_64) or m6g.large (arm64)."
  default     = ""
}

variable "source_ami_name" {
  type        = string
  description = "Name filter of the AL2023 base AMI; ARCH is replaced by the architecture."
  default     = "al2023-ami-minimal-2023.*-kernel-6.1-ARCH"
}

variable "subnet_id" {
  type        = string
  description = "Subnet of the build instance; empty: the default VPC's."
  default     = ""
}

variable "ami_name" {
  type        = string
  description = "AMI name; empty: eks-node-al2023-VARIANT-KUBERNETES_VERSION-ARCH-TIMESTAMP."
  default     = ""
}

variable "ami_description" {
  type        = string
  description = "AMI description."
  default     = "EKS worker node (eks-node) on Amazon Linux 2023"
}

variable "ami_regions" {
  type        = list(string)
  description = "More regions to copy the AMI to."
  default     = []
}

variable "ami_users" {
  type        = list(string)
  description = "AWS account IDs allowed to launch the AMI."
  default     = []
}

variable "volume_size" {
  type        = number
  description = "Root volume size in GiB."
  default     = 20
  validation {
    condition     = var.volume_size >= 8
    error_message = "The volume_size must be at least 8 (GiB)."
  }
}

variable "volume_type" {
  type        = string
  description = "Root volume type."
  default     = "gp3"
  validation {
    condition     = contains(["gp2", "gp3", "io1", "io2"], var.volume_type)
    error_message = "The volume_type must be gp2, gp3, io1 or io2."
  }
}

variable "volume_iops" {
  type        = number
  description = "Root volume IOPS (gp3, io1, io2)."
  default     = 3000
}

variable "volume_throughput" {
  type        = number
  description = "Root volume throughput in MiB/s (gp3 only)."
  default     = 125
  validation {
    condition     = var.volume_throughput >= 125 && var.volume_throughput <= 1000
    error_message = "The volume_throughput must be between 125 and 1000 (MiB/s)."
  }
}

variable "imds_hop_limit" {
  type        = number
  description = "IMDSv2 PUT response hop limit of the AMI's instances (2 lets pods without host networking reach IMDS)."
  default     = 2
  validation {
    condition     = var.imds_hop_limit >= 1 && var.imds_hop_limit <= 64
    error_message = "The imds_hop_limit must be between 1 and 64."
  }
}
