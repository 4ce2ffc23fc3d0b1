# The one plugin the template needs. Packer 1.7+ installs it with
# `packer init .`; Debian 12's Packer 1.6.6 has amazon-ebs built in and does
# not know this block, so tests/packer/check.sh validates the template
# without this file (packer/README.md, "Checks").
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.2.0"
    }
  }
}
