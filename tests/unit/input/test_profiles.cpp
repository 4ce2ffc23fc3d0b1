// SPDX-License-Identifier: Apache-2.0
// Workload profiles: laid under the sources (a source's value wins per key,
// the profile's carry its origin), valid configuration themselves, and
// documented value by value in eks-node.toml(5); settings.sysctls' names and
// values.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/support.hpp"
#include "config/validate.hpp"
#include "core/error.hpp"
#include "fixtures.hpp"
#include "input/profiles.hpp"

using namespace eksnode;
using namespace eksnode::config;
using namespace eksnode::format;
using namespace eksnode::input;

namespace {

std::string sysctls_problem(const json& sysctls) {
    try {
        profiles::read_sysctls(sysctls, "src");
    } catch (const ConfigError& e) {
        return e.field() + ": " + e.problem();
    }
    return "";
}

// Every "name = value" line of a profile's table in WORKLOAD PROFILES,
// scdoc escapes removed.
std::string profiles_man_page() {
    std::ifstream in(test::source_path("man/eks-node.toml.5.scd"));
    REQUIRE(in);
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str(), out;
    for (size_t i = 0; i < text.size(); ++i)
        if (!(text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '_')) out += text[i];
    return out;
}

// "kubelet.config.podPidsLimit = 4096" lines for a profile's values.
void lines_of(const json& v, const std::string& prefix, std::vector<std::string>& out) {
    for (const auto& [key, child] : v.items()) {
        if (child.is_object()) {
            // sysctls are listed by their own names
            lines_of(child, key == "sysctls" && prefix == "settings." ? "" : prefix + key + ".", out);
        } else {
            out.push_back(prefix + key + " = " + child.dump());
        }
    }
}

}  // namespace

TEST_CASE("a profile fills only what no source set, with its origin", "[config][profiles]") {
    json spec = {{"kubelet", {{"config", {{"podPidsLimit", 100}}}}}};
    json settings = {{"profile", "high-density"}, {"sysctls", {{"kernel.pid_max", 65536}, {"vm.swappiness", 1}}}};
    Origins origins = {{"/spec/kubelet/config/podPidsLimit", "user data"},
                       {"/settings/profile", "user data"},
                       {"/settings/sysctls/kernel.pid_max", "/etc/x.toml"},
                       {"/settings/sysctls/vm.swappiness", "/etc/x.toml"}};
    profiles::apply(spec, settings, origins);
    // the sources' values win per key
    CHECK(spec["kubelet"]["config"]["podPidsLimit"] == 100);
    CHECK(origins["/spec/kubelet/config/podPidsLimit"] == "user data");
    CHECK(settings["sysctls"]["kernel.pid_max"] == 65536);
    CHECK(origins["/settings/sysctls/kernel.pid_max"] == "/etc/x.toml");
    CHECK(settings["sysctls"]["vm.swappiness"] == 1);
    // the profile fills the rest, saying so
    CHECK(settings["sysctls"]["fs.inotify.max_user_instances"] == 8192);
    CHECK(origins["/settings/sysctls/fs.inotify.max_user_instances"] ==
          "profile high-density (settings.profile, user data)");
    CHECK(settings["maxPods"]["reservedMemoryPercent"] == 50);
    CHECK(origins["/settings/maxPods/reservedMemoryPercent"] == "profile high-density (settings.profile, user data)");
}

TEST_CASE("no profile, or the default one, changes nothing", "[config][profiles]") {
    for (json settings : {json::object(), json{{"profile", "default"}}}) {
        json spec = json::object();
        json before = settings;
        Origins origins;
        profiles::apply(spec, settings, origins);
        CHECK(spec == json::object());
        CHECK(settings == before);
        CHECK(origins.empty());
    }
}

TEST_CASE("every profile is valid configuration, documented value by value", "[config][profiles]") {
    const std::string page = profiles_man_page();
    for (std::string_view name : profiles::names) {
        INFO(name);
        CHECK(page.find(fmt::format("\n*{}*", name)) != std::string::npos);
        json v = profiles::values(name);
        Fragment f{.source = std::string(name), .spec = v["spec"], .settings = v["settings"]};
        f.settings["profile"] = std::string(name);
        CHECK_NOTHROW(validate_fragment(f));
        std::vector<std::string> lines;
        lines_of(v["spec"], "", lines);
        lines_of(v["settings"], "settings.", lines);
        for (const std::string& line : lines) {
            INFO(line);
            CHECK(page.find("|  " + line + "\n") != std::string::npos);
        }
    }
    CHECK_THROWS_AS(profiles::values("fast"), std::out_of_range);
}

TEST_CASE("sysctl names are dotted kernel parameter names", "[config][profiles]") {
    for (const char* good : {"kernel.pid_max", "net.ipv4.ip_local_port_range", "fs.inotify.max_user_watches",
                             "net.ipv4.conf.eth0.rp_filter", "vm.max_map_count"})
        CHECK(profiles::sysctl_name_problem(good).empty());
    for (const char* bad :
         {"", "kernel", "pid_max", "kernel/pid_max", "kernel..pid_max", "kernel.pid_max.", ".kernel.pid_max",
          "net.ipv4.conf.*.rp_filter", "foo.bar", "-kernel.pid_max", "kernel.pid max"}) {
        INFO(bad);
        CHECK_FALSE(profiles::sysctl_name_problem(bad).empty());
    }
}

TEST_CASE("sysctl values are integers or one line of text", "[config][profiles]") {
    CHECK(sysctls_problem({{"kernel.pid_max", 4194304}}).empty());
    CHECK(sysctls_problem({{"kernel.panic", -1}}).empty());
    CHECK(sysctls_problem({{"net.ipv4.tcp_rmem", "4096 87380 6291456"}}).empty());
    CHECK(sysctls_problem({{"kernel.pid_max", true}}) ==
          "settings.sysctls.kernel.pid_max: expected a string or an "
          "integer, got true");
    CHECK(sysctls_problem({{"kernel.pid_max", 1.5}}).starts_with("settings.sysctls.kernel.pid_max: expected a string"));
    CHECK(sysctls_problem({{"kernel.pid_max", ""}}).ends_with("at most 4096 bytes"));
    CHECK(sysctls_problem({{"kernel.pid_max", "1\n2"}}).ends_with("at most 4096 bytes"));
    CHECK(sysctls_problem({{"kernel.pid_max", " 1"}}).ends_with("at most 4096 bytes"));
    CHECK(sysctls_problem({{"kernel.pid_max", std::string(4097, '1')}}).ends_with("at most 4096 bytes"));
    CHECK(sysctls_problem({{"kernel/pid_max", 1}}).starts_with("settings.sysctls.kernel/pid_max: must be a dotted"));
    CHECK(sysctls_problem(json::array()) == "settings.sysctls: expected an object, got a list");
}
