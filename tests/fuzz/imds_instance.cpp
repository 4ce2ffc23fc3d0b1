// SPDX-License-Identifier: Apache-2.0
// instance.json from what IMDS answered (imds/instance.cpp): every value, the
// identity document's JSON above all, comes from the metadata service.
//
// Input: sections "=== PATH\n" followed by the value up to the next "\n=== "
// (PATH under /latest/, e.g. meta-data/mac); "=== PATH !" is a 404.
// tests/fuzz/corpus.py writes the fake IMDS's instance this way. The result
// is then written out as eks-node-imds writes instance.json.
#include <string>

#include "fuzz.hpp"
#include "imds/detail.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = fuzz::text(data, size);
    eksnode::imds::detail::Fetched values;
    constexpr std::string_view marker = "=== ";
    size_t pos = in.starts_with(marker) ? 0 : in.find("\n=== ");
    while (pos != std::string_view::npos) {
        if (in[pos] == '\n') ++pos;
        size_t line_end = in.find('\n', pos);
        std::string_view header = in.substr(pos + marker.size(), line_end == std::string_view::npos
                                                                      ? std::string_view::npos
                                                                      : line_end - pos - marker.size());
        size_t next = line_end == std::string_view::npos ? line_end : in.find("\n=== ", line_end);
        if (header.ends_with(" !")) {
            values[std::string(header.substr(0, header.size() - 2))] = std::nullopt;
        } else {
            size_t value_start = line_end == std::string_view::npos ? in.size() : line_end + 1;
            size_t value_end = next == std::string_view::npos ? in.size() : next;
            values[std::string(header)] = std::string(in.substr(value_start, value_end - value_start));
        }
        pos = next;
    }
    fuzz::refused_only_as<eksnode::Error>(
        [&] { eksnode::dump_pretty(eksnode::imds::detail::assemble_instance(values, "http://169.254.169.254")); });
    return 0;
}
