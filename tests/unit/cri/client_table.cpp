// SPDX-License-Identifier: Apache-2.0
// Prints the CRI client's view of api.proto (cri/image_service.hpp
// detail::proto_*) as JSON, for tests/plumbing/cri_fields.py --client, which
// holds it to the api.proto Debian ships. Not a unit test: api.proto is
// fetched by the Python side.
#include <cstdio>

#include "core/jsonutil.hpp"
#include "cri/image_service.hpp"

int main() {
    namespace d = eksnode::cri::detail;
    eksnode::json out = {
        {"package", d::proto_package}, {"fields", eksnode::json::array()}, {"methods", eksnode::json::array()}};
    for (const d::ProtoField& f : d::proto_fields)
        out["fields"].push_back({{"message", f.message}, {"name", f.name}, {"number", f.number}, {"type", f.type}});
    for (const d::ProtoMethod& m : d::proto_methods)
        out["methods"].push_back(
            {{"service", m.service}, {"name", m.name}, {"request", m.request}, {"response", m.response}});
    std::puts(out.dump().c_str());
    return 0;
}
