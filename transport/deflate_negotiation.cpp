#include "transport/deflate_negotiation.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

namespace pulse::transport {

namespace {

/// One extension offer as written: a name and its parameters, values unquoted.
struct offer {
  std::string name;
  std::vector<std::pair<std::string, std::optional<std::string>>> params;
  bool well_formed = true;
};

bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)))
    return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

/// RFC 6455 §9.1's extension list (RFC 7230's #rule: empty elements allowed), one offer at a time.
class offer_parser {
 public:
  explicit offer_parser(std::string_view text) : text_(text) {}

  /// The next offer, or nothing at the end. A malformed offer comes back marked as such, and
  /// parsing resumes at the next comma outside quotes.
  std::optional<offer> next() {
    for (;;) {
      skip_space();
      if (at_end())
        return std::nullopt;
      if (text_[pos_] != ',')
        break;
      ++pos_; // an empty element
    }
    offer out;
    out.well_formed = parse_offer(out);
    skip_space();
    if (!at_end() && text_[pos_] != ',')
      out.well_formed = false;
    if (!out.well_formed)
      skip_to_comma();
    return out;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }

  void skip_space() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t'))
      ++pos_;
  }

  void skip_to_comma() {
    bool quoted = false;
    for (; !at_end(); ++pos_) {
      char c = text_[pos_];
      if (quoted && c == '\\')
        ++pos_;
      else if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        return;
    }
  }

  std::optional<std::string> token() {
    auto start = pos_;
    while (!at_end() && is_token_char(text_[pos_]))
      ++pos_;
    if (pos_ == start)
      return std::nullopt;
    return std::string{text_.substr(start, pos_ - start)};
  }

  std::optional<std::string> quoted_string() {
    std::string out;
    ++pos_; // the opening quote
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '"')
        return out;
      if (c == '\\') {
        if (at_end())
          break;
        c = text_[pos_++];
      }
      out.push_back(c);
    }
    return std::nullopt; // unterminated
  }

  bool parse_offer(offer& out) {
    auto name = token();
    if (!name)
      return false;
    out.name = std::move(*name);
    for (;;) {
      skip_space();
      if (at_end() || text_[pos_] != ';')
        return true;
      ++pos_;
      skip_space();
      auto key = token();
      if (!key)
        return false;
      skip_space();
      std::optional<std::string> value;
      if (!at_end() && text_[pos_] == '=') {
        ++pos_;
        skip_space();
        value = !at_end() && text_[pos_] == '"' ? quoted_string() : token();
        if (!value)
          return false;
      }
      out.params.emplace_back(std::move(*key), std::move(value));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

/// RFC 7692 §7.1.2: a window size is 8 to 15, in decimal without leading zeros.
std::optional<int> window_bits(const std::string& value) {
  if (value.size() == 1 && (value[0] == '8' || value[0] == '9'))
    return value[0] - '0';
  if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5')
    return 10 + (value[1] - '0');
  return std::nullopt;
}

/// The agreement for one permessage-deflate offer, or nothing when Pulse must decline it.
std::optional<deflate_agreement> accept(const offer& o) {
  deflate_agreement agreement;
  bool seen[4] = {};
  constexpr std::string_view names[4] = {"server_no_context_takeover", "client_no_context_takeover",
                                         "server_max_window_bits", "client_max_window_bits"};
  for (auto& [key, value] : o.params) {
    std::string_view wanted = key; // clang 14 lambdas cannot capture structured bindings
    auto known = std::find_if(std::begin(names), std::end(names),
                              [wanted](std::string_view name) { return iequals(wanted, name); });
    if (known == std::end(names))
      return std::nullopt;
    auto index = known - std::begin(names);
    if (std::exchange(seen[index], true))
      return std::nullopt; // duplicated
    switch (index) {
      case 0: // Pulse answers server_no_context_takeover to every offer anyway
      case 1:
        if (value)
          return std::nullopt;
        agreement.client_no_context_takeover |= index == 1;
        break;
      case 2: {
        auto bits = value ? window_bits(*value) : std::nullopt;
        // zlib's raw deflate cannot make an 8-bit window (it uses 9): decline rather than lie.
        if (!bits || *bits == 8)
          return std::nullopt;
        agreement.server_window_bits = *bits;
        agreement.server_window_bits_asked = true;
        break;
      }
      default: // client_max_window_bits: a hint that the client could use less; we inflate at 15
        if (value && !window_bits(*value))
          return std::nullopt;
    }
  }
  return agreement;
}

} // namespace

std::string deflate_agreement::response_header() const {
  std::string out = "permessage-deflate; server_no_context_takeover";
  if (client_no_context_takeover)
    out += "; client_no_context_takeover";
  if (server_window_bits_asked)
    out += "; server_max_window_bits=" + std::to_string(server_window_bits);
  return out;
}

std::optional<deflate_agreement> negotiate_deflate(std::string_view header) {
  offer_parser parser{header};
  while (auto o = parser.next()) {
    if (!o->well_formed || !iequals(o->name, "permessage-deflate"))
      continue;
    if (auto agreement = accept(*o))
      return agreement;
  }
  return std::nullopt;
}

} // namespace pulse::transport
