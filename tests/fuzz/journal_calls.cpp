// SPDX-License-Identifier: Apache-2.0
// EKS_NODE_CALLS= of a step's last journal entry (core/telemetry.cpp), which
// `eks-node status` and eks-node-telemetry read back: any local process may
// write a journal entry that claims to be a step's. It never throws, and what
// it accepts writes back as JSON that reads back as the same counts.
#include "core/telemetry.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::refused_only_as<eksnode::Error>([&] {
        auto calls = eksnode::telemetry::from_json(fuzz::text(data, size));
        if (!calls) return;
        // the bounds that keep a forged field from costing minutes (issue 34)
        if (size > eksnode::telemetry::max_field_bytes || calls->size() > eksnode::telemetry::max_apis)
            fuzz::broken("a field over the bounds accepted");
        auto again = eksnode::telemetry::from_json(eksnode::telemetry::to_json(*calls).dump());
        if (!again) fuzz::broken("accepted counts, written back, are refused");
        // a repeated key reads as its last value, once: the same as what was written back
        if (eksnode::telemetry::to_json(*again) != eksnode::telemetry::to_json(*calls))
            fuzz::broken("accepted counts read back differently");
        for (const auto& c : *calls)
            if (c.retries > c.requests) fuzz::broken("more retries than requests accepted");
    });
    return 0;
}
