#include <pulse/topic_pattern.hpp>

#include <limits>
#include <stdexcept>

namespace pulse {

topic_pattern::topic_pattern(std::string pattern) : text_(std::move(pattern)) {
  if (text_.empty() || text_ == "*")
    throw std::invalid_argument("a channel pattern needs a name or a prefix, as \"room:*\"");
  auto star = text_.find('*');
  if (star != std::string::npos && star != text_.size() - 1)
    throw std::invalid_argument("'*' may only end a channel pattern: \"" + text_ + "\"");
  exact_ = star == std::string::npos;
}

std::string_view topic_pattern::prefix() const noexcept {
  return std::string_view{text_}.substr(0, exact_ ? text_.size() : text_.size() - 1);
}

bool topic_pattern::matches(std::string_view topic) const noexcept {
  if (exact_)
    return topic == text_;
  return topic.size() > prefix().size() && topic.starts_with(prefix());
}

std::size_t topic_pattern::specificity() const noexcept {
  return exact_ ? std::numeric_limits<std::size_t>::max() : prefix().size();
}

} // namespace pulse
