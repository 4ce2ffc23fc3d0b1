# eks-node AMI on Amazon Linux 2023 (x86_64 or arm64). Every image-time step
# is a script in provisioners/, run in order by provisioners/run.sh; the VM
# test image (tests/vm/build-image.sh) runs the same scripts on Debian.
#
#   packer init .    (Packer >= 1.7: installs the amazon plugin, plugins.pkr.hcl)
#   packer build -var-file=variants/standard.pkrvars.hcl -var eks_node_package=OUT/eks-node-VERSION-1.x86_64.rpm .
#                    (OUT: packaging/build.py's output directory; packer/README.md)

locals {
  timestamp     = formatdate("YYYYMMDDhhmmss", timestamp())
  instance_type = var.instance_type != "" ? var.instance_type : (var.arch == "arm64" ? "m6g.large" : "m6i.large")
  ami_name      = var.ami_name != "" ? var.ami_name : "eks-node-al2023-${var.variant}-${var.kubernetes_version}-${var.arch}-${local.timestamp}"
  s3_source     = var.binary_bucket_path != "" ? "s3://${var.binary_bucket_name}/${var.binary_bucket_path}" : "s3://${var.binary_bucket_name}"
  # Where run.sh finds the binaries on the builder: the bucket, or the upload of binary_local_path.
  binary_source = var.binary_bucket_name != "" ? local.s3_source : "/tmp/eks-bin"
  # A file provisioner cannot be switched off: with the bucket in use it uploads the small
  # provisioners/files/ directory to the same scratch place instead, where nothing reads it.
  binary_upload    = var.binary_local_path != "" ? var.binary_local_path : "${path.root}/provisioners/files"
  eks_node_package = "/tmp/${basename(var.eks_node_package)}"
  runtime_handlers = join(" ", [for h in var.runtime_handlers : "${h.name}=${h.runtime_type}=${h.binary_name}"])
}

source "amazon-ebs" "al2023" {
  region        = var.aws_region
  instance_type = local.instance_type
  subnet_id     = var.subnet_id
  ssh_username  = "ec2-user"

  source_ami_filter {
    filters = {
      name                = replace(var.source_ami_name, "ARCH", var.arch)
      architecture        = var.arch
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  ami_name                = local.ami_name
  ami_description         = var.ami_description
  ami_regions             = var.ami_regions
  ami_users               = var.ami_users
  ami_virtualization_type = "hvm"
  ena_support             = true
  sriov_support           = true

  launch_block_device_mappings {
    device_name = "/dev/xvda"
    volume_size = var.volume_size
    volume_type = var.volume_type
    # gp3 and io1/io2 are provisioned; gp2 takes neither setting
    iops                  = var.volume_type == "gp2" ? null : var.volume_iops
    throughput            = var.volume_type == "gp3" ? var.volume_throughput : null
    delete_on_termination = true
    encrypted             = true
  }

  # IMDSv2 only, on the build instance and (imds_support) on every instance of the AMI.
  # Both are newer than Packer 1.6's built-in builder: tests/packer/check.sh drops them
  # from its copy for Debian's Packer and checks them separately.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = var.imds_hop_limit
  }
  imds_support = "v2.0"

  tags = {
    Name              = local.ami_name
    eks-node-variant  = var.variant
    hardening         = var.hardening
    kubernetes        = var.kubernetes_version
    kubelet           = var.kubelet_version
    containerd        = var.containerd_version
    base-ami          = "{{ .SourceAMI }}"
    base-ami-name     = "{{ .SourceAMIName }}"
    build-timestamp   = local.timestamp
    eks-node-template = "packer/al2023.pkr.hcl"
  }
}

build {
  sources = ["source.amazon-ebs.al2023"]

  provisioner "file" {
    source      = "${path.root}/provisioners"
    destination = "/tmp"
  }

  # eks-node: the package built from the commit, installed by 30-eks-node with dnf (its
  # scriptlets, its dependencies); its own name, which says its version, kept
  provisioner "file" {
    source      = var.eks_node_package
    destination = local.eks_node_package
  }

  provisioner "file" {
    source      = local.binary_upload
    destination = "/tmp/eks-bin"
  }

  provisioner "shell" {
    execute_command = "sudo -E env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "EKS_IMAGE_KIND=ami",
      "EKS_VARIANT=${var.variant}",
      "EKS_KUBERNETES_VERSION=${var.kubernetes_version}",
      "EKS_KUBELET_VERSION=${var.kubelet_version}",
      "EKS_CONTAINERD_VERSION=${var.containerd_version}",
      "EKS_RUNC_VERSION=${var.runc_version}",
      "EKS_CNI_PLUGINS_VERSION=${var.cni_plugins_version}",
      "EKS_ECR_CREDENTIAL_PROVIDER_VERSION=${var.ecr_credential_provider_version}",
      "EKS_NVIDIA_DRIVER_VERSION=${var.nvidia_driver_version}",
      "EKS_EFA_VERSION=${var.efa_version}",
      "EKS_BINARY_SOURCE=${local.binary_source}",
      "EKS_BINARY_REGION=${var.binary_bucket_region}",
      "EKS_NODE_PACKAGE=${local.eks_node_package}",
      "EKS_EXTRA_PACKAGES=${join(" ", var.extra_packages)}",
      "EKS_EXTRA_KERNEL_MODULES=${join(" ", var.extra_kernel_modules)}",
      "EKS_RUNTIME_HANDLERS=${local.runtime_handlers}",
      # TOML spans lines: base64, so that the environment carries it whole
      "EKS_RUNTIME_HANDLERS_TOML=${base64encode(var.runtime_handlers_toml)}",
      "EKS_PAUSE_IMAGE=${var.pause_image}",
      "EKS_CACHE_PAUSE_IMAGE=${var.cache_pause_image}",
      "EKS_CACHE_ADDON_IMAGES=${var.cache_addon_images}",
      "EKS_SOCI_SNAPSHOTTER=${var.soci_snapshotter}",
      "EKS_AWS_CLI=${var.install_aws_cli}",
      "EKS_CRICTL=${var.install_crictl}",
      "EKS_FIPS=${var.variant == "fips"}",
      "EKS_HARDENING=${var.hardening}",
      "EKS_READAHEAD_RECORD=${var.readahead_record}",
    ]
    inline = ["bash /tmp/provisioners/run.sh", "rm -rf /tmp/provisioners /tmp/eks-bin ${local.eks_node_package}"]
  }
}
