// SPDX-License-Identifier: Apache-2.0
#include "core/jsonutil.hpp"

namespace eksnode {

void deep_merge(json& dst, const json& src) {
    if (dst.is_object() && src.is_object()) {
        for (auto it = src.begin(); it != src.end(); ++it) {
            auto found = dst.find(it.key());
            if (found != dst.end() && found->is_object() && it->is_object()) deep_merge(*found, *it);
            else dst[it.key()] = *it;
        }
        return;
    }
    dst = src;
}

std::string dump_pretty(const json& j, int indent) {
    return j.dump(indent, ' ', false, json::error_handler_t::strict) + "\n";
}

const json* path_in(const json& j, std::initializer_list<const char*> keys) {
    const json* node = &j;
    for (const char* k : keys) {
        if (!node->is_object()) return nullptr;
        auto it = node->find(k);
        if (it == node->end()) return nullptr;
        node = &*it;
    }
    return node;
}

std::string dotted(std::string_view pointer) {
    std::string out;
    out.reserve(pointer.size());
    for (size_t i = 0; i < pointer.size(); ++i) {
        char c = pointer[i];
        if (c == '/') {
            if (i != 0) out += '.';
        } else if (c == '~' && i + 1 < pointer.size()) {
            out += pointer[i + 1] == '1' ? '/' : '~';
            ++i;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace eksnode
