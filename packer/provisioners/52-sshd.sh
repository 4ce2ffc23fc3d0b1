#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sshd without weak ciphers, MACs and key exchanges (CBC modes, SHA-1, the
# 1024-bit group). Skipped where there is no OpenSSH server.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [[ ! -d /etc/ssh ]] || ! command -v sshd >/dev/null; then
  skip "no OpenSSH server in this image"
fi
put 0644 /etc/ssh/sshd_config.d/40-eks-node-crypto.conf <<'CONF'
# Installed by the eks-node image build: strong algorithms only.
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha256
CONF
grep -qE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config ||
  die "/etc/ssh/sshd_config does not include sshd_config.d/*.conf"
sshd -t
