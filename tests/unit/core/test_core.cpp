#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "fixtures.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/jsonutil.hpp"
#include "core/paths.hpp"

using namespace eksnode;

namespace {
mode_t mode_of(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("paths are re-rooted under --root", "[core][paths]") {
    CHECK(Paths().of("/etc/hosts") == "/etc/hosts");
    CHECK(Paths("/").of("/etc/hosts") == "/etc/hosts");
    CHECK(Paths("/tmp/n").of("/etc/hosts") == "/tmp/n/etc/hosts");
    CHECK(Paths("/tmp/n").of(path::config_json) == "/tmp/n/run/eks-node/config.json");
}

TEST_CASE("atomic write creates parents, sets the mode and reports changes", "[core][fs]") {
    test::TempRoot root;
    const fs::path& d = root.dir;
    fs::path f = d / "a/b/secret";
    CHECK(write_file_atomic(f, "one", 0600) == WriteResult::written);
    CHECK(read_file(f) == "one");
    CHECK(mode_of(f) == 0600);
    // same bytes and mode: untouched
    CHECK(write_file_atomic(f, "one", 0600) == WriteResult::unchanged);
    // same bytes, other mode: rewritten
    CHECK(write_file_atomic(f, "one", 0644) == WriteResult::written);
    CHECK(mode_of(f) == 0644);
    CHECK(write_file_atomic(f, "two", 0644) == WriteResult::written);
    CHECK(read_file(f) == "two");
    // no temporary files left behind
    size_t n = 0;
    for (auto& e : fs::directory_iterator(d / "a/b")) n += e.path().filename().string()[0] == '.';
    CHECK(n == 0);
    CHECK(remove_file(f) == WriteResult::written);
    CHECK(remove_file(f) == WriteResult::unchanged);
    CHECK_FALSE(read_file_if_exists(f).has_value());
    CHECK_THROWS_AS(read_file(f), Error);
}

TEST_CASE("deep merge: objects merge, arrays and scalars replace", "[core][json]") {
    json dst = json::parse(R"({"a":{"b":1,"c":[1,2]},"d":"x"})");
    deep_merge(dst, json::parse(R"({"a":{"c":[3],"e":true},"d":{"f":1}})"));
    CHECK(dst == json::parse(R"({"a":{"b":1,"c":[3],"e":true},"d":{"f":1}})"));
}

TEST_CASE("JSON pointers read as dotted field paths", "[core][json]") {
    CHECK(dotted("/spec/cluster/cidr") == "spec.cluster.cidr");
    CHECK(dotted("/spec/kubelet/config/a~1b") == "spec.kubelet.config.a/b");
}

TEST_CASE("config errors name source, field and problem", "[core][errors]") {
    ConfigError e("user data (MIME part 2, application/node.eks.aws)", "spec.cluster.cidr",
                  "\"10.100.0.0/33\" is not a CIDR");
    CHECK(std::string(e.what()) ==
          "user data (MIME part 2, application/node.eks.aws): spec.cluster.cidr: \"10.100.0.0/33\" is not a CIDR");
    CHECK(e.exit_code() == 6);
}
