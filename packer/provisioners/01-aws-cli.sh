#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The AWS CLI. In the image only with EKS_AWS_CLI=true (install_aws_cli): for a kubeconfig
# whose credential plugin is `aws eks get-token`; the node itself needs it for nothing else.
# The build may need it for itself: binaries from S3 (EKS_BINARY_SOURCE=s3://...) and the
# pause image from ECR (80-pause-image without an archive) are fetched with it. Then it is
# installed for the build and 90-cleanup removes it again; a CLI the base image brought is
# left as it was.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [[ ${EKS_AWS_CLI:-false} == true ]]; then
  pkg_install aws-cli
  log "the AWS CLI stays in the image (EKS_AWS_CLI)"
  exit 0
fi
needs=()
[[ ${EKS_BINARY_SOURCE:-} == s3://* ]] && needs+=("the binaries from $EKS_BINARY_SOURCE")
[[ ${EKS_CACHE_PAUSE_IMAGE:-true} == true && -z ${EKS_PAUSE_IMAGE_ARCHIVE:-} ]] &&
  needs+=("the pause image from ECR")
[[ ${EKS_CACHE_PAUSE_IMAGE:-true} == true && ${EKS_CACHE_ADDON_IMAGES:-true} == true && -z ${EKS_ADDON_IMAGE_ARCHIVES:-} ]] &&
  needs+=("the add-on images' versions from EKS and the images from ECR")
((${#needs[@]})) || skip "EKS_AWS_CLI is not true, and the build fetches nothing with it"
if pkg_installed aws-cli && ! grep -qx aws-cli "$build_only_list" 2>/dev/null; then
  log "the base image has the AWS CLI: used for the build and kept"
  exit 0
fi
pkg_install aws-cli
build_only aws-cli
log "the AWS CLI for the build (${needs[*]}); 90-cleanup removes it"
