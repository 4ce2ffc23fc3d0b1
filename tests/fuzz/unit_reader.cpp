// SPDX-License-Identifier: Apache-2.0
// syntax::unit::read, the reader of the units and drop-ins `eks-node validate --image`
// follows (files admins and packages write). Any text: no exception, each setting's key
// and value one trimmed line. Then the writer's side: settings written with unit::value()
// under a [Service] header, among comments, blank lines and a value continued on two lines,
// read back as exactly those settings, in order.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <vector>

#include "core/syntax.hpp"
#include "core/text.hpp"
#include "fuzz.hpp"

namespace {

namespace unit = eksnode::syntax::unit;

const char* const keys[] = {"ExecStart", "ExecStartPre", "Wants", "Requires", "Description", "Environment"};

void check_shape(const std::vector<unit::Setting>& settings) {
    for (const unit::Setting& s : settings)
        for (const std::string* t : {&s.section, &s.key, &s.value}) {
            if (t->find('\n') != std::string::npos) fuzz::broken("a setting read across a line end");
            if (t != &s.section && eksnode::trim_line(*t) != *t) fuzz::broken("a key or value not trimmed");
        }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string any = in.ConsumeRandomLengthString(1024);
    check_shape(unit::read(any));

    // written as eks-node writes units: the reader must give back what the writer wrote
    std::string text = "# " + eksnode::syntax::comment(in.ConsumeRandomLengthString(32)) + "\n[Service]\n";
    std::vector<unit::Setting> want;
    for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 4); n > 0; --n) {
        const std::string key = keys[in.ConsumeIntegralInRange<size_t>(0, std::size(keys) - 1)];
        const std::string value = in.ConsumeRandomLengthString(64);
        if (!unit::value_problem(value).empty()) continue;
        const std::string written = unit::value(value);
        if (in.ConsumeBool()) text += "\n; between settings\n";
        // a continued line: split after a blank, as the reader joins the halves with one
        const size_t cut = written.find(' ');
        if (cut != std::string::npos && cut + 1 < written.size() && written[cut + 1] != ' ' &&
            written[cut + 1] != '\t' && in.ConsumeBool()) {
            text += key + "=" + written.substr(0, cut) + "\\\n" + written.substr(cut + 1) + "\n";
        } else {
            text += key + "=" + written + "\n";
        }
        want.push_back({"Service", key, written});
    }
    const std::vector<unit::Setting> got = unit::read(text);
    check_shape(got);
    if (got.size() != want.size()) fuzz::broken("written settings read back as another number of them");
    for (size_t i = 0; i < got.size(); ++i)
        if (got[i].section != want[i].section || got[i].key != want[i].key || got[i].value != want[i].value)
            fuzz::broken("a written setting read back differently");
    return 0;
}
