// SPDX-License-Identifier: Apache-2.0
// What the dynamic loader reads an ELF object by (the System V ABI's ELF-64
// layout, little endian): the program headers, PT_INTERP, the dynamic
// section's DT_NEEDED and search path, and the .note.dlopen notes (the
// userspace API group's elf_dlopen_metadata: owner "FDO", type 0x407c0c0a, a
// JSON array of {"soname": [...]}), which an allocated section puts in a
// PT_NOTE segment. Every offset and size comes from the file and is checked
// against what was read; a bound caps each table.
#include <algorithm>
#include <cstdint>

#include "core/jsonutil.hpp"
#include "readahead/readahead.hpp"

namespace eksnode::readahead {

namespace {

constexpr std::uint32_t pt_load = 1, pt_dynamic = 2, pt_interp = 3, pt_note = 4;
constexpr std::uint64_t dt_null = 0, dt_needed = 1, dt_strtab = 5, dt_strsz = 10, dt_rpath = 15, dt_runpath = 29;
constexpr std::uint32_t note_dlopen = 0x407c0c0a;
constexpr std::size_t ehdr_size = 64, phdr_size = 56, dyn_size = 16;
// Bounds: more program headers, dynamic entries or note bytes than any object has.
constexpr std::size_t max_phnum = 1024, max_phentsize = 256, max_dynamic_bytes = 1u << 20, max_note_bytes = 1u << 20;
constexpr std::size_t max_string = max_path_bytes;

std::uint64_t le(std::string_view b, std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(static_cast<unsigned char>(b[at + i])) << (8 * i);
    return v;
}

struct Segment {
    std::uint32_t type;
    std::uint64_t offset, vaddr, filesz;
};

// The file offset of virtual address `addr` through the PT_LOAD segments.
std::optional<std::uint64_t> file_offset(const std::vector<Segment>& segs, std::uint64_t addr) {
    for (const Segment& s : segs)
        if (s.type == pt_load && addr >= s.vaddr && addr - s.vaddr < s.filesz) return s.offset + (addr - s.vaddr);
    return std::nullopt;
}

// A NUL-terminated string at `offset` (at most max_string bytes); nullopt when
// it does not end in time.
std::optional<std::string> string_at(const ReadAt& read, std::uint64_t offset) {
    std::string s = read(offset, max_string + 1);
    std::size_t nul = s.find('\0');
    if (nul == std::string::npos) return std::nullopt;
    s.resize(nul);
    return s;
}

std::vector<std::string> split_path(std::string_view s) {
    std::vector<std::string> out;
    for (std::size_t start = 0; start <= s.size();) {
        std::size_t colon = s.find(':', start);
        if (colon == std::string_view::npos) colon = s.size();
        if (colon > start) out.emplace_back(s.substr(start, colon - start));
        start = colon + 1;
    }
    return out;
}

void read_dlopen_notes(std::string_view notes, ElfInfo& out) {
    std::size_t at = 0;
    auto align4 = [](std::uint64_t n) { return (n + 3) & ~std::uint64_t(3); };
    while (notes.size() - at >= 12) {
        const std::uint64_t namesz = le(notes, at, 4), descsz = le(notes, at + 4, 4), type = le(notes, at + 8, 4);
        const std::uint64_t name_at = at + 12, desc_at = name_at + align4(namesz);
        if (desc_at > notes.size() || align4(descsz) > notes.size() - desc_at) return;
        const std::string_view name = notes.substr(name_at, namesz);
        if (type == note_dlopen && name == std::string_view("FDO\0", 4)) {
            std::string_view desc = notes.substr(desc_at, descsz);
            if (std::size_t nul = desc.find('\0'); nul != std::string_view::npos) desc = desc.substr(0, nul);
            const json doc = json::parse(desc, nullptr, false);
            if (doc.is_array())
                for (const json& entry : doc) {
                    const json* sonames = entry.is_object() && entry.contains("soname") ? &entry["soname"] : nullptr;
                    if (!sonames || !sonames->is_array()) continue;
                    std::vector<std::string> names;
                    for (const json& n : *sonames)
                        if (n.is_string() && !n.get_ref<const std::string&>().empty() &&
                            n.get_ref<const std::string&>().size() <= max_string)
                            names.push_back(n.get<std::string>());
                    if (!names.empty()) out.dlopen.push_back(std::move(names));
                }
        }
        at = desc_at + align4(descsz);
    }
}

}  // namespace

std::optional<ElfInfo> parse_elf(const ReadAt& read) {
    const std::string eh = read(0, ehdr_size);
    if (eh.size() < ehdr_size || eh.compare(0, 4, "\177ELF") != 0) return std::nullopt;
    if (eh[4] != 2 || eh[5] != 1) return std::nullopt;  // ELFCLASS64, ELFDATA2LSB
    ElfInfo out;
    out.machine = static_cast<std::uint16_t>(le(eh, 18, 2));
    const std::uint64_t phoff = le(eh, 32, 8), phentsize = le(eh, 54, 2), phnum = le(eh, 56, 2);
    if (phentsize < phdr_size || phentsize > max_phentsize || phnum == 0 || phnum > max_phnum) return out;
    const std::string ph = read(phoff, static_cast<std::size_t>(phentsize * phnum));
    std::vector<Segment> segs;
    for (std::size_t i = 0; i < phnum && (i + 1) * phentsize <= ph.size(); ++i) {
        const std::size_t at = i * phentsize;
        segs.push_back(
            {static_cast<std::uint32_t>(le(ph, at, 4)), le(ph, at + 8, 8), le(ph, at + 16, 8), le(ph, at + 32, 8)});
    }
    for (const Segment& s : segs) {
        if (s.type == pt_interp && out.interpreter.empty() && s.filesz > 1 && s.filesz <= max_string) {
            std::string interp = read(s.offset, static_cast<std::size_t>(s.filesz));
            interp = interp.substr(0, interp.find('\0'));
            out.interpreter = std::move(interp);
        } else if (s.type == pt_note && s.filesz <= max_note_bytes) {
            read_dlopen_notes(read(s.offset, static_cast<std::size_t>(s.filesz)), out);
        }
    }
    const Segment* dyn = nullptr;
    for (const Segment& s : segs)
        if (s.type == pt_dynamic) dyn = &s;
    if (!dyn) return out;
    const std::string d =
        read(dyn->offset, static_cast<std::size_t>(std::min<std::uint64_t>(dyn->filesz, max_dynamic_bytes)));
    std::uint64_t strtab = 0, strsz = 0, runpath = 0, rpath = 0;
    bool has_strtab = false, has_runpath = false, has_rpath = false;
    std::vector<std::uint64_t> needed;
    for (std::size_t at = 0; at + dyn_size <= d.size(); at += dyn_size) {
        const std::uint64_t tag = le(d, at, 8), val = le(d, at + 8, 8);
        if (tag == dt_null) break;
        if (tag == dt_needed) {
            needed.push_back(val);
        } else if (tag == dt_strtab) {
            strtab = val;
            has_strtab = true;
        } else if (tag == dt_strsz) {
            strsz = val;
        } else if (tag == dt_runpath) {
            runpath = val;
            has_runpath = true;
        } else if (tag == dt_rpath) {
            rpath = val;
            has_rpath = true;
        }
    }
    if (!has_strtab) return out;
    const std::optional<std::uint64_t> table = file_offset(segs, strtab);
    if (!table) return out;
    auto str = [&](std::uint64_t off) -> std::optional<std::string> {
        if (strsz && off >= strsz) return std::nullopt;
        if (off > UINT64_MAX - *table) return std::nullopt;
        return string_at(read, *table + off);
    };
    for (std::uint64_t off : needed)
        if (std::optional<std::string> name = str(off); name && !name->empty()) out.needed.push_back(std::move(*name));
    // ld.so ignores DT_RPATH when DT_RUNPATH is there
    if (has_runpath || has_rpath)
        if (std::optional<std::string> p = str(has_runpath ? runpath : rpath)) out.search_path = split_path(*p);
    return out;
}

std::optional<ElfInfo> parse_elf(std::string_view bytes) {
    return parse_elf([bytes](std::uint64_t offset, std::size_t size) -> std::string {
        if (offset >= bytes.size()) return {};
        return std::string(bytes.substr(static_cast<std::size_t>(offset), size));
    });
}

std::vector<std::string> shebang(std::string_view head) {
    if (!head.starts_with("#!")) return {};
    std::string_view line =
        head.substr(2, head.find('\n') == std::string_view::npos ? std::string_view::npos : head.find('\n') - 2);
    std::vector<std::string> words;
    for (std::size_t i = 0; i < line.size() && words.size() < 3;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) words.emplace_back(line.substr(start, i - start));
    }
    if (words.empty() || words.front().front() != '/') return {};
    // "env NAME": the name env finds (after env's own options, "-S" and such)
    const std::string& interp = words.front();
    if (interp.size() >= 4 && interp.compare(interp.size() - 4, 4, "/env") == 0) {
        for (std::size_t i = 1; i < words.size(); ++i)
            if (!words[i].starts_with('-') && words[i].find('=') == std::string::npos) return {interp, words[i]};
        return {interp};
    }
    return {interp};
}

}  // namespace eksnode::readahead
