// SPDX-License-Identifier: Apache-2.0
// eks-node's units, one row each: units/steps.tsv, compiled in by
// tools/gen-steps.py. The one table of steps, read by the chain of
// `eks-node render` (cli/chain.cpp), the generator (which steps only an EKS
// node runs, which units are started on demand), the confinement (which
// programs confine themselves) and `eks-node validate --image`; the build
// reads the same file for the programs, the units and the man pages.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace eksnode::units {

// Which node runs a unit (settings.node): eks-node.target's, ecs-node.target's, or both.
enum class Kinds { both, eks, ecs };
// How it is started: a target's Wants=, the generator's plan, a job another
// unit queues, a udev rule (per device).
enum class Start { target, plan, job, udev };
enum class Library { steps, cli };
// Its place around kubelet's start (steps.tsv's order column): prepares the
// node before it, checks before it, runs after it, reports on the join, or
// none of these (a template, or a unit beside the join).
enum class Order { prepare, check, after, report, none };

struct Unit {
    std::string_view unit;     // "eks-node-imds.service", "eks-node-network@.service"
    std::string_view program;  // what ExecStart= runs from /usr/libexec/eks-node
    std::string_view step;     // the program's name without eks-node-; "" when another row builds it
    Library library;
    Kinds kinds;
    int chain;  // its place in `eks-node render`'s chain, 1..; 0 when not there
    Start start;
    bool sandbox;   // the steps' shared sandbox (10-sandbox.conf)
    bool landlock;  // the program confines itself (core/confine.hpp); false for a program's second unit
    Order order;
};

// Every row, in the table's order.
std::span<const Unit> all();

// The units only an EKS node runs: on an ECS node (settings.node = "ecs")
// the generator makes each a no-op should another unit pull it in.
std::vector<std::string_view> eks_only();

// The units no target wants statically, each started by the plan, a job or
// udev (the start column): they must be on an image all the same
// (`eks-node validate --image`).
std::vector<std::string_view> started_on_demand();

}  // namespace eksnode::units
