// ir/parser.cpp - parses the textual IR (see ir/text.h) back into a Module.
//
// A small hand-written recursive-descent parser over a character cursor;
// every error names the source, line and column, and what was expected.
#include "ir/text.h"

#include "support/error.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

namespace gpt2c::ir {

namespace {

class Parser {
public:
    Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

    Module parse() {
        Module m;
        expect_word("module");
        expect('@');
        m.name = identifier("a module name");
        skip_space();
        if (peek() == '{' && !next_is_body()) m.attrs = attrs();
        expect('{');
        std::unordered_map<std::string, int> names;
        while (true) {
            skip_space();
            if (peek() == '}') break;
            if (at_end()) error("expected '}' closing the module");
            if (try_word("return")) {
                if (m.result >= 0) error("a module returns only once");
                m.result = value_ref(names);
                continue;
            }
            if (m.result >= 0) error("no node may follow 'return'");
            parse_node(m, names);
        }
        expect('}');
        skip_space();
        if (!at_end()) error("unexpected text after the module");
        if (m.result < 0) error("the module has no 'return'");
        return m;
    }

private:
    std::string_view text_;
    const std::string& source_;
    size_t pos_ = 0;

    [[noreturn]] void error(const std::string& what) const {
        int line = 1, col = 1;
        for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        fail("{}:{}:{}: {}", source_, line, col, what);
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    void skip_space() {
        while (!at_end()) {
            char c = text_[pos_];
            if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
                while (!at_end() && text_[pos_] != '\n') ++pos_;
            } else if (std::isspace(static_cast<unsigned char>(c))) {
                ++pos_;
            } else {
                break;
            }
        }
    }

    // After 'module @name', a '{' opens the attributes unless it opens the body
    // directly: the body starts with '%', 'return' or '}'.
    bool next_is_body() {
        size_t saved = pos_;
        ++pos_;
        skip_space();
        bool body = peek() == '%' || peek() == '}' ||
                    (text_.substr(pos_, 6) == "return" && (pos_ + 6 >= text_.size() || !is_ident_char(text_[pos_ + 6])));
        pos_ = saved;
        return body;
    }

    void expect(char c) {
        skip_space();
        if (peek() != c) error(fmt::format("expected '{}'", c));
        ++pos_;
    }

    static bool is_ident_char(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    }

    std::string identifier(const char* what) {
        skip_space();
        size_t start = pos_;
        while (!at_end() && is_ident_char(text_[pos_])) ++pos_;
        if (start == pos_) error(fmt::format("expected {}", what));
        return std::string(text_.substr(start, pos_ - start));
    }

    bool try_word(std::string_view word) {
        skip_space();
        if (text_.substr(pos_, word.size()) != word) return false;
        size_t end = pos_ + word.size();
        if (end < text_.size() && is_ident_char(text_[end])) return false;
        pos_ = end;
        return true;
    }

    void expect_word(std::string_view word) {
        if (!try_word(word)) error(fmt::format("expected '{}'", word));
    }

    int value_ref(const std::unordered_map<std::string, int>& names) {
        expect('%');
        size_t at = pos_;
        std::string name = identifier("a value name after '%'");
        auto it = names.find(name);
        if (it == names.end()) {
            pos_ = at;
            error(fmt::format("use of undefined value %{}", name));
        }
        return it->second;
    }

    void parse_node(Module& m, std::unordered_map<std::string, int>& names) {
        expect('%');
        size_t at = pos_;
        std::string name = identifier("a value name");
        if (names.count(name)) {
            pos_ = at;
            error(fmt::format("value %{} is defined twice", name));
        }
        expect('=');
        skip_space();
        size_t op_at = pos_;
        std::string op = identifier("an op name");
        auto kind = op_kind_from_name(op);
        if (!kind) {
            pos_ = op_at;
            error(fmt::format("unknown op '{}'", op));
        }
        std::vector<int> operands;
        skip_space();
        if (peek() == '%') {
            operands.push_back(value_ref(names));
            while (true) {
                skip_space();
                if (peek() != ',') break;
                ++pos_;
                operands.push_back(value_ref(names));
            }
        }
        Attrs node_attrs;
        skip_space();
        if (peek() == '{') node_attrs = attrs();
        expect(':');
        TensorType type = tensor_type();
        Node node{*kind, name, std::move(type), std::move(operands), std::move(node_attrs)};
        m.nodes.push_back(std::move(node));
        names[name] = int(m.nodes.size()) - 1;
    }

    TensorType tensor_type() {
        TensorType type;
        std::string elem = identifier("an element type (f32, i32, bf16, i8 or q4)");
        if (elem == "f32") {
            type.elem = ElemType::F32;
        } else if (elem == "i32") {
            type.elem = ElemType::I32;
        } else if (elem == "bf16") {
            type.elem = ElemType::BF16;
        } else if (elem == "i8") {
            type.elem = ElemType::I8;
        } else if (elem == "q4") {
            type.elem = ElemType::Q4;
        } else {
            error(fmt::format("unknown element type '{}' (expected f32, i32, bf16, i8 or q4)", elem));
        }
        expect('[');
        skip_space();
        if (peek() == ']') {
            ++pos_;
            return type;
        }
        while (true) {
            skip_space();
            if (std::isdigit(static_cast<unsigned char>(peek()))) {
                type.dims.push_back(Dim::c(integer()));
            } else {
                std::string sym = identifier("a dimension (an integer, T, S or L)");
                if (sym == "T") type.dims.push_back(Dim::t());
                else if (sym == "S") type.dims.push_back(Dim::s());
                else if (sym == "L") type.dims.push_back(Dim::l());
                else error(fmt::format("unknown dimension '{}' (expected an integer, T, S or L)", sym));
            }
            skip_space();
            if (peek() == ']') {
                ++pos_;
                return type;
            }
            expect(',');
        }
    }

    int64_t integer() {
        skip_space();
        size_t start = pos_;
        if (peek() == '-') ++pos_;
        while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
        std::string digits(text_.substr(start, pos_ - start));
        errno = 0;
        char* end = nullptr;
        long long v = std::strtoll(digits.c_str(), &end, 10);
        if (digits.empty() || digits == "-" || *end != '\0' || errno == ERANGE) {
            pos_ = start;
            error("expected an integer");
        }
        return v;
    }

    Attrs attrs() {
        expect('{');
        Attrs result;
        skip_space();
        if (peek() == '}') {
            ++pos_;
            return result;
        }
        while (true) {
            skip_space();
            size_t at = pos_;
            std::string key = identifier("an attribute name");
            if (result.count(key)) {
                pos_ = at;
                error(fmt::format("attribute '{}' is given twice", key));
            }
            expect('=');
            result[key] = attr_value();
            skip_space();
            if (peek() == '}') {
                ++pos_;
                return result;
            }
            expect(',');
        }
    }

    AttrValue attr_value() {
        skip_space();
        char c = peek();
        if (c == '"') return string_literal();
        if (c == '[') {
            ++pos_;
            std::vector<int64_t> list;
            skip_space();
            if (peek() == ']') {
                ++pos_;
                return list;
            }
            while (true) {
                list.push_back(integer());
                skip_space();
                if (peek() == ']') {
                    ++pos_;
                    return list;
                }
                expect(',');
            }
        }
        if (try_word("true")) return true;
        if (try_word("false")) return false;
        if (try_word("nan")) return std::nan("");
        if (try_word("inf")) return INFINITY;
        if (text_.substr(pos_, 4) == "-inf") {
            pos_ += 4;
            return -INFINITY;
        }
        return number();
    }

    AttrValue number() {
        size_t start = pos_;
        while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '-' || peek() == '+' ||
                             peek() == '.'))
            ++pos_;
        std::string tok(text_.substr(start, pos_ - start));
        if (tok.empty()) error("expected an attribute value");
        bool is_float = tok.find_first_of(".eE") != std::string::npos;
        char* end = nullptr;
        errno = 0;
        if (is_float) {
            double v = std::strtod(tok.c_str(), &end);
            // ERANGE on underflow still yields the nearest (subnormal) value, which prints back the same.
            if (*end != '\0' || (errno == ERANGE && std::isinf(v))) {
                pos_ = start;
                error(fmt::format("malformed number '{}'", tok));
            }
            return v;
        }
        long long v = std::strtoll(tok.c_str(), &end, 10);
        if (*end != '\0' || errno == ERANGE) {
            pos_ = start;
            error(fmt::format("malformed attribute value '{}'", tok));
        }
        return int64_t(v);
    }

    std::string string_literal() {
        ++pos_;  // opening quote
        std::string s;
        while (true) {
            if (at_end() || peek() == '\n') error("unterminated string");
            char c = text_[pos_++];
            if (c == '"') return s;
            if (c != '\\') {
                s += c;
                continue;
            }
            if (at_end()) error("unterminated string");
            char e = text_[pos_++];
            switch (e) {
            case '"': s += '"'; break;
            case '\\': s += '\\'; break;
            case 'n': s += '\n'; break;
            case 't': s += '\t'; break;
            default: --pos_; error(fmt::format("unknown escape '\\{}' in string", e));
            }
        }
    }
};

}  // namespace

Module parse_module(std::string_view text, const std::string& source) { return Parser(text, source).parse(); }

}  // namespace gpt2c::ir
