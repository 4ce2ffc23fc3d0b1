// SPDX-License-Identifier: Apache-2.0
// fake-imds: the command line (README.md's options table), then the server.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include "fake_imds.hpp"

namespace {

using namespace fakeimds;

constexpr const char* kUsage =
    "usage: fake-imds [--data FILE] [--user-data FILE] [--set PATH=VALUE]... [--set-file PATH=FILE]...\n"
    "                 [--unset PATH]... [--bind ADDR]... [--port N] [--port-file FILE] [--log FILE]\n"
    "                 [--fault SPEC]... [--fault-file FILE] [--token TOKEN] [--verbose]\n"
    "A fake EC2 instance metadata service (IMDSv2) with fault injection (tests/fake-imds/README.md).\n"
    "faults: down | late:SECONDS | status:CODE:N[:METHOD] | token-expire:N | slow:MS | truncate:N |\n"
    "        hangup:N | garbage:N | chunked | no-length | dribble:N | redirect:N[:CODE[:METHOD]] |\n"
    "        set:PATH=VALUE | unset:PATH\n";

struct Command {
    Options server;
    std::string data, user_data, token;
    std::vector<std::pair<std::string, std::string>> sets, set_files;
    std::vector<std::string> unsets, faults;
};

std::pair<std::string, std::string> path_value(const std::string& option, const std::string& value) {
    auto eq = value.find('=');
    if (eq == std::string::npos) throw UsageError(option + " needs PATH=" + (option == "--set" ? "VALUE" : "FILE"));
    return {strip_slashes(value.substr(0, eq)), value.substr(eq + 1)};
}

Command parse(int argc, char** argv) {
    Command c;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (arg == "--verbose") {
            c.server.verbose = true;
            continue;
        }
        // --name VALUE and --name=VALUE
        std::string name = arg, value;
        if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw UsageError(arg + ": unknown option or missing value");
        }
        if (name == "--port") {
            char* end = nullptr;
            long port = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || port < 0 || port > 65535)
                throw UsageError("--port: not a port: " + value);
            c.server.port = static_cast<int>(port);
        } else if (name == "--bind") {
            c.server.binds.push_back(value);
        } else if (name == "--port-file") {
            c.server.port_file = value;
        } else if (name == "--log") {
            c.server.log = value;
        } else if (name == "--fault-file") {
            c.server.fault_file = value;
        } else if (name == "--fault") {
            c.faults.push_back(value);
        } else if (name == "--data") {
            c.data = value;
        } else if (name == "--user-data") {
            c.user_data = value;
        } else if (name == "--set") {
            c.sets.push_back(path_value(name, value));
        } else if (name == "--set-file") {
            c.set_files.push_back(path_value(name, value));
        } else if (name == "--unset") {
            c.unsets.push_back(strip_slashes(value));
        } else if (name == "--token") {
            // a header value as it is: no blank, no control character
            if (value.empty() ||
                !std::all_of(value.begin(), value.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; }))
                throw UsageError("--token must be visible ASCII");
            c.token = value;
        } else {
            throw UsageError("unknown option " + name);
        }
    }
    if (c.server.binds.empty()) c.server.binds.emplace_back("127.0.0.1");
    return c;
}

std::string file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(path + ": " + std::strerror(errno));
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// --data, then --set, --set-file, --unset in that order, then --user-data.
Data load(const Command& c) {
    Data data = c.data.empty() ? Data{} : load_json_data(c.data);
    for (const auto& [path, value] : c.sets) data[path] = value;
    // byte for byte: NUL bytes, bytes that are not UTF-8
    for (const auto& [path, file] : c.set_files) data[path] = file_bytes(file);
    for (const auto& path : c.unsets) data.erase(path);
    if (!c.user_data.empty()) data["user-data"] = file_bytes(c.user_data);
    return data;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Command c = parse(argc, argv);
        auto specs = c.faults;
        if (!c.server.fault_file.empty()) {
            auto more = read_fault_file(c.server.fault_file);
            specs.insert(specs.end(), more.begin(), more.end());
        }
        Faults faults = parse_faults(specs);
        int log_fd = -1;
        if (!c.server.log.empty()) {
            log_fd = ::open(c.server.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (log_fd < 0) throw std::runtime_error(c.server.log + ": " + std::strerror(errno));
        }
        Imds imds(load(c), std::move(faults), c.token, log_fd, c.server.verbose);
        // SIGTERM (systemd, the tests) ends the server at once, and that is a clean end
        std::signal(SIGTERM, [](int) { _exit(0); });
        serve(c.server, imds);
    } catch (const UsageError& e) {
        std::cerr << "fake-imds: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "fake-imds: " << e.what() << "\n";
        return 1;
    }
}
