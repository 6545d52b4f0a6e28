#include <pulse/transport/json_writer.hpp>

#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace pulse::transport {

namespace json = boost::json;

void write_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t plain = 0; // start of the run of bytes that need no escape
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(text.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
    }
  }
  out.append(text.substr(plain));
  out.push_back('"');
}

void write_json_number(std::string& out, double number) {
  if (!std::isfinite(number)) {
    out += "null";
    return;
  }
  if (number == 0) {
    out.push_back('0'); // -0 too, as JSON.stringify writes it
    return;
  }
  // The shortest digits that read back as the same double, then JavaScript's layout: plain
  // decimals for 1e-6 <= |x| < 1e21, otherwise d.ddde+N (ECMA-262's Number::toString).
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number,
                                 std::chars_format::scientific);
  std::string_view sci{buffer, static_cast<std::size_t>(end - buffer)};
  auto e = sci.find('e');
  auto mantissa = sci.substr(0, e);
  int exponent = std::atoi(std::string{sci.substr(e + 1)}.c_str());
  bool negative = mantissa.front() == '-';
  if (negative) {
    out.push_back('-');
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.')
      digits.push_back(c);
  auto n = static_cast<int>(digits.size());
  if (exponent >= 21 || exponent < -6) {
    out.push_back(digits[0]);
    if (n > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(exponent < 0 ? '-' : '+');
    out += std::to_string(std::abs(exponent));
  } else if (exponent < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
  } else if (exponent + 1 >= n) {
    out += digits;
    out.append(static_cast<std::size_t>(exponent + 1 - n), '0');
  } else {
    out.append(digits, 0, static_cast<std::size_t>(exponent + 1));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(exponent + 1));
  }
}

namespace {

void write_scalar(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: out += "null"; break;
    case json::kind::bool_: out += value.get_bool() ? "true" : "false"; break;
    case json::kind::int64: out += std::to_string(value.get_int64()); break;
    case json::kind::uint64: out += std::to_string(value.get_uint64()); break;
    case json::kind::double_: write_json_number(out, value.get_double()); break;
    case json::kind::string: write_json_string(out, value.get_string()); break;
    default: break; // containers are the caller's
  }
}

/// One open container on the writer's stack, and where it is in it.
struct open_container {
  const json::value* container;
  std::size_t next = 0;
};

} // namespace

void write_json(std::string& out, const json::value& root) {
  if (!root.is_array() && !root.is_object())
    return write_scalar(out, root);
  std::vector<open_container> stack;
  auto open = [&](const json::value& v) {
    out.push_back(v.is_array() ? '[' : '{');
    stack.push_back({&v});
  };
  open(root);
  while (!stack.empty()) {
    auto& top = stack.back();
    const json::value* child = nullptr;
    if (auto* array = top.container->if_array()) {
      if (top.next == array->size()) {
        out.push_back(']');
        stack.pop_back();
        continue;
      }
      if (top.next > 0)
        out.push_back(',');
      child = &(*array)[top.next++];
    } else {
      auto& object = top.container->get_object();
      if (top.next == object.size()) {
        out.push_back('}');
        stack.pop_back();
        continue;
      }
      if (top.next > 0)
        out.push_back(',');
      auto& member = *(object.begin() + static_cast<std::ptrdiff_t>(top.next++));
      write_json_string(out, member.key());
      out.push_back(':');
      child = &member.value();
    }
    if (child->is_array() || child->is_object())
      open(*child); // `top` may move: not used past here
    else
      write_scalar(out, *child);
  }
}

std::string to_json(const json::value& value) {
  std::string out;
  write_json(out, value);
  return out;
}

} // namespace pulse::transport
