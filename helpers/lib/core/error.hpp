// SPDX-License-Identifier: Apache-2.0
// Errors carry their exit code (systemd.exec(5) conventions) and their context.
// Library code throws; the step's main logs once and exits with err.exit_code().
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace eksnode {

enum ExitCode : int {
    EXIT_OK = 0,
    EXIT_FAILURE_ = 1,   // generic failure
    EXIT_USAGE = 2,      // bad command line
    EXIT_CONFIG = 6,     // bad or missing configuration (EXIT_NOTCONFIGURED)
    EXIT_TEMPFAIL = 75,  // temporary failure, e.g. network; worth a retry
};

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what, int code = EXIT_FAILURE_)
        : std::runtime_error(what), code_(code) {}
    int exit_code() const noexcept { return code_; }

private:
    int code_;
};

// Bad input. Message format: "<source>: <field>: <problem>", e.g.
//   user data (MIME part 2, application/node.eks.aws): spec.cluster.cidr: "10.100.0.0/33" is not a CIDR
class ConfigError : public Error {
public:
    ConfigError(const std::string& source, const std::string& field, const std::string& problem)
        : Error(compose(source, field, problem), EXIT_CONFIG),
          source_(source), field_(field), problem_(problem) {}
    const std::string& source() const noexcept { return source_; }
    const std::string& field() const noexcept { return field_; }
    const std::string& problem() const noexcept { return problem_; }

private:
    static std::string compose(const std::string& s, const std::string& f, const std::string& p) {
        std::string out = s;
        if (!f.empty()) out += (out.empty() ? "" : ": ") + f;
        if (!p.empty()) out += (out.empty() ? "" : ": ") + p;
        return out;
    }
    std::string source_, field_, problem_;
};

// No AWS credentials of any kind (no AWS_* variables, no instance profile):
// no EC2 or EKS call can be made. A lookup with an offline answer (the node
// name from IMDS, the default max pods) catches it and says so; one without
// (the cluster from its name alone) lets it through: exit 6.
class NoCredentialsError : public ConfigError {
public:
    using ConfigError::ConfigError;
};

// An AWS service refused the call itself: no permission for the action, or
// credentials it does not accept. Not retried (exit 6); a lookup with an
// answer of its own when the service cannot be asked (AL2's cluster DNS from
// the VPC, settings.serviceCidrStrategy) catches it and says so.
class AccessDeniedError : public ConfigError {
public:
    AccessDeniedError(const std::string& source, const std::string& field, const std::string& problem,
                      std::string refusal = {})
        : ConfigError(source, field, problem), refusal_(std::move(refusal)) {}
    // The refusal alone ("eks:DescribeCluster at URL was refused:
    // AccessDeniedException (HTTP 403)"), without the advice of problem().
    std::string refusal() const { return refusal_.empty() ? problem() : refusal_; }

private:
    std::string refusal_;
};

class UsageError : public Error {
public:
    explicit UsageError(const std::string& what) : Error(what, EXIT_USAGE) {}
};

class TempError : public Error {
public:
    explicit TempError(const std::string& what) : Error(what, EXIT_TEMPFAIL) {}
};

}  // namespace eksnode
