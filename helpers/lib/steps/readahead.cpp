// SPDX-License-Identifier: Apache-2.0
// eks-node-readahead: the files of the image's list (or an admin's) read into
// the page cache at the start of the boot, so that the join finds them there
// rather than on a volume EBS loads from its snapshot block by block. Reads
// only: it may run any number of times, and a file the list names that this
// node lacks is skipped. Nothing waits for it. See eks-node-readahead(8).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/confine.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/version.hpp"
#include "readahead/readahead.hpp"
#include "steps/steps.hpp"

namespace eksnode::steps {

namespace {

constexpr const char* help_text =
    "eks-node-readahead — read the join's files into the page cache\n\n"
    "Usage: eks-node-readahead [OPTIONS]\n\n"
    "  --root=DIR          read every path under DIR (default /)\n"
    "  --list=PATH         the list to read (default: /etc/eks-node/readahead.list if there is one,\n"
    "                      else /usr/lib/eks-node/readahead.list; PATH is re-rooted too)\n"
    "  --jobs=N            threads reading at once, 1-{} (default {})\n"
    "  --log-level=LEVEL   error, warning, notice, info or debug (default info)\n"
    "  --help              show this help\n"
    "  --version           show the version\n\n"
    "See eks-node-readahead(8).\n";

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

unsigned parse_jobs(std::string_view v) {
    unsigned n = 0;
    if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string_view::npos)
        throw UsageError(fmt::format("--jobs: \"{}\" is not a number of threads", v));
    for (char c : v) n = n * 10 + static_cast<unsigned>(c - '0');
    if (n < 1 || n > readahead::max_jobs)
        throw UsageError(fmt::format("--jobs: {} is not within 1-{}", n, readahead::max_jobs));
    return n;
}

}  // namespace

int readahead_main(int argc, char** argv) {
    log::Level lvl = log::Level::info;
    if (const char* env = std::getenv("EKS_NODE_LOG_LEVEL")) log::parse_level(env, lvl);
    log::init("readahead", lvl);
    try {
        Paths paths;
        std::string list;
        unsigned jobs = readahead::default_jobs;
        for (int i = 1; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a == "--help" || a == "-h") {
                fmt::print(fmt::runtime(help_text), readahead::max_jobs, readahead::default_jobs);
                return EXIT_OK;
            }
            if (a == "--version") {
                fmt::print("eks-node {}\n", ::eksnode::version);
                return EXIT_OK;
            }
            if (a.starts_with("--root=")) paths = Paths(std::string(a.substr(7)));
            else if (a.starts_with("--list=")) list = a.substr(7);
            else if (a.starts_with("--jobs=")) jobs = parse_jobs(a.substr(7));
            else if (a.starts_with("--log-level=")) {
                if (!log::parse_level(a.substr(12), lvl))
                    throw UsageError(fmt::format("--log-level: unknown level \"{}\"", a.substr(12)));
                log::set_level(lvl);
            } else {
                throw UsageError(fmt::format("unexpected argument \"{}\" (see eks-node-readahead --help)", a));
            }
        }
        // reads everything, writes nothing, executes nothing
        confine::confine_step("readahead", paths);

        if (list.empty()) {
            const readahead::ListFile found = readahead::find_list(paths);
            if (found.masked) {
                log::info("{} is a link to /dev/null: nothing to read", found.path);
                return EXIT_OK;
            }
            if (found.path.empty()) {
                log::info("no list of the join's files ({} or {}): nothing to read", readahead::admin_list,
                          readahead::image_list);
                return EXIT_OK;
            }
            list = found.path;
        }
        const readahead::List l = readahead::read_list(paths, list);
        for (const std::string& w : l.warnings) log::warning("{}", w);

        const auto t0 = std::chrono::steady_clock::now();
        const readahead::ReadReport r =
            readahead::read_ahead(paths, l.files, jobs, t0 + readahead::default_deadline, l.recorded);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

        std::size_t read = 0, absent = 0, failed = 0, late = 0, recorded = 0, changed = 0;
        std::vector<std::string> changed_named;  // the first three, for the notice
        for (std::size_t i = 0; i < r.files.size(); ++i) {
            const readahead::FileOutcome& f = r.files[i];
            if (f.part == readahead::FileOutcome::Part::recorded) ++recorded;
            if (f.part == readahead::FileOutcome::Part::changed && ++changed <= 3) changed_named.push_back(l.files[i]);
            switch (f.kind) {
            case readahead::FileOutcome::Kind::read: ++read; break;
            case readahead::FileOutcome::Kind::missing:
                ++absent;
                log::debug("{}: not on this node, skipped", l.files[i]);
                break;
            case readahead::FileOutcome::Kind::not_regular:
                ++absent;
                log::debug("{}: not a regular file, skipped", l.files[i]);
                break;
            case readahead::FileOutcome::Kind::not_reached: ++late; break;
            case readahead::FileOutcome::Kind::failed:
                // the join reads it itself and meets the same error: said there, not failed here
                ++failed;
                log::warning("{}: {}, skipped", l.files[i], std::strerror(f.error));
                break;
            }
        }
        // an image changed after its recording (a package updated on it): still read, whole,
        // and said once, naming a few
        if (changed)
            log::emit(log::Level::notice, fmt::format("{} file{} changed since {} was recorded, read whole: {}{}",
                                                      changed, changed == 1 ? "" : "s", list,
                                                      fmt::join(changed_named, ", "), changed > 3 ? ", ..." : ""));
        log::emit(log::Level::info,
                  fmt::format("read {} file{} of {} ({:.1f} MiB{}) in {:.0f} ms, {} thread{}{}{}{}", read,
                              read == 1 ? "" : "s", list, mib(r.bytes),
                              recorded ? fmt::format(", {} by their recorded ranges", recorded) : "", ms, r.threads,
                              r.threads == 1 ? "" : "s", absent ? fmt::format("; {} not on this node", absent) : "",
                              failed ? fmt::format("; {} could not be read", failed) : "",
                              late ? fmt::format("; {} not begun within {} s, left to the join", late,
                                                 readahead::default_deadline.count())
                                   : ""),
                  {}, log::id::step_done);
        return EXIT_OK;
    } catch (...) {
        return report_exception("readahead");
    }
}

}  // namespace eksnode::steps
