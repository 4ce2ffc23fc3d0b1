// SPDX-License-Identifier: Apache-2.0
// The renderers' comments and values read back as what they meant: a file
// name or an origin with a line break adds no key to config.toml or a line to
// sysctl.d (issue 34, item 5).
#include <catch2/catch.hpp>

#include "core/fsutil.hpp"
#include "format/toml_json.hpp"
#include "render/render.hpp"
#include "render/shared.hpp"
#include "render/system_files.hpp"
#include "test_support.hpp"

using namespace eksnode;
using namespace eksnode::render;
using render_test::base_config;
using render_test::TempDir;

TEST_CASE("a config.d file name with a line break adds no key to config.toml", "[render][containerd][syntax]") {
    TempDir root;
    const Paths paths(root.path);
    // containerd imports it (its glob matches), and config.toml lists it in a comment
    const std::string name = "10-x\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n#.toml";
    fs::create_directories(root.path / "etc/containerd/config.d");
    write_file_atomic(root.path / "etc/containerd/config.d" / name, "version = 2\n", 0644);
    render_containerd(base_config(), paths);
    const std::string text = read_file(root.path / "etc/containerd/config.toml");
    INFO(text);
    toml::table doc = format::parse_toml(text, "config.toml");
    CHECK_FALSE(doc.contains("disabled_plugins"));
    // the name is still there to read, escaped
    CHECK_THAT(text, Catch::Contains("#   /etc/containerd/config.d/10-x\\ndisabled_plugins = "
                                     "[\"io.containerd.grpc.v1.cri\"]\\n#.toml "));
}

TEST_CASE("an origin with a line break adds no sysctl", "[render][system][syntax]") {
    json cfg = base_config();
    cfg["settings"]["sysctls"] = {{"vm.max_map_count", 262144}};
    cfg["origins"]["/settings/sysctls/vm.max_map_count"] = "/etc/eks-node/node.toml.d/10-a\nkernel.panic = 0\n#.toml";
    std::optional<std::string> conf = render::detail::sysctl_conf(cfg);
    REQUIRE(conf);
    INFO(*conf);
    // sysctl.d(5): every line not a comment is one assignment
    std::vector<std::string> assignments;
    size_t start = 0;
    while (start < conf->size()) {
        size_t end = conf->find('\n', start);
        std::string line = conf->substr(start, end - start);
        if (!line.empty() && line[0] != '#' && line[0] != ';') assignments.push_back(line);
        start = end == std::string::npos ? conf->size() : end + 1;
    }
    CHECK(assignments == std::vector<std::string>{"vm.max_map_count = 262144"});
}

TEST_CASE("a generated file's header names its source on one comment line", "[render][syntax]") {
    const std::string header = render::detail::generated_header("eks-node-x", "a\nb\\");
    CHECK(header.find("\nb") == std::string::npos);
    for (size_t at = 0; at < header.size();) {
        CHECK(header[at] == '#');
        size_t end = header.find('\n', at);
        REQUIRE(end != std::string::npos);
        // no line ends in a backslash: systemd's environment-file parser would join the next to it
        CHECK(header[end - 1] != '\\');
        at = end + 1;
    }
}
