// SPDX-License-Identifier: Apache-2.0
// The cluster CA: nodeadm writes whatever bytes it is given and kubelet fails
// later with a TLS error; we check every certificate up front and hand the
// renderers normalized PEM.
//
// Why not OpenSSL: it was the largest cost of eks-node-config, a step on every
// boot's critical path (tests/bench/steps.py and callgrind.py, plain
// scenario). With libcrypto.so.3 loaded and initialised the step peaked at
// 10.2 MiB RSS (goal: 8 MiB; 6.3 MiB without), and one d2i_X509 of a small EC
// certificate was ~8 M of its 16.6 M instructions (5.9 M in all without):
// OpenSSL 3 builds a provider decoder context for the public key. None of
// that is needed here. Kubelet and the API server do the cryptographic checks
// (signatures, keys, names, dates) when they use the CA; we only refuse what
// cannot be a certificate (a pasted private key, a cut copy, base64 of
// something else). So this is a check of RFC 5280's Certificate structure in
// strict DER, as Go's parser (kubelet's) reads it, plus PEM armour in and out.
// What the values say (algorithms, names and their strings, dates, key bits)
// is not looked at: there OpenSSL refused a little more, and kubelet still does.
//
// Kept after a second look (issue 15), for two reasons. The check belongs in
// eks-node-config, before anything is written: moved to eks-node-ca (off the
// critical path) a bad CA would fail the node after kubelet's files are out.
// And measured again (tests/bench/ca_check.cpp, a 2-certificate bundle, Debian
// 12's OpenSSL 3.0): this reader 0.05 ms for the first check and ~45 us after,
// OpenSSL 1.4-13.8 ms for the first (its initialisation) and 0.7-1.35 ms
// after, +2.4 MiB peak RSS. It is a parser of input we do not control, so it
// has a fuzz target (tests/fuzz/certificate.cpp): 12.3 million executions
// under ASan+UBSan in one long run, no finding.
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "format/certificate.hpp"
#include "format/encoding.hpp"
#include "format/field_text.hpp"

namespace eksnode::format {

namespace {

// A problem with the value, turned into a ConfigError by the caller.
struct Problem {
    std::string text;
};

// DER tags (X.690 8.1.2) of the elements a certificate is made of.
enum Tag : unsigned char {
    BOOLEAN = 0x01,
    INTEGER = 0x02,
    BIT_STRING = 0x03,
    OCTET_STRING = 0x04,
    OID = 0x06,
    UTC_TIME = 0x17,
    GENERALIZED_TIME = 0x18,
    SEQUENCE = 0x30,
    SET = 0x31,
    VERSION = 0xa0,            // [0] EXPLICIT
    ISSUER_UNIQUE_ID = 0x81,   // [1] IMPLICIT BIT STRING
    SUBJECT_UNIQUE_ID = 0x82,  // [2] IMPLICIT BIT STRING
    EXTENSIONS = 0xa3,         // [3] EXPLICIT
};

std::string tag_name(unsigned char tag) {
    switch (tag) {
    case BOOLEAN: return "BOOLEAN";
    case INTEGER: return "INTEGER";
    case BIT_STRING: return "BIT STRING";
    case OCTET_STRING: return "OCTET STRING";
    case 0x05: return "NULL";
    case OID: return "OBJECT IDENTIFIER";
    case UTC_TIME: return "UTCTime";
    case GENERALIZED_TIME: return "GeneralizedTime";
    case SEQUENCE: return "SEQUENCE";
    case SET: return "SET";
    default:
        if ((tag & 0xc0) == 0x80) return fmt::format("[{}]", tag & 0x1f);  // context-specific
        return fmt::format("tag 0x{:02x}", tag);
    }
}

constexpr int max_depth = 32;  // nesting in real certificates: under 10

// One DER element: where its tag is, where its contents start and end.
struct Element {
    unsigned char tag;
    size_t start, content, end;
    size_t size() const { return end - content; }
};

// Reads the elements inside one DER element (or inside the whole input).
// Offsets are bytes from the start of the certificate, as `openssl asn1parse`
// numbers them, and every error names the field being read:
// "validity: expected SEQUENCE at byte 173, found INTEGER".
class Reader {
public:
    Reader(std::string_view der, size_t begin, size_t end, std::string_view container)
        : der_(der), pos_(begin), end_(end), container_(container) {}

    bool more() const { return pos_ < end_; }
    bool next_is(unsigned char tag) const { return more() && byte(pos_) == tag; }

    // The next element, which must carry `tag`.
    Element read(std::string_view what, unsigned char tag) {
        if (!more())
            throw Problem{fmt::format("{}: missing, {} ends at byte {}{}", what, container_, end_, after_last())};
        if (!next_is(tag))
            throw Problem{
                fmt::format("{}: expected {} at byte {}, found {}", what, tag_name(tag), pos_, tag_name(byte(pos_)))};
        return next(what);
    }

    // The next element whatever its type (an ASN.1 ANY), checked all the way down.
    Element read_any(std::string_view what) {
        if (!more())
            throw Problem{fmt::format("{}: missing, {} ends at byte {}{}", what, container_, end_, after_last())};
        Element e = next(what);
        check_nested(e, what, 0);
        return e;
    }

    // Nothing may follow the last field.
    void finish() const {
        if (more())
            throw Problem{
                fmt::format("{}: unexpected {} at byte {}{}", container_, tag_name(byte(pos_)), pos_, after_last())};
    }

    // A reader over the contents of `e`, named `name` in errors.
    Reader inside(const Element& e, std::string_view name) const { return Reader(der_, e.content, e.end, name); }

    std::string_view contents(const Element& e) const { return der_.substr(e.content, e.size()); }

private:
    unsigned char byte(size_t at) const { return static_cast<unsigned char>(der_[at]); }

    std::string after_last() const { return last_.empty() ? "" : fmt::format(" (after {})", last_); }

    // One tag-length-value at pos_, DER rules: low tag numbers (all X.509
    // uses), definite lengths in the fewest bytes, within the container.
    Element next(std::string_view what) {
        Element e{byte(pos_), pos_, 0, 0};
        if ((e.tag & 0x1f) == 0x1f) throw Problem{fmt::format("{}: multi-byte tag at byte {}", what, e.start)};
        size_t at = pos_ + 1, length_at = at;
        if (at == end_) throw Problem{fmt::format("{}: length at byte {} is cut off", what, length_at)};
        size_t length = byte(at++);
        if (length == 0x80)
            throw Problem{fmt::format("{}: indefinite length at byte {} (BER, not DER)", what, length_at)};
        if (length > 0x80) {  // long form: 0x8N, then N bytes big-endian
            size_t n = length & 0x7f;
            if (n > 4)
                throw Problem{fmt::format("{}: length at byte {} is {} bytes long (at most 4)", what, length_at, n)};
            if (end_ - at < n) throw Problem{fmt::format("{}: length at byte {} is cut off", what, length_at)};
            length = 0;
            for (size_t i = 0; i < n; ++i) length = length << 8 | byte(at++);
            if (length < 0x80 || byte(length_at + 1) == 0)
                throw Problem{fmt::format("{}: length at byte {} is not in DER's shortest form", what, length_at)};
        }
        if (length > end_ - at)
            throw Problem{fmt::format("{}: {} bytes at byte {} run past the end of {} at byte {} ({} left)", what,
                                      length, e.start, container_, end_, end_ - at)};
        e.content = at;
        e.end = at + length;
        pos_ = e.end;
        last_ = what;
        return e;
    }

    // Constructed contents are elements again, down to the primitive ones.
    void check_nested(const Element& e, std::string_view what, int depth) const {
        if ((e.tag & 0x20) == 0) return;
        if (depth == max_depth)
            throw Problem{fmt::format("{}: nested deeper than {} levels at byte {}", what, max_depth, e.start)};
        Reader r = inside(e, what);
        while (r.more()) check_nested(r.next(what), what, depth + 1);
    }

    std::string_view der_;
    size_t pos_, end_;
    std::string container_, last_;
};

// The primitive types the structure depends on, in DER's one encoding each.

void check_integer(const Reader& r, const Element& e, std::string_view what) {
    std::string_view v = r.contents(e);
    auto at = [&](size_t i) { return static_cast<unsigned char>(v[i]); };
    if (v.empty()) throw Problem{fmt::format("{}: empty INTEGER at byte {}", what, e.start)};
    if (v.size() > 1 && ((at(0) == 0 && at(1) < 0x80) || (at(0) == 0xff && at(1) >= 0x80)))
        throw Problem{fmt::format("{}: INTEGER at byte {} has a redundant leading byte", what, e.start)};
}

void check_oid(const Reader& r, const Element& e, std::string_view what) {
    std::string_view v = r.contents(e);
    bool bad = v.empty() || static_cast<unsigned char>(v.back()) >= 0x80;  // the last arc must end
    for (size_t i = 0; i < v.size() && !bad; ++i)                          // an arc starts with 0x80: not minimal
        bad = static_cast<unsigned char>(v[i]) == 0x80 && (i == 0 || static_cast<unsigned char>(v[i - 1]) < 0x80);
    if (bad) throw Problem{fmt::format("{}: malformed OBJECT IDENTIFIER at byte {}", what, e.start)};
}

// The first byte counts the unused bits of the last, which DER sets to zero.
void check_bit_string(const Reader& r, const Element& e, std::string_view what) {
    std::string_view v = r.contents(e);
    unsigned unused = v.empty() ? 8 : static_cast<unsigned char>(v[0]);
    bool bad = unused > 7 || (v.size() == 1 && unused > 0) ||
               (v.size() > 1 && (static_cast<unsigned char>(v.back()) & ((1u << unused) - 1)) != 0);
    if (bad) throw Problem{fmt::format("{}: malformed BIT STRING at byte {}", what, e.start)};
}

// UTCTime or GeneralizedTime; what the time says is kubelet's concern.
void read_time(Reader& r, std::string_view what) {
    r.read(what, r.next_is(GENERALIZED_TIME) ? GENERALIZED_TIME : UTC_TIME);
}

// The structured fields of RFC 5280 4.1, each read from its parent `r`.

// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
void read_algorithm(Reader& r, std::string_view what) {
    Element e = r.read(what, SEQUENCE);
    Reader a = r.inside(e, what);
    check_oid(a, a.read(what, OID), what);
    if (a.more()) a.read_any(what);
    a.finish();
}

// Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }
void read_name(Reader& r, std::string_view what) {
    Reader name = r.inside(r.read(what, SEQUENCE), what);
    while (name.more()) {
        Reader rdn = name.inside(name.read(what, SET), what);
        while (rdn.more()) {
            Reader attribute = rdn.inside(rdn.read(what, SEQUENCE), what);
            check_oid(attribute, attribute.read(what, OID), what);
            attribute.read_any(what);
            attribute.finish();
        }
    }
}

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
void read_public_key(Reader& r) {
    constexpr std::string_view what = "subjectPublicKeyInfo";
    Reader k = r.inside(r.read(what, SEQUENCE), what);
    read_algorithm(k, what);
    check_bit_string(k, k.read(what, BIT_STRING), what);
    k.finish();
}

// [3] EXPLICIT SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
void read_extensions(Reader& r, const Element& tagged) {
    Reader outer = r.inside(tagged, "extensions");
    Element list = outer.read("extensions", SEQUENCE);
    outer.finish();
    Reader x = outer.inside(list, "extensions");
    for (size_t n = 1; x.more(); ++n) {
        std::string what = fmt::format("extension {}", n);
        Reader ext = x.inside(x.read(what, SEQUENCE), what);
        check_oid(ext, ext.read(what, OID), what);
        if (ext.next_is(BOOLEAN)) {
            Element critical = ext.read(what, BOOLEAN);
            std::string_view v = ext.contents(critical);
            if (v.size() != 1 || (v[0] != 0 && static_cast<unsigned char>(v[0]) != 0xff))
                throw Problem{fmt::format("{}: malformed BOOLEAN at byte {}", what, critical.start)};
        }
        ext.read(what, OCTET_STRING);
        ext.finish();
    }
}

// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
// Returns the certificate's size: `der` starts with it, more may follow.
size_t check_certificate(std::string_view der) {
    Reader input(der, 0, der.size(), "the data");
    Element cert = input.read("certificate", SEQUENCE);
    Reader c = input.inside(cert, "certificate");

    Reader t = c.inside(c.read("tbsCertificate", SEQUENCE), "tbsCertificate");
    if (t.next_is(VERSION)) {
        Reader v = t.inside(t.read("version", VERSION), "version");
        check_integer(v, v.read("version", INTEGER), "version");
        v.finish();
    }
    check_integer(t, t.read("serialNumber", INTEGER), "serialNumber");
    read_algorithm(t, "signature");
    read_name(t, "issuer");
    Reader validity = t.inside(t.read("validity", SEQUENCE), "validity");
    read_time(validity, "validity notBefore");
    read_time(validity, "validity notAfter");
    validity.finish();
    read_name(t, "subject");
    read_public_key(t);
    if (t.next_is(ISSUER_UNIQUE_ID)) check_bit_string(t, t.read("issuerUniqueID", ISSUER_UNIQUE_ID), "issuerUniqueID");
    if (t.next_is(SUBJECT_UNIQUE_ID))
        check_bit_string(t, t.read("subjectUniqueID", SUBJECT_UNIQUE_ID), "subjectUniqueID");
    if (t.next_is(EXTENSIONS)) read_extensions(t, t.read("extensions", EXTENSIONS));
    t.finish();

    read_algorithm(c, "signatureAlgorithm");
    check_bit_string(c, c.read("signatureValue", BIT_STRING), "signatureValue");
    c.finish();
    return cert.end;
}

// The size of the certificate `der` starts with; `number` counts from 1.
size_t certificate_size(std::string_view der, size_t number) {
    try {
        return check_certificate(der);
    } catch (const Problem& p) {
        throw Problem{fmt::format("certificate {} is not a valid X.509 certificate ({})", number, p.text)};
    }
}

// Concatenated DER certificates.
std::vector<std::string> certificates_from_der(std::string_view der) {
    std::vector<std::string> certs;
    while (!der.empty()) {
        size_t size = certificate_size(der, certs.size() + 1);
        certs.emplace_back(der.substr(0, size));
        der.remove_prefix(size);
    }
    return certs;
}

bool has_pem_marker(std::string_view s) { return s.find("-----BEGIN ") != std::string_view::npos; }

// The line of `text` at `at`, without its line break and trailing blanks; `at`
// moves to the next line.
std::string_view next_line(std::string_view text, size_t& at) {
    size_t eol = text.find('\n', at);
    std::string_view line = text.substr(at, eol == std::string_view::npos ? std::string_view::npos : eol - at);
    at = eol == std::string_view::npos ? text.size() : eol + 1;
    while (!line.empty() && text::is_space(line.back())) line.remove_suffix(1);  // "\r" too
    return line;
}

// RFC 7468 blocks, read as OpenSSL's PEM_read_bio and Go's pem.Decode read
// them: text outside blocks is ignored, RFC 1421 headers ("Proc-Type: ...")
// are skipped. Every block must be a CERTIFICATE: a private key pasted into
// the CA field is a mistake worth stopping for. Returns each one's DER.
std::vector<std::string> certificates_from_pem(std::string_view pem) {
    std::vector<std::string> certs;
    size_t at = 0;
    while (at < pem.size()) {
        std::string_view line = next_line(pem, at);
        if (!line.starts_with("-----BEGIN ") || line.size() < 16 || !line.ends_with("-----")) continue;
        size_t number = certs.size() + 1;
        std::string_view type = line.substr(11, line.size() - 16);
        std::string end_line = fmt::format("-----END {}-----", type);
        std::string body;
        bool ended = false, in_headers = true;
        while (at < pem.size() && !ended) {
            line = next_line(pem, at);
            if (line.starts_with("-----END ")) {
                if (line != end_line)
                    throw Problem{fmt::format("PEM block {} is malformed (it ends with {}, not {})", number,
                                              text::quote(line), text::quote(end_line))};
                ended = true;
            } else if (!(in_headers && line.find(':') != std::string_view::npos)) {
                in_headers = false;
                body.append(line).push_back('\n');
            }
        }
        if (!ended) throw Problem{fmt::format("PEM block {} is malformed (no {} line)", number, text::quote(end_line))};
        if (type != "CERTIFICATE")
            throw Problem{fmt::format("PEM block {} is a {}, not a CERTIFICATE", number, text::quote(type))};
        std::string der;
        try {
            der = base64_decode(body, "");
        } catch (const ConfigError& e) {
            throw Problem{fmt::format("PEM block {} is malformed ({})", number, e.problem())};
        }
        // One certificate per block: a second one appended would be lost.
        if (size_t size = certificate_size(der, number); size != der.size())
            throw Problem{fmt::format("certificate {} has trailing data ({} bytes after its end at byte {})", number,
                                      der.size() - size, size)};
        certs.push_back(std::move(der));
    }
    return certs;
}

std::vector<std::string> certificates(std::string_view value) {
    std::string_view trimmed = text::trim(value);
    if (trimmed.empty()) throw Problem{"is empty"};
    if (has_pem_marker(trimmed)) return certificates_from_pem(trimmed);
    if (!looks_like_base64(trimmed)) throw Problem{"is neither base64 nor PEM text"};
    std::string bytes;
    try {
        bytes = base64_decode(trimmed, "");
    } catch (const ConfigError& e) {
        throw Problem{e.problem()};
    }
    if (has_pem_marker(bytes)) return certificates_from_pem(bytes);
    try {
        return certificates_from_der(bytes);
    } catch (const Problem& p) {
        // what an admin can act on first, the parser's detail after it
        throw Problem{
            "is base64 of neither PEM text nor a DER certificate (set it to the certificateAuthority "
            "`aws eks describe-cluster` gives, or leave it out for eks:DescribeCluster to fill): " +
            p.text};
    }
}

// What OpenSSL's PEM_write_bio_X509 wrote for the same certificates, byte for
// byte: strict DER has one encoding, so the input's bytes are the output's.
std::string to_pem(const std::vector<std::string>& certs) {
    std::string out;
    for (const std::string& der : certs) {
        std::string b64 = base64_encode(der);
        out += "-----BEGIN CERTIFICATE-----\n";
        for (size_t i = 0; i < b64.size(); i += 64) out.append(b64, i, 64).push_back('\n');
        out += "-----END CERTIFICATE-----\n";
    }
    return out;
}

}  // namespace

std::string certificate_authority_pem(std::string_view value, const std::string& source, const std::string& field) {
    // eks-node-config checks the same CA twice (validation, then derive): the
    // second time is free. Only a success is remembered: an error must name
    // the caller's source and field.
    static std::string last_value, last_pem;
    if (!last_pem.empty() && value == last_value) return last_pem;
    try {
        std::vector<std::string> certs = certificates(value);
        if (certs.empty()) throw Problem{"holds no certificate"};
        std::string pem = to_pem(certs);
        last_value = value;
        last_pem = pem;
        return pem;
    } catch (const Problem& p) {
        throw ConfigError(source, field, p.text);
    }
}

}  // namespace eksnode::format
