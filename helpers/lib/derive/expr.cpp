// SPDX-License-Identifier: Apache-2.0
// spec.kubelet.maxPodsExpression: the subset of CEL (https://cel.dev) that max
// pods arithmetic needs, evaluated the way nodeadm's cel-go environment does,
// without pulling a CEL implementation into a boot-time helper.
//
// Grammar (CEL's precedence and associativity; whitespace between tokens):
//
//   expr     = or [ "?" or ":" expr ]         conditional, right-associative
//   or       = and { "||" and }
//   and      = relation { "&&" relation }
//   relation = sum { ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum }
//   sum      = product { ( "+" | "-" ) product }
//   product  = unary { ( "*" | "/" | "%" ) unary }
//   unary    = "!" unary | "-" unary | primary
//   primary  = integer | "true" | "false" | variable | "(" expr ")"
//   integer  = digit { digit }                decimal int64; "-" integer is a literal,
//                                             so -9223372036854775808 is accepted
//   variable = "default_enis" | "ips_per_eni" | "max_pods"
//
// Semantics are CEL's: int is int64 and overflow is an error; "/" truncates
// toward zero and "%" takes the sign of the dividend; division or remainder
// by zero is an error; "?:", "&&" and "||" evaluate only what decides the
// result, so `x == 0 ? 0 : 100 / x` is fine. Types are checked statically, in
// every branch: "+" wants ints, "!" wants a bool, a condition must be a bool,
// both branches of "?:" and both sides of "==" must have the same type, and the
// whole expression must be an int. CEL's ordering of bools, floats, strings,
// macros and functions are left out (CEL's standard library has no min/max
// anyway: `a < b ? a : b` is the CEL way). The variables are nodeadm's:
// default_enis, ips_per_eni and max_pods (= default_enis * (ips_per_eni - 1) + 2).
//
// An expression for an instance type without ENI data is still parsed and
// checked in full; its value is "unknown" if it needs one of the variables.
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/text.hpp"
#include "derive/internal.hpp"

namespace eksnode::derive::detail {

namespace {

constexpr std::string_view field = "spec.kubelet.maxPodsExpression";
// Deep enough for any real expression, shallow enough that "((((..." cannot
// exhaust the stack.
constexpr int max_depth = 64;
constexpr std::size_t max_length = 4096;

enum class Type { integer, boolean };

constexpr std::string_view type_name(Type t) { return t == Type::integer ? "int" : "bool"; }

// A value whose type is always known; `known` is false when it depends on an
// unknown variable or sits in a branch that is not evaluated.
struct Value {
    Type type = Type::integer;
    bool known = false;
    std::int64_t v = 0;  // bools as 0 / 1
};

Value unknown(Type t) { return {t, false, 0}; }
Value integer(std::int64_t v) { return {Type::integer, true, v}; }
Value boolean(bool b) { return {Type::boolean, true, b ? 1 : 0}; }

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

class Evaluator {
public:
    Evaluator(std::string_view text, const ExpressionVariables& vars, const std::string& source)
        : text_(text), vars_(vars), source_(source) {}

    ExpressionResult run() {
        if (text_.size() > max_length) fail(0, fmt::format("longer than {} characters", max_length));
        skip_space();
        if (pos_ == text_.size()) fail(pos_, "empty expression");
        Value result = expr(true);
        skip_space();
        if (pos_ != text_.size())
            fail(pos_, fmt::format("unexpected {} after the end of the expression", describe_here()));
        if (result.type != Type::integer) fail(0, "the expression yields bool; max pods must be int");
        ExpressionResult out;
        if (result.known) out.value = result.v;
        else out.unknown_variable = unknown_variable_;
        return out;
    }

private:
    // Every grammar rule takes `live`: false inside a branch CEL would not
    // evaluate, where values are not computed (so no arithmetic errors) but
    // syntax and types are still checked.
    Value expr(bool live) {
        Depth guard(*this);
        std::size_t at = skip_space();
        Value cond = logical_or(live);
        if (!accept("?")) return cond;
        if (cond.type != Type::boolean)
            fail(at, fmt::format("the condition of ?: must be bool, got {}", type_name(cond.type)));
        bool take_then = cond.known && cond.v;
        bool take_else = cond.known && !cond.v;
        std::size_t then_at = skip_space();
        Value then_v = logical_or(live && take_then);
        expect(":");
        Value else_v = expr(live && take_else);
        if (then_v.type != else_v.type)
            fail(then_at, fmt::format("the branches of ?: differ in type ({} and {})", type_name(then_v.type),
                                      type_name(else_v.type)));
        if (!cond.known) return unknown(then_v.type);
        return take_then ? then_v : else_v;
    }

    Value logical_or(bool live) { return logical(live, "||", true); }
    Value logical_and(bool live) { return logical(live, "&&", false); }

    // "||" (decisive value true) and "&&" (decisive value false): once an
    // operand is known to decide the result, the rest is not evaluated.
    Value logical(bool live, std::string_view op, bool decisive) {
        std::size_t at = skip_space();
        Value acc = decisive ? logical_and(live) : relation(live);
        while (peek_operator(op)) {
            require_type(acc, Type::boolean, at, op);
            pos_ += op.size();
            bool decided = acc.known && (acc.v != 0) == decisive;
            at = skip_space();
            Value rhs = decisive ? logical_and(live && !decided) : relation(live && !decided);
            require_type(rhs, Type::boolean, at, op);
            if (decided) continue;
            if (rhs.known && (rhs.v != 0) == decisive) acc = boolean(decisive);
            else if (acc.known && rhs.known) acc = boolean(!decisive);
            else acc = unknown(Type::boolean);
        }
        return acc;
    }

    Value relation(bool live) {
        std::size_t at = skip_space();
        Value lhs = sum(live);
        for (;;) {
            std::string_view op = relational_operator();
            if (op.empty()) return lhs;
            pos_ += op.size();
            std::size_t rhs_at = skip_space();
            Value rhs = sum(live);
            bool equality = op == "==" || op == "!=";
            if (equality && lhs.type != rhs.type)
                fail(at, fmt::format("cannot compare {} with {}", type_name(lhs.type), type_name(rhs.type)));
            if (!equality) {
                require_type(lhs, Type::integer, at, op);
                require_type(rhs, Type::integer, rhs_at, op);
            }
            lhs = (lhs.known && rhs.known) ? boolean(compare(op, lhs.v, rhs.v)) : unknown(Type::boolean);
        }
    }

    // One left-associative level of integer operators (`ops`), its operands
    // parsed by `operand`: sum over products, product over unaries.
    Value integer_level(bool live, std::string_view ops, Value (Evaluator::*operand)(bool)) {
        std::size_t at = skip_space();
        Value lhs = (this->*operand)(live);
        for (;;) {
            skip_space();
            char op = peek();
            if (op == '\0' || ops.find(op) == std::string_view::npos) return lhs;
            std::size_t op_at = pos_++;
            std::size_t rhs_at = skip_space();
            Value rhs = (this->*operand)(live);
            require_type(lhs, Type::integer, at, std::string_view(&text_[op_at], 1));
            require_type(rhs, Type::integer, rhs_at, std::string_view(&text_[op_at], 1));
            lhs = arithmetic(op, lhs, rhs, live, op_at);
        }
    }

    Value sum(bool live) { return integer_level(live, "+-", &Evaluator::product); }
    Value product(bool live) { return integer_level(live, "*/%", &Evaluator::unary); }

    Value unary(bool live) {
        std::size_t at = skip_space();
        if (accept("!")) {
            Depth guard(*this);
            Value v = unary(live);
            require_type(v, Type::boolean, at, "!");
            return v.known ? boolean(v.v == 0) : v;
        }
        if (accept("-")) {
            skip_space();
            if (is_digit(peek())) return integer_literal(true, at);
            Depth guard(*this);
            Value v = unary(live);
            require_type(v, Type::integer, at, "-");
            if (!v.known || !live) return unknown(Type::integer);
            if (v.v == std::numeric_limits<std::int64_t>::min()) fail(at, "integer overflow in negation");
            return integer(-v.v);
        }
        return primary(live);
    }

    Value primary(bool live) {
        std::size_t at = skip_space();
        char c = peek();
        if (c == '(') {
            ++pos_;
            Value v = expr(live);
            expect(")");
            return v;
        }
        if (is_digit(c)) return integer_literal(false, at);
        if (is_ident_start(c)) return identifier(live);
        if (c == '"' || c == '\'') fail(at, "strings are not supported");
        if (pos_ == text_.size()) fail(at, "unexpected end of the expression");
        fail(at, fmt::format("unexpected {}", describe_here()));
    }

    Value integer_literal(bool negative, std::size_t at) {
        std::size_t start = pos_;
        while (is_digit(peek())) ++pos_;
        char next = peek();
        if (next == '.' || next == 'e' || next == 'E') fail(at, "only integer literals are supported");
        if (next == 'u' || next == 'U') fail(at, "unsigned literals are not supported");
        if (next == 'x' || next == 'X') fail(at, "hexadecimal literals are not supported");
        if (is_ident_char(next)) fail(pos_, fmt::format("unexpected {}", describe_here()));
        // Accumulate negatively so that -9223372036854775808 fits.
        std::int64_t v = 0;
        for (std::size_t i = start; i < pos_; ++i) {
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, text_[i] - '0', &v))
                fail(at, "integer literal out of range");
        }
        if (!negative) {
            if (v == std::numeric_limits<std::int64_t>::min()) fail(at, "integer literal out of range");
            v = -v;
        }
        return integer(v);
    }

    Value identifier(bool live) {
        std::size_t at = pos_;
        while (is_ident_char(peek())) ++pos_;
        std::string_view name = text_.substr(at, pos_ - at);
        skip_space();
        if (peek() == '(')
            fail(at,
                 fmt::format("function calls such as {}() are not supported (write min/max as `a < b ? a : b`)", name));
        if (peek() == '.' || peek() == '[')
            fail(at, fmt::format("field and index access on {} are not supported", name));
        if (name == "true") return boolean(true);
        if (name == "false") return boolean(false);
        const std::optional<long>* var = variable(name);
        if (!var) {
            if (name == "vcpus" || name == "memory_mib" || name == "physical_memory_mib")
                fail(at, fmt::format("variable {} is not supported: eks-node's instance table has no vCPU or memory "
                                     "columns (variables: default_enis, ips_per_eni, max_pods)",
                                     name));
            fail(at, fmt::format("unknown variable {} (variables: default_enis, ips_per_eni, max_pods)", name));
        }
        if (var->has_value()) return integer(**var);
        if (live && unknown_variable_.empty()) unknown_variable_ = std::string(name);
        return unknown(Type::integer);
    }

    const std::optional<long>* variable(std::string_view name) const {
        if (name == "default_enis") return &vars_.default_enis;
        if (name == "ips_per_eni") return &vars_.ips_per_eni;
        if (name == "max_pods") return &vars_.max_pods;
        return nullptr;
    }

    Value arithmetic(char op, Value a, Value b, bool live, std::size_t at) {
        if (!live || !a.known || !b.known) {
            // A zero divisor is an error whatever the dividend turns out to be.
            if (live && b.known && b.v == 0 && (op == '/' || op == '%')) fail(at, division_by_zero(op));
            return unknown(Type::integer);
        }
        std::int64_t r = 0;
        bool overflow = false;
        switch (op) {
        case '+': overflow = __builtin_add_overflow(a.v, b.v, &r); break;
        case '-': overflow = __builtin_sub_overflow(a.v, b.v, &r); break;
        case '*': overflow = __builtin_mul_overflow(a.v, b.v, &r); break;
        case '/':
        case '%':
            if (b.v == 0) fail(at, division_by_zero(op));
            // INT64_MIN / -1 does not fit; CEL reports it as overflow.
            if (a.v == std::numeric_limits<std::int64_t>::min() && b.v == -1) overflow = true;
            else r = op == '/' ? a.v / b.v : a.v % b.v;
            break;
        default: break;
        }
        if (overflow) fail(at, fmt::format("integer overflow in {} {} {}", a.v, op, b.v));
        return integer(r);
    }

    static std::string division_by_zero(char op) { return op == '/' ? "division by zero" : "remainder by zero"; }

    static bool compare(std::string_view op, std::int64_t a, std::int64_t b) {
        if (op == "==") return a == b;
        if (op == "!=") return a != b;
        if (op == "<") return a < b;
        if (op == "<=") return a <= b;
        if (op == ">") return a > b;
        return a >= b;
    }

    std::string_view relational_operator() {
        skip_space();
        for (std::string_view op : {"==", "!=", "<=", ">=", "<", ">"})
            if (text_.substr(pos_).starts_with(op)) return op;
        // A lone "=" is a common slip for "==".
        if (peek() == '=') fail(pos_, "unexpected = (comparison is ==)");
        return {};
    }

    // "|" or "&" alone are not CEL operators; name the mistake.
    bool peek_operator(std::string_view op) {
        skip_space();
        if (text_.substr(pos_).starts_with(op)) return true;
        if (peek() == op[0]) fail(pos_, fmt::format("unexpected {} (logical operator is {})", op[0], op));
        return false;
    }

    void require_type(const Value& v, Type want, std::size_t at, std::string_view op) {
        if (v.type != want)
            fail(at, fmt::format("operator {} needs {} operands, got {}", op, type_name(want), type_name(v.type)));
    }

    std::size_t skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
        return pos_;
    }

    char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

    bool accept(std::string_view token) {
        skip_space();
        if (!text_.substr(pos_).starts_with(token)) return false;
        pos_ += token.size();
        return true;
    }

    void expect(std::string_view token) {
        skip_space();
        if (accept(token)) return;
        if (pos_ == text_.size()) fail(pos_, fmt::format("expected {} before the end of the expression", token));
        fail(pos_, fmt::format("expected {}, found {}", token, describe_here()));
    }

    std::string describe_here() const {
        if (pos_ >= text_.size()) return "end of the expression";
        unsigned char c = static_cast<unsigned char>(text_[pos_]);
        if (c < 0x20 || c >= 0x7f) return fmt::format("byte 0x{:02x}", c);
        return fmt::format("'{}'", text_[pos_]);
    }

    // Columns count from 1, as editors do.
    [[noreturn]] void fail(std::size_t at, const std::string& problem) const {
        throw ConfigError(source_, std::string(field),
                          fmt::format("column {}: {} (in \"{}\")", at + 1, problem, echo()));
    }

    // The expression as an error message quotes it: one line, and not all of a huge one.
    std::string echo() const {
        constexpr std::size_t shown = 100;
        std::string out(text_.substr(0, shown));
        for (char& c : out)
            if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        if (text_.size() > shown) out += "...";
        return out;
    }

    struct Depth {
        explicit Depth(Evaluator& e) : e_(e) {
            if (++e_.depth_ > max_depth) e_.fail(e_.pos_, fmt::format("nested deeper than {} levels", max_depth));
        }
        ~Depth() { --e_.depth_; }
        Evaluator& e_;
    };

    std::string_view text_;
    const ExpressionVariables& vars_;
    const std::string& source_;
    std::size_t pos_ = 0;
    int depth_ = 0;
    std::string unknown_variable_;
};

}  // namespace

ExpressionResult evaluate_expression(std::string_view expr, const ExpressionVariables& vars,
                                     const std::string& source) {
    return Evaluator(expr, vars, source).run();
}

ExpressionResult max_pods_from_expression(std::string_view expr, const ExpressionVariables& vars,
                                          const std::string& source) {
    ExpressionResult r = evaluate_expression(expr, vars, source);
    if (r.value && (*r.value < 1 || *r.value > max_pods_limit))
        throw ConfigError(source, "spec.kubelet.maxPodsExpression",
                          fmt::format("\"{}\" gives {}; max pods must be in 1..{}", expr, *r.value, max_pods_limit));
    return r;
}

}  // namespace eksnode::derive::detail
