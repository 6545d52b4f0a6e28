#include <pulse/transport/connection.hpp>

#include <algorithm>
#include <cctype>

namespace pulse::transport {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

const std::string* http_request::query_param(std::string_view name) const noexcept {
  for (auto& [key, value] : query)
    if (key == name)
      return &value;
  return nullptr;
}

const std::string* http_request::header(std::string_view name) const noexcept {
  for (auto& [key, value] : headers)
    if (iequals(key, name))
      return &value;
  return nullptr;
}

} // namespace pulse::transport
