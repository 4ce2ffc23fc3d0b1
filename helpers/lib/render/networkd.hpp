// SPDX-License-Identifier: Apache-2.0
// systemd-networkd files for EC2 network interfaces (eks-node-network): one
// .network file per interface, which either configures it (DHCP, jumbo MTU,
// and for every ENI but the primary its own route table and policy rules) or
// leaves it to the VPC CNI (Unmanaged=yes). Pure text from the facts IMDS
// gave; steps/network.cpp fetches them and writes the files.
//
// Owner area: helpers/lib/render/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace eksnode::render {

// Who configures an interface: systemd-networkd (the primary ENI and those
// attached before the join), or the VPC CNI (those it attaches afterwards).
enum class EniOwner { systemd, cni };
std::string_view owner_name(EniOwner owner);  // "systemd", "cni"

// One ENI as IMDS describes it under meta-data/network/interfaces/macs/MAC/,
// every value checked by its type before it gets here.
struct Eni {
    std::string name;                       // the kernel's interface name, "ens6"
    std::string mac;                        // "0e:49:61:0f:c3:11"
    std::string interface_id;               // "eni-0123456789abcdef0" ("" unknown)
    int device_number = 0;                  // device-number
    int network_card = 0;                   // network-card (absent: 0)
    bool primary = false;                   // its MAC is meta-data/mac
    std::vector<std::string> ipv4s;         // local-ipv4s, the primary address first
    std::string ipv4_subnet;                // subnet-ipv4-cidr-block ("" none)
    std::vector<std::string> ipv6s;         // ipv6s
    std::vector<std::string> ipv6_subnets;  // subnet-ipv6-cidr-blocks
};

// Numbers amazon-ec2-net-utils gives an ENI and nodeadm kept: the MTU of a
// VPC, and per (network card, device number) a route metric and a table.
inline constexpr int eni_mtu = 9001;
inline constexpr int route_metric_base = 512;
inline constexpr int route_table_base = 10000;
// The VPC CNI's own rules for pods sit below this priority (lower runs
// first); the rule of an ENI's own addresses comes just before the main table.
inline constexpr int eni_rule_priority = 32765;
int route_metric(const Eni& eni);  // base + 100 * card + device
int route_table(const Eni& eni);   // base + 100 * card + device

// The file's path on the node, path::eni_network for NAME:
// /run/systemd/network/70-eks-node-NAME.network (runtime: gone at reboot,
// written again then).
std::string eni_network_path(std::string_view name);

// The image's fallback (network/80-eks-node-ec2.network) gives every EC2
// interface DHCP until its own file exists, so that the primary reaches IMDS
// at boot. Once the primary has its file, path::network_fallback_dropin
// narrows the fallback to the primary's MAC (which 70-eks-node-* already
// matches first): an ENI attached later is configured by no one until
// eks-node-network has decided who owns it.
std::string fallback_dropin_text(std::string_view primary_mac);

// The .network file for `eni`.
std::string eni_network_text(const Eni& eni, EniOwner owner);

}  // namespace eksnode::render
