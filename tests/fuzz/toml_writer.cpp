// SPDX-License-Identifier: Apache-2.0
// format::json_to_toml, the TOML writer of config.toml, soci's config and the
// CLI's fragments, with a comment() line above it as config.toml's header
// has: a document built from the input (keys and strings of any bytes,
// integers, floats, booleans, arrays, nested tables) is either refused
// (eks-node::Error: a key the writer cannot quote, a value TOML cannot hold)
// or read back by toml++ as exactly itself, the comment adding no key.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <string>

#include "core/syntax.hpp"
#include "format/toml_json.hpp"
#include "fuzz.hpp"

namespace {

using eksnode::json;

// JSON text (and so toml++'s strings) is UTF-8: bytes that are not become U+FFFD.
std::string text(FuzzedDataProvider& in, size_t max) {
    return json::parse(json(in.ConsumeRandomLengthString(max)).dump(-1, ' ', false, json::error_handler_t::replace))
        .get<std::string>();
}

json value(FuzzedDataProvider& in, int depth);

json table(FuzzedDataProvider& in, int depth) {
    json t = json::object();
    for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 4); n > 0 && in.remaining_bytes() > 0; --n)
        t[text(in, 24)] = value(in, depth + 1);
    return t;
}

json value(FuzzedDataProvider& in, int depth) {
    switch (in.ConsumeIntegralInRange<int>(0, depth < 4 ? 6 : 4)) {
    case 0: return text(in, 64);
    case 1: return in.ConsumeIntegral<int64_t>();
    case 2: return in.ConsumeBool();
    case 3: {
        double d = in.ConsumeFloatingPoint<double>();
        return std::isfinite(d) ? json(d) : json(0.5);
    }
    case 4: return json(text(in, 8) + "\n" + text(in, 8));
    case 5: {
        // TOML arrays may mix types (1.0); keep them of one kind, as config.toml's are
        json a = json::array();
        for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 3); n > 0; --n) a.push_back(text(in, 16));
        return a;
    }
    default: return table(in, depth);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string note = in.ConsumeRandomLengthString(64);
    json doc = table(in, 0);
    std::string toml;
    try {
        toml = eksnode::format::json_to_toml(doc, "fuzz");
    } catch (const eksnode::Error&) {
        return 0;  // a key or value the writer refuses, by name
    }
    const std::string file = "# " + eksnode::syntax::comment(note) + "\n" + toml;
    json back;
    try {
        back = eksnode::format::toml_to_json(eksnode::format::parse_toml(file, "fuzz"), "fuzz", "");
    } catch (const eksnode::ConfigError& e) {
        std::fprintf(stderr, "%s\n%s\n", e.what(), file.c_str());
        fuzz::broken("written TOML does not parse");
    }
    // the same data: tables compared as maps (the writer sorts keys; json keeps insertion order)
    if (nlohmann::json::parse(back.dump()) != nlohmann::json::parse(doc.dump())) {
        std::fprintf(stderr, "%s\n%s\n%s\n", doc.dump().c_str(), back.dump().c_str(), file.c_str());
        fuzz::broken("written TOML reads back differently");
    }
    return 0;
}
