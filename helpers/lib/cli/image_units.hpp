// SPDX-License-Identifier: Apache-2.0
// An image's unit files and drop-ins as systemd reads them, under a root: what
// `eks-node validate --image` checks and `eks-node readahead-list` records
// (internal to cli/).
#pragma once

#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/paths.hpp"

namespace eksnode::cli {

// systemd's PATH for services (systemd.exec(5), $PATH), which kubelet looks its
// credential plugin up in and eks-node-instance-store its tools; /sbin and /bin too, for
// systems that keep them apart from /usr.
inline constexpr std::string_view service_path[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                                    "/usr/bin",        "/sbin",          "/bin"};
// systemd's unit search path for the system manager (systemd.unit(5)), generators' aside:
// an image has none of their output.
inline constexpr std::string_view unit_dirs[] = {"/etc/systemd/system", "/run/systemd/system",
                                                 "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
                                                 "/lib/systemd/system"};

// Whether `name` is one of `list` (a unit's keys, unit or program names).
bool is_one_of(std::string_view name, const auto& list) {
    return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

// The settings of a unit (file and drop-ins) that name other units or programs.
struct UnitFile {
    std::map<std::string, std::vector<std::string>> deps;    // Wants= ... -> unit names
    std::vector<std::pair<std::string, std::string>> execs;  // (ExecStart=, program), in order
};

// Adds a unit file's or drop-in's settings to `u`. An empty Exec*= empties that
// key's list, as systemd resets it.
void read_unit_text(const std::string& text, UnitFile& u);

class Units {
public:
    explicit Units(const Paths& paths) : paths_(paths) {}

    // Where systemd finds `name` (an instance through its template); "" when nowhere,
    // "masked" when a link to /dev/null shadows it.
    std::string find(const std::string& name) const;
    // The unit file and every drop-in systemd reads for `name` (systemd.unit(5): NAME.d,
    // the template's, the prefixes' "a-.service.d", the type's "service.d"), and the
    // links in its .wants/ and .requires/ directories.
    UnitFile read(const std::string& name, const std::string& file) const;
    // eks-node's own units installed here.
    std::vector<std::string> ours() const;

private:
    const Paths& paths_;
};

}  // namespace eksnode::cli
