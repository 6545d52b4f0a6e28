// Topic names and patterns: "chat" matches only "chat"; "room:*" matches every "room:..." topic.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pulse {

class topic_pattern {
 public:
  /// A trailing `*` makes a prefix pattern; a `*` anywhere else is refused
  /// (std::invalid_argument), as is an empty pattern.
  explicit topic_pattern(std::string pattern);

  bool matches(std::string_view topic) const noexcept;
  bool is_exact() const noexcept { return exact_; }

  /// Exact names beat patterns; among patterns, the longer prefix wins.
  std::size_t specificity() const noexcept;

  /// The pattern as written.
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::string_view prefix() const noexcept;
  bool exact_;
};

} // namespace pulse
