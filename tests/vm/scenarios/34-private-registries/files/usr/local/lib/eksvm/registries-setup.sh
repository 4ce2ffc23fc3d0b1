#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# VM 34-private-registries' inputs, made in the guest at test time:
#
#   registries-setup.sh setup      the run's CA and server certificate for registry.eksvm.test and
#                                  mirror.eksvm.test (made on the host: run-scenario.sh), a password for the mirror's
#                                  basic auth, both names on 127.0.0.1 in /etc/hosts, and the
#                                  node.toml fragment with everything (eksvm-private-setup.service,
#                                  before eks-node-config)
#   registries-setup.sh fragment [--no-trust] [--no-mirror] [--no-credentials]
#                                  the fragment again, without what is named (check.sh's re-runs)
#
# The password is the case's planted secret: no command line, output or log line holds it
# (printf is bash's own; check.sh greps with -f). Names, not 127.0.0.1: containerd's resolver
# speaks plain HTTP to a loopback host whose hosts.toml sets no server (tests/vm/guest/registry.py).
set -euo pipefail
dir=/run/eksvm-registries
fragment=/etc/eks-node/node.toml.d/50-private-registries.toml

write_fragment() {
  local trust=1 mirror=1 credentials=1 password tmp
  local a
  for a in "$@"; do
    case $a in
      --no-trust) trust=0 ;;
      --no-mirror) mirror=0 ;;
      --no-credentials) credentials=0 ;;
      *) echo "registries-setup.sh: unknown option $a" >&2; exit 2 ;;
    esac
  done
  IFS=: read -r _ password <"$dir/basic-auth"
  mkdir -p "${fragment%/*}"
  tmp=$fragment.tmp
  (
    umask 077
    {
      echo "# VM 34-private-registries, written by registries-setup.sh (trust=$trust mirror=$mirror credentials=$credentials)"
      echo "[settings.prePull]"
      echo 'images = ["registry.eksvm.test:5443/eks-node/private:v1"]'
      echo 'timeout = "2m"'
      if ((trust)); then
        echo
        echo "[settings.trust.eksvm-registries]"
        echo "certificates = \"\"\""
        cat "$dir/ca.pem"
        echo "\"\"\""
      fi
      if ((mirror)); then
        echo
        echo '[settings.registries."registry.eksvm.test:5443"]'
        echo 'mirrors = [{ endpoint = "https://mirror.eksvm.test:5444" }]'
      fi
      if ((credentials)); then
        echo
        echo '[settings.registries."mirror.eksvm.test:5444"]'
        echo 'username = "puller"'
        printf 'password = "%s"\n' "$password"
      fi
    } >"$tmp"
  )
  mv "$tmp" "$fragment"
}

setup() {
  rm -rf "$dir"
  mkdir -m 0700 "$dir"
  cp /run/eksvm/in/registry-tls/{ca.pem,server.pem,server.key} "$dir/"
  cd "$dir"
  (
    umask 077
    printf 'puller:%s\n' "$(openssl rand -hex 16)" >basic-auth
    IFS=: read -r _ password <basic-auth
    printf '%s\n' "$password" >password
  )
  grep -qw registry.eksvm.test /etc/hosts || printf '127.0.0.1 registry.eksvm.test mirror.eksvm.test\n' >>/etc/hosts
  write_fragment
}

case ${1:-} in
  setup) setup ;;
  fragment) shift; write_fragment "$@" ;;
  *) echo "usage: registries-setup.sh setup | fragment [--no-trust] [--no-mirror] [--no-credentials]" >&2; exit 2 ;;
esac
