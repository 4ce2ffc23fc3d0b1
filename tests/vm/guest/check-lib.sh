# shellcheck shell=bash
# Helpers for a scenario's check.sh (shipped into the VM per run; source "$EKSVM_IN/check-lib.sh").
#   check "what it proves" COMMAND...   run COMMAND; print "ok"/"not ok" with its output
#   imds_get PATH                       GET /latest/PATH from the fake IMDS with a fresh token
#   finish                              summary line; exit 1 if any check failed
_eksvm_passed=0
_eksvm_failed=0

check() {
  local what=$1 output
  shift
  if output=$("$@" 2>&1); then
    _eksvm_passed=$((_eksvm_passed + 1))
    echo "ok - $what"
  else
    _eksvm_failed=$((_eksvm_failed + 1))
    echo "not ok - $what"
    echo "    \$ $*"
    # shellcheck disable=SC2001 # indent every line
    sed 's/^/    /' <<<"$output"
  fi
}

imds_get() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    http://169.254.169.254/latest/api/token) &&
    curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" \
      "http://169.254.169.254/latest/$1"
}

finish() {
  echo "checks: $_eksvm_passed passed, $_eksvm_failed failed"
  ((_eksvm_failed == 0))
}
