// SPDX-License-Identifier: Apache-2.0
// Runs the build's tests/fake-imds/fake-imds on a loopback port for one test.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "core/paths.hpp"

namespace eksnode::test {

class FakeImds {
public:
    // `args` go to fake-imds after --port --port-file --log --bind; without
    // --data=FILE it serves tests/conformance/instance/imds.json.
    explicit FakeImds(std::vector<std::string> args = {}, const std::string& bind = "127.0.0.1");
    ~FakeImds();
    FakeImds(const FakeImds&) = delete;
    FakeImds& operator=(const FakeImds&) = delete;

    // "http://127.0.0.1:PORT" or "http://[::1]:PORT".
    const std::string& endpoint() const { return endpoint_; }
    // The request log, one "METHOD PATH STATUS [NOTE]" line per request.
    std::vector<std::string> log() const;
    // Log lines that start with `prefix` ("GET ", "PUT /latest/api/token 200").
    int count(std::string_view prefix) const;
    // Waits until a log line starts with `prefix`, at most ten seconds (a hang guard, not a
    // budget): a request the client gave up on is logged whenever the fake's handler gets to
    // it, which on a loaded machine can be after the client has returned. True once there.
    bool logged(std::string_view prefix) const;
    const fs::path& dir() const { return dir_; }

private:
    pid_t pid_ = -1;
    fs::path dir_;
    std::string endpoint_;
};

// The build's fake IMDS program (tests/unit/source_root.cpp).
fs::path fake_imds_program();

// The conformance instance, which the fake serves unless told otherwise.
fs::path conformance_instance_json();

// True when this machine can bind ::1 (CI containers sometimes lack IPv6).
bool have_ipv6_loopback();

}  // namespace eksnode::test
