// SPDX-License-Identifier: Apache-2.0
// [settings.prePull] (input/settings.hpp). A file of its own, not in
// settings.cpp: eks-node-imds links settings.cpp, and the image reference
// grammar (format/checks.cpp) has no business in that binary.
#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/checks.hpp"
#include "format/field_text.hpp"
#include "input/settings.hpp"

namespace eksnode::input::settings {

PrePullSettings read_pre_pull(const json& table, const std::string& source) {
    PrePullSettings out;
    if (table.is_null()) return out;
    if (!table.is_object()) throw ConfigError(source, "settings.prePull", expected("an object", table));
    for (const auto& [key, value] : table.items()) {
        const std::string field = "settings.prePull." + key;
        if (key == "images") {
            if (!value.is_array()) throw ConfigError(source, field, expected("a list", value));
            if (value.size() > max_pre_pull_images)
                throw ConfigError(source, field,
                                  fmt::format("{} images; at most {}", value.size(), max_pre_pull_images));
            for (size_t i = 0; i < value.size(); ++i) {
                const std::string at = fmt::format("{}[{}]", field, i);
                if (!value[i].is_string()) throw ConfigError(source, at, expected("a string", value[i]));
                const std::string& image = value[i].get_ref<const std::string&>();
                if (std::string problem = format::check::image_reference(image); !problem.empty())
                    throw ConfigError(source, at, problem);
                // a repeated image is a mistake in the list, not a second pull
                if (std::find(out.images.begin(), out.images.end(), image) != out.images.end())
                    throw ConfigError(source, at, fmt::format("{} is listed twice", format::text::quote(image)));
                out.images.push_back(image);
            }
        } else if (key == "timeout") {
            out.timeout = duration_at(value, source, field);
            if (out.timeout > max_pre_pull_timeout)
                throw ConfigError(source, field, "at most 30m: eks-node-prepull.service allows 1 h for the whole list");
        } else {
            unknown_field(source, field, "images, timeout");
        }
    }
    return out;
}

}  // namespace eksnode::input::settings
