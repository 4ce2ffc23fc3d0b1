// SPDX-License-Identifier: Apache-2.0
// spec.kubelet.maxPodsExpression: the CEL subset, its semantics and its errors.
#include <catch2/catch.hpp>

#include <limits>

#include "core/error.hpp"
#include "derive/derive.hpp"
#include "derive/internal.hpp"

using namespace eksnode;
using namespace eksnode::derive;
using derive::detail::evaluate_expression;
using derive::detail::ExpressionVariables;

namespace {

const std::string source = "user data";
const ExpressionVariables t3_medium{3, 6, 17};

// The value with every variable bound (no range check).
long eval(std::string_view expr, ExpressionVariables vars = t3_medium) {
    derive::detail::ExpressionResult r = evaluate_expression(expr, vars, source);
    REQUIRE(r.value);
    return *r.value;
}

// The problem of the ConfigError the expression raises.
std::string error_of(std::string_view expr, ExpressionVariables vars = t3_medium) {
    try {
        evaluate_expression(expr, vars, source);
    } catch (const ConfigError& e) {
        CHECK(e.source() == source);
        CHECK(e.field() == "spec.kubelet.maxPodsExpression");
        CHECK(e.exit_code() == EXIT_CONFIG);
        return e.problem();
    }
    FAIL("no error for " << expr);
    return {};
}

}  // namespace

TEST_CASE("max pods expressions from nodeadm's documentation and tests", "[derive][expr]") {
    CHECK(eval("417") == 417);
    CHECK(eval("(default_enis * (ips_per_eni - 1)) + 2") == 17);
    CHECK(eval("(default_enis * ((ips_per_eni - 1) * 16)) + 2") == 242);
    CHECK(eval("((default_enis * ((ips_per_eni * 16) - 1)) + 2) < 30 ? ((default_enis * ((ips_per_eni * 16) - 1)) + "
               "2) : 30") == 30);
    CHECK(eval("((default_enis - 1) * (ips_per_eni - 1)) + 2") == 12);
    CHECK(eval("max_pods < 30 ? max_pods : 30", {0, 0, 35}) == 30);
    CHECK(eval("max_pods", {0, 0, 7}) == 7);
    CHECK(eval("max_pods + 2", {999, 9999, 7}) == 9);
    CHECK(eval("max_pods < 110 ? max_pods : 110", {0, 0, 58}) == 58);
}

TEST_CASE("expression operators follow CEL precedence and associativity", "[derive][expr]") {
    CHECK(eval("2 + 3 * 4") == 14);
    CHECK(eval("(2 + 3) * 4") == 20);
    CHECK(eval("20 - 5 - 3") == 12);
    CHECK(eval("100 / 10 / 5") == 2);
    CHECK(eval("2 * 3 % 4") == 2);
    CHECK(eval("7 % 3") == 1);
    CHECK(eval("-7 / 2") == -3);   // truncates toward zero
    CHECK(eval("-7 % 3") == -1);   // sign of the dividend
    CHECK(eval("- - 5") == 5);
    CHECK(eval("-(2 + 3)") == -5);
    CHECK(eval("2 * -3") == -6);
    CHECK(eval("3 --5") == 8);
    CHECK(eval(" \t\n 1\n+\r\n2 ") == 3);
    CHECK(eval("1 + 2 < 4 ? 10 : 20") == 10);                // arithmetic binds tighter than comparison
    CHECK(eval("1 < 2 == true ? 1 : 0") == 1);               // comparisons chain left to right
    CHECK(eval("false ? 1 : true ? 2 : 3") == 2);            // ?: is right-associative
    CHECK(eval("true || false && false ? 1 : 0") == 1);      // && binds tighter than ||
    CHECK(eval("(true || false) && false ? 1 : 0") == 0);
}

TEST_CASE("expression comparisons and logic", "[derive][expr]") {
    CHECK(eval("1 == 1 ? 3 : 4") == 3);
    CHECK(eval("1 != 2 ? 7 : 8") == 7);
    CHECK(eval("3 >= 3 ? 1 : 0") == 1);
    CHECK(eval("3 > 3 ? 1 : 0") == 0);
    CHECK(eval("2 <= 1 ? 1 : 0") == 0);
    CHECK(eval("true == false ? 1 : 2") == 2);
    CHECK(eval("!true ? 1 : 2") == 2);
    CHECK(eval("!(1 < 2) ? 1 : 2") == 2);
    CHECK(eval("!!true ? 1 : 2") == 1);
}

TEST_CASE("?:, && and || evaluate only what decides the result", "[derive][expr]") {
    CHECK(eval("max_pods == 0 ? 0 : 100 / max_pods", {0, 0, 0}) == 0);
    CHECK(eval("max_pods == 0 ? 0 : 100 / max_pods", {0, 0, 25}) == 4);
    CHECK(eval("false && 1 / 0 == 0 ? 1 : 2") == 2);
    CHECK(eval("true || 1 % 0 == 1 ? 5 : 6") == 5);
    CHECK(eval("true ? 1 : 9223372036854775807 + 1") == 1);
}

TEST_CASE("expression integers are int64 and overflow is an error", "[derive][expr]") {
    constexpr long min = std::numeric_limits<long>::min();
    CHECK(eval("-9223372036854775808") == min);
    CHECK(eval("9223372036854775807") == std::numeric_limits<long>::max());
    CHECK_THAT(error_of("9223372036854775808"), Catch::Contains("integer literal out of range"));
    CHECK_THAT(error_of("9223372036854775807 + 1"), Catch::Contains("column 21: integer overflow"));
    CHECK_THAT(error_of("-9223372036854775808 - 1"), Catch::Contains("integer overflow"));
    CHECK_THAT(error_of("3037000500 * 3037000500"), Catch::Contains("integer overflow"));
    CHECK_THAT(error_of("-9223372036854775808 / -1"), Catch::Contains("integer overflow"));
    CHECK_THAT(error_of("-(-9223372036854775808)"), Catch::Contains("overflow in negation"));
    CHECK_THAT(error_of("default_enis * 4611686018427387904", {3, 6, 17}), Catch::Contains("integer overflow"));
}

TEST_CASE("expression errors name the column and the problem", "[derive][expr]") {
    CHECK(error_of("99 - fake_variable") ==
          "column 6: unknown variable fake_variable (variables: default_enis, ips_per_eni, max_pods) "
          "(in \"99 - fake_variable\")");
    CHECK_THAT(error_of("max_pods / 0"), Catch::StartsWith("column 10: division by zero"));
    CHECK_THAT(error_of("max_pods % (3 - 3)"), Catch::StartsWith("column 10: remainder by zero"));
    CHECK_THAT(error_of("(1 + 2"), Catch::StartsWith("column 7: expected ) before the end"));
    CHECK_THAT(error_of("1 +"), Catch::StartsWith("column 4: unexpected end of the expression"));
    CHECK_THAT(error_of("1 2"), Catch::StartsWith("column 3: unexpected '2' after the end"));
    CHECK_THAT(error_of("min(max_pods, 110)"), Catch::StartsWith("column 1: function calls such as min()"));
    CHECK_THAT(error_of("max_pods.size"), Catch::StartsWith("column 1: field and index access"));
    CHECK_THAT(error_of("vcpus * 10"), Catch::StartsWith("column 1: variable vcpus is not supported"));
    CHECK_THAT(error_of("1.5"), Catch::Contains("only integer literals"));
    CHECK_THAT(error_of("10u"), Catch::Contains("unsigned literals"));
    CHECK_THAT(error_of("0x10"), Catch::Contains("hexadecimal literals"));
    CHECK_THAT(error_of("'a'"), Catch::Contains("strings are not supported"));
    CHECK_THAT(error_of(""), Catch::StartsWith("column 1: empty expression"));
    CHECK_THAT(error_of("   "), Catch::Contains("empty expression"));
    CHECK_THAT(error_of("max_pods = 3"), Catch::StartsWith("column 10: unexpected = (comparison is ==)"));
    CHECK_THAT(error_of("1 & 2"), Catch::StartsWith("column 3: unexpected & (logical operator is &&)"));
    CHECK_THAT(error_of("1 | 2"), Catch::StartsWith("column 3: unexpected | (logical operator is ||)"));
    CHECK_THAT(error_of("max_pods $ 2"), Catch::StartsWith("column 10: unexpected '$'"));
    CHECK_THAT(error_of("1 +\x01"), Catch::Contains("unexpected byte 0x01"));
}

TEST_CASE("expression types are checked in every branch", "[derive][expr]") {
    CHECK_THAT(error_of("true"), Catch::Contains("yields bool; max pods must be int"));
    CHECK_THAT(error_of("1 < 2"), Catch::Contains("yields bool"));
    CHECK_THAT(error_of("1 + true"), Catch::StartsWith("column 5: operator + needs int operands, got bool"));
    CHECK_THAT(error_of("1 ? 2 : 3"), Catch::Contains("the condition of ?: must be bool, got int"));
    CHECK_THAT(error_of("true ? 1 : false"), Catch::Contains("the branches of ?: differ in type"));
    CHECK_THAT(error_of("1 == true ? 1 : 2"), Catch::Contains("cannot compare int with bool"));
    CHECK_THAT(error_of("1 < 2 < 3 ? 1 : 2"), Catch::Contains("operator < needs int operands, got bool"));
    CHECK_THAT(error_of("!1 ? 1 : 2"), Catch::Contains("operator ! needs bool operands, got int"));
    CHECK_THAT(error_of("-true"), Catch::Contains("operator - needs int operands, got bool"));
    CHECK_THAT(error_of("1 && true ? 1 : 2"), Catch::Contains("operator && needs bool operands, got int"));
    // Not evaluated, still type-checked (CEL checks types before it runs).
    CHECK_THAT(error_of("false ? 1 + true : 2"), Catch::Contains("operator + needs int operands"));
}

TEST_CASE("expression nesting is bounded", "[derive][expr]") {
    std::string deep = std::string(60, '(') + "1" + std::string(60, ')');
    CHECK(eval(deep) == 1);
    std::string too_deep = std::string(100, '(') + "1" + std::string(100, ')');
    CHECK_THAT(error_of(too_deep), Catch::Contains("nested deeper than 64 levels"));
    CHECK_THAT(error_of(std::string(100, '-') + "1"), Catch::Contains("nested deeper"));
    CHECK_THAT(error_of(std::string(5000, ' ') + "1"), Catch::Contains("longer than 4096 characters"));
}

TEST_CASE("an expression without ENI data is unknown only if it needs that data", "[derive][expr]") {
    const ExpressionVariables none{};
    derive::detail::ExpressionResult r = evaluate_expression("max_pods + 1", none, source);
    CHECK_FALSE(r.value);
    CHECK(r.unknown_variable == "max_pods");
    CHECK(eval("200", none) == 200);
    CHECK(eval("false ? max_pods : 5", none) == 5);
    CHECK(eval("true || default_enis > 2 ? 7 : 8", none) == 7);
    CHECK(eval("default_enis > 2 || true ? 7 : 8", none) == 7);   // CEL's commutative ||
    r = evaluate_expression("default_enis > 2 ? 1 / 0 : 3", none, source);
    CHECK_FALSE(r.value);
    CHECK(r.unknown_variable == "default_enis");
    // Still an error: no value of max_pods makes this divisible.
    CHECK_THAT(error_of("max_pods / 0", none), Catch::Contains("division by zero"));
    CHECK_THAT(error_of("max_pods +", none), Catch::Contains("unexpected end"));
}

TEST_CASE("as max pods, the result is range-checked", "[derive][expr]") {
    auto eval_max_pods_expression = [](std::string_view expr, long enis, long ips, long max_pods,
                                       const std::string& src) {
        derive::detail::ExpressionResult r = derive::detail::max_pods_from_expression(expr, {enis, ips, max_pods}, src);
        REQUIRE(r.value);
        return *r.value;
    };
    CHECK(eval_max_pods_expression("max_pods + 3", 3, 6, 17, source) == 20);
    CHECK(eval_max_pods_expression("30000", 3, 6, 17, source) == max_pods_limit);
    CHECK(eval_max_pods_expression("1", 3, 6, 17, source) == 1);
    CHECK_THROWS_WITH(eval_max_pods_expression("max_pods - ((default_enis * (ips_per_eni - 1)) + 2)", 3, 6, 17, source),
                      Catch::Contains("gives 0; max pods must be in 1..30000"));
    CHECK_THROWS_WITH(eval_max_pods_expression("max_pods - 2", 0, 0, 1, source), Catch::Contains("gives -1"));
    CHECK_THROWS_WITH(eval_max_pods_expression("30001", 3, 6, 17, source), Catch::Contains("gives 30001"));
    CHECK_THROWS_AS(eval_max_pods_expression("max_pods * 1000", 3, 6, 58, source), ConfigError);
    CHECK_THROWS_WITH(eval_max_pods_expression("fake", 3, 6, 17, source),
                      Catch::StartsWith("user data: spec.kubelet.maxPodsExpression: column 1: unknown variable fake"));
}

TEST_CASE("an error quotes the expression on one line and shortened", "[derive][expr]") {
    CHECK(error_of("1 +\n") == "column 5: unexpected end of the expression (in \"1 + \")");
    std::string tail = error_of(std::string(150, '1'));
    CHECK_THAT(tail, Catch::EndsWith(std::string(100, '1') + "...\")"));
}
