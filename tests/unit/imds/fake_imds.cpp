// SPDX-License-Identifier: Apache-2.0
#include "fake_imds.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fsutil.hpp"
#include "fixtures.hpp"

extern char** environ;

namespace eksnode::test {

fs::path conformance_instance_json() { return test::source_path("tests/conformance/instance/imds.json"); }

bool have_ipv6_loopback() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

FakeImds::FakeImds(std::vector<std::string> args, const std::string& bind) {
    // under $TMPDIR: the test command may point it at a fresh directory
    std::string tmpl = (std::filesystem::temp_directory_path() / "eksnode-fake-imds-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = tmpl;

    bool has_data = false;
    for (const auto& a : args) has_data |= a.starts_with("--data=");
    std::string program = fake_imds_program().string();
    std::vector<std::string> argv = {program, "--port=0", "--port-file=" + (dir_ / "port").string(),
                                     "--log=" + (dir_ / "log").string(), "--bind=" + bind};
    if (!has_data) argv.push_back("--data=" + conformance_instance_json().string());
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    if (int rc = ::posix_spawn(&pid_, program.c_str(), nullptr, nullptr, cargv.data(), environ); rc != 0)
        throw std::runtime_error(std::string("cannot start the fake IMDS: ") + std::strerror(rc));

    // The fake writes its port file (atomically) once it listens (with down or late: once
    // bound); poll for it, as its start-up is all we wait for.
    using namespace std::chrono;
    auto give_up = steady_clock::now() + seconds(10);
    for (;;) {
        if (auto port = read_file_if_exists(dir_ / "port")) {
            int n = std::atoi(port->c_str());
            endpoint_ = bind.find(':') != std::string::npos ? "http://[" + bind + "]:" + std::to_string(n)
                                                             : "http://" + bind + ":" + std::to_string(n);
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("the fake IMDS exited before binding its port (see stderr)");
        }
        if (steady_clock::now() > give_up) throw std::runtime_error("the fake IMDS did not bind within 10 s");
        std::this_thread::sleep_for(milliseconds(5));
    }
}

FakeImds::~FakeImds() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::vector<std::string> FakeImds::log() const {
    std::vector<std::string> lines;
    std::ifstream in(dir_ / "log");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

int FakeImds::count(std::string_view prefix) const {
    int n = 0;
    for (const auto& l : log()) n += l.starts_with(prefix);
    return n;
}

bool FakeImds::logged(std::string_view prefix) const {
    for (int i = 0; i < 1000; ++i) {
        if (count(prefix) > 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return false;
}

}  // namespace eksnode::test
