// SPDX-License-Identifier: Apache-2.0
// YAML scalars typed the way nodeadm types them.
//
// nodeadm decodes a NodeConfig with k8s.io/apimachinery's YAML serializer,
// which calls sigs.k8s.io/yaml's YAMLToJSON: go-yaml v2 (v2.4.0, YAML 1.1
// resolution) decodes the document into interface{}, and encoding/json
// writes the result as JSON. So in user data written for nodeadm, a plain
// `yes` is the boolean true, `0755` is 493 and `1e3` is 1000, inside the free
// form kubelet.config and containerd.baseRuntimeSpec as well. eks-node
// resolves plain scalars with the same table, so that such user data means
// the same thing here. JSON documents and TOML are not YAML and are not
// touched by this.
//
// The facts, from go-yaml v2.4.0 resolve.go and decode.go (the goyaml.v2
// fork inside sigs.k8s.io/yaml has the same table) and sigs.k8s.io/yaml's
// yaml.go (YAMLToJSON, convertToJSONableObject):
// - Only plain scalars without a tag are resolved; quoted and block scalars
//   are strings. An explicit tag (!!str, !!int, !!bool, !!float, !!null,
//   !!timestamp) asks for that type and is an error when the text is not one
//   ("cannot decode !!str `abc` as a !!int"), except that !!float accepts an
//   integer; any other tag leaves the text a string; !!binary is base64.
// - The first character picks the candidates: one of "yYnNtTfFoO~" looks the
//   text up in a table and is otherwise a string; '.' also tries a float;
//   '+', '-' or a digit tries an integer, then a float; anything else is a
//   string. The table: y Y yes Yes YES true True TRUE on On ON are true;
//   n N no No NO false False FALSE off Off OFF are false; "" ~ null Null NULL
//   are null; .inf .Inf .INF +.inf ... -.inf and .nan .NaN .NAN are the IEEE
//   specials. A plain "<<" key merges mappings (format/convert.cpp).
// - Integers: every '_' removed, then Go's strconv.ParseInt(s, 0, 64), else
//   ParseUint: optional sign, then 0x/0X hex, 0o/0O octal, 0b/0B binary, a
//   leading 0 octal (0755 is 493; 08 is not octal and becomes the float 8),
//   else decimal. Beyond uint64 a decimal becomes a float, and a hex, octal
//   or binary text stays a string (later sigs.k8s.io/yaml forks of v2 make a
//   big integer of it; v2.4.0, which nodeadm's go.mod names, does not).
// - Floats: the '_'-free text matching
//   ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ ; one too large for
//   a double stays a string ("1e999"), one too small is 0. Text starting with
//   '.' is not stripped of '_' (".5_0" is a string, "1_0.5" is 10.5).
// - Base 60 ("1:20") is deliberately unsupported: a string. Timestamps
//   ("2001-12-14") decoded into interface{} stay strings.
// - JSON then: encoding/json writes a float with an integral value below 1e21
//   without fraction or exponent (so 1e3 and 1.0 reach kubelet as 1000 and
//   1), NaN and infinities are an error. Mapping keys become strings: booleans
//   "true"/"false", integers in decimal, floats in Go's %g of the value
//   rounded to float32 (1e3 -> "1000", 1e6 -> "1e+06"), infinities ".inf" and
//   "-.inf", NaN ".nan"; a null key, or an integer key beyond int64, is an
//   error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/jsonutil.hpp"

namespace eksnode::format::yaml_scalar {

struct Scalar {
    enum class Type { null, boolean, integer, unsigned_integer, floating, string };
    Type type = Type::string;
    bool boolean = false;
    int64_t integer = 0;
    uint64_t unsigned_integer = 0;  // only beyond int64_t
    double floating = 0;
    std::string string;
};

// `tag` as format/convert.cpp passes it: "?" for a plain scalar without a tag, "!" for
// a quoted or block scalar (or the non-specific tag "!"), otherwise the full
// tag ("tag:yaml.org,2002:int", "!custom"). Throws ConfigError naming
// `source` and `path` for a value that contradicts its explicit tag.
Scalar resolve(std::string_view text, std::string_view tag, const std::string& source, const std::string& path);

// The JSON value sigs.k8s.io/yaml writes for a resolved scalar. Throws
// ConfigError for NaN and infinities.
json to_value(const Scalar& s, const std::string& source, const std::string& path);

// The JSON object key sigs.k8s.io/yaml makes of a resolved scalar. Throws
// ConfigError for a null key or an integer key beyond int64_t.
std::string to_key(const Scalar& s, const std::string& source, const std::string& path);

// A finite double as encoding/json writes it: an integer when it has no
// fraction and is below 1e21 (and fits 64 bits), else the double.
json go_json_number(double d);

// strconv.FormatFloat(d, 'g', -1, 32), with sigs.k8s.io/yaml's spellings of
// the infinities and NaN.
std::string go_key_float(double d);

}  // namespace eksnode::format::yaml_scalar
