// SPDX-License-Identifier: Apache-2.0
// The answers of EC2 and EKS read (aws/api.hpp): an error document (XML or
// JSON) into its code and class, DescribeInstances' private DNS name,
// DescribeInstanceTypes' ENI limits, DescribeCluster's cluster,
// DescribeNetworkInterfaces' tags of one ENI. Input we do
// not control: fuzzed by tests/fuzz/aws_api.cpp.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "aws/api.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "imds/values.hpp"

namespace eksnode::aws {

namespace {

pugi::xml_document parse_xml(std::string_view xml, std::string_view what) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size())) throw Error(fmt::format("{}: the answer is not XML", what));
    return doc;
}

// The first element named `name` anywhere below `node` (EC2 answers nest
// items in sets; namespaces are in the default xmlns, so names are bare).
pugi::xml_node find(pugi::xml_node node, const char* name) {
    return node.find_node([&](pugi::xml_node n) { return std::string_view(n.name()) == name; });
}

int positive_int(pugi::xml_node n, std::string_view what) {
    std::string text = n.text().as_string();
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end || v < 1 || v > 10000)
        throw Error(
            fmt::format("EC2 DescribeInstanceTypes: {} {} is not a positive count", what, imds::value::shown(text)));
    return static_cast<int>(v);
}

std::string string_at(const json& j, std::initializer_list<const char*> keys) {
    const json* v = path_in(j, keys);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}

// The service's own text (an error code or message) as our one-line error
// shows it: as it is when it is plain text, quoted and escaped otherwise, so
// that no line break or byte that is not UTF-8 reaches the log.
std::string one_line(std::string text) {
    bool plain = is_utf8_text(text) && std::all_of(text.begin(), text.end(), [](char c) {
                     auto u = static_cast<unsigned char>(c);
                     return u >= 0x20 && u != 0x7f;
                 });
    return plain ? text : imds::value::shown(text);
}

}  // namespace

// --- errors ----------------------------------------------------------------------

ApiError parse_error(const curl::HttpResponse& r) {
    ApiError e;
    e.status = r.status;
    if (auto it = r.headers.find("x-amzn-errortype"); it != r.headers.end())
        e.code = it->second.substr(0, it->second.find(':'));  // "AccessDeniedException:http://..."
    std::string_view body = r.body;
    if (body.starts_with("<") || body.find("<?xml") != std::string_view::npos) {
        pugi::xml_document doc;
        if (doc.load_buffer(body.data(), body.size())) {
            if (pugi::xml_node err = find(doc, "Error")) {
                if (e.code.empty()) e.code = err.child("Code").text().as_string();
                e.message = err.child("Message").text().as_string();
            }
        }
    } else if (!body.empty()) {
        try {
            json j = json::parse(body);
            if (e.code.empty()) e.code = string_at(j, {"__type"});
            if (auto pos = e.code.find('#'); pos != std::string::npos) e.code = e.code.substr(pos + 1);
            e.message = string_at(j, {"message"});
            if (e.message.empty()) e.message = string_at(j, {"Message"});
        } catch (const json::exception&) {
            // Not JSON, or JSON nlohmann cannot hold (a number such as 1e400):
            // the answer is read as if it had no body, so its HTTP status
            // decides (429 and 5xx are retried), as for any other garbage.
        }
    }
    if (e.code.empty()) e.code = fmt::format("HTTP {}", r.status);
    if (e.message.size() > 512) e.message = e.message.substr(0, 512) + "...";
    e.code = one_line(std::move(e.code));
    e.message = one_line(std::move(e.message));
    return e;
}

ErrorClass classify(const ApiError& e) {
    static const std::string_view throttling[] = {
        "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled",
        "RequestThrottledException", "SlowDown", "ServiceUnavailable", "ServiceUnavailableException", "InternalError",
        "InternalFailure", "ServerException", "Unavailable",
        // just-launched instance not yet visible (eventual consistency)
        "InvalidInstanceID.NotFound"};
    static const std::string_view permission[] = {"AccessDenied",
                                                  "AccessDeniedException",
                                                  "UnauthorizedOperation",
                                                  "AuthFailure",
                                                  "UnrecognizedClientException",
                                                  "InvalidClientTokenId",
                                                  "SignatureDoesNotMatch",
                                                  "OptInRequired",
                                                  "Blocked"};
    static const std::string_view expired[] = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"};
    for (std::string_view c : expired)
        if (e.code == c) return ErrorClass::refresh_credentials;
    for (std::string_view c : permission)
        if (e.code == c) return ErrorClass::permission;
    for (std::string_view c : throttling)
        if (e.code == c) return ErrorClass::retry;
    if (e.code == "ResourceNotFoundException" || e.code == "InvalidInstanceType") return ErrorClass::not_found;
    if (e.status == 429 || e.status >= 500) return ErrorClass::retry;
    return ErrorClass::fatal;
}

// --- response parsers ----------------------------------------------------------------

std::string parse_private_dns_name(std::string_view xml) {
    pugi::xml_document doc = parse_xml(xml, "EC2 DescribeInstances");
    pugi::xml_node instance = find(find(doc, "instancesSet"), "item");
    if (!instance) throw Error("EC2 DescribeInstances: the answer lists no instance");
    std::string name = instance.child("privateDnsName").text().as_string();
    // It becomes the node name and kubelet's --hostname-override: a DNS name
    // and nothing else, checked as IMDS local-hostname is. A wrong one is bad
    // instance data (exit 6), not worth asking again.
    if (!name.empty())
        if (std::string problem = imds::value::dns_name(name); !problem.empty())
            throw ConfigError("EC2 DescribeInstances", "privateDnsName", problem);
    return name;
}

std::optional<derive::EniLimits> parse_eni_limits(std::string_view xml) {
    pugi::xml_document doc = parse_xml(xml, "EC2 DescribeInstanceTypes");
    pugi::xml_node type = find(find(doc, "instanceTypeSet"), "item");
    if (!type) return std::nullopt;
    pugi::xml_node net = type.child("networkInfo");
    if (!net) throw Error("EC2 DescribeInstanceTypes: the answer has no networkInfo");
    derive::EniLimits l;
    l.ips_per_eni = positive_int(net.child("ipv4AddressesPerInterface"), "ipv4AddressesPerInterface");
    // The VPC CNI attaches ENIs on the default network card only (types
    // with several cards count the others in maximumNetworkInterfaces).
    int default_card = net.child("defaultNetworkCardIndex").text().as_int(0);
    for (pugi::xml_node card : net.child("networkCards").children("item"))
        if (card.child("networkCardIndex").text().as_int(-1) == default_card)
            l.enis = positive_int(card.child("maximumNetworkInterfaces"), "maximumNetworkInterfaces");
    if (l.enis == 0) l.enis = positive_int(net.child("maximumNetworkInterfaces"), "maximumNetworkInterfaces");
    return l;
}

EniTags parse_eni_tags(std::string_view xml) {
    pugi::xml_document doc = parse_xml(xml, "EC2 DescribeNetworkInterfaces");
    pugi::xml_node set = find(doc, "networkInterfaceSet");
    if (!set) throw Error("EC2 DescribeNetworkInterfaces: the answer has no networkInterfaceSet");
    EniTags t;
    pugi::xml_node eni = set.child("item");
    if (!eni) return t;
    t.listed = true;
    for (pugi::xml_node tag : eni.child("tagSet").children("item")) {
        std::string_view key = tag.child("key").text().as_string();
        // Compared as the VPC CNI compares them: exactly, case included.
        if (key == no_manage_tag) t.no_manage = tag.child("value").text().as_string();
        else if (key == cni_instance_tag) t.cni_created = true;
    }
    return t;
}

derive::ClusterDetails parse_cluster(std::string_view text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception&) {
        // parse_error, or out_of_range for a number such as 1e400: either way
        // not an answer we can read, and refused as any other garbage is.
        throw Error("EKS DescribeCluster: the answer is not JSON");
    }
    derive::ClusterDetails d;
    d.endpoint = string_at(j, {"cluster", "endpoint"});
    d.certificate_authority = string_at(j, {"cluster", "certificateAuthority", "data"});
    std::string family = string_at(j, {"cluster", "kubernetesNetworkConfig", "ipFamily"});
    const char* cidr_key = family == "ipv6" ? "serviceIpv6Cidr" : "serviceIpv4Cidr";
    d.cidr = string_at(j, {"cluster", "kubernetesNetworkConfig", cidr_key});
    d.status = string_at(j, {"cluster", "status"});
    // What a cluster still CREATING lacks is empty (asked again); what is
    // there is checked by its type before it reaches the kubeconfig and the
    // kubelet configuration. A wrong value is bad data (exit 6).
    auto check = [](const std::string& value, std::string_view field, std::string (*type)(std::string_view)) {
        if (value.empty()) return;
        if (std::string problem = type(value); !problem.empty())
            throw ConfigError("EKS DescribeCluster", std::string(field), problem);
    };
    check(d.endpoint, "cluster.endpoint", imds::value::https_url);
    check(d.certificate_authority, "cluster.certificateAuthority.data", imds::value::base64);
    check(d.cidr, std::string("cluster.kubernetesNetworkConfig.") + cidr_key, imds::value::cidr);
    return d;
}

}  // namespace eksnode::aws
