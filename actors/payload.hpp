// What an event carries: a JSON value, or raw bytes. Bytes travel as Phoenix V2 binary frames
// (the official client sends an ArrayBuffer payload that way, and gets ArrayBuffers back), so
// collaborative editing, games and file chunks need no base64.
#pragma once

#include <boost/json/value.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace pulse {

/// Raw bytes, immutable and shared: copying a binary copies a reference, never the bytes.
class binary {
 public:
  binary() = default;
  explicit binary(std::string bytes)
      : bytes_(std::make_shared<const std::string>(std::move(bytes))) {}
  binary(const void* data, std::size_t size)
      : binary(std::string{static_cast<const char*>(data), size}) {}
  explicit binary(std::span<const std::uint8_t> bytes) : binary(bytes.data(), bytes.size()) {}

  /// The bytes, as characters (no encoding implied).
  std::string_view view() const noexcept {
    return bytes_ ? std::string_view{*bytes_} : std::string_view{};
  }
  std::span<const std::uint8_t> span() const noexcept {
    auto v = view();
    return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size()};
  }
  const std::uint8_t* data() const noexcept { return span().data(); }
  std::size_t size() const noexcept { return view().size(); }
  bool empty() const noexcept { return size() == 0; }

  friend bool operator==(const binary& a, const binary& b) noexcept { return a.view() == b.view(); }

 private:
  std::shared_ptr<const std::string> bytes_;
};

/// An event's payload: JSON (text frames), or bytes (binary frames).
using any_payload = std::variant<boost::json::value, binary>;

/// A binary argument: the byte overloads of broadcast, send and reply are templates on it, so
/// that a braced list (`broadcast("e", {{"k", 1}})`) always means JSON.
template<class T>
concept bytes = std::same_as<std::remove_cvref_t<T>, binary>;

/// How a broadcast is made.
struct broadcast_options {
  /// Kept in the topic's history (when it has one), so that rejoining clients recover it. Off
  /// for what only matters now: cursors, typing indicators.
  bool keep = true;
};

inline bool is_binary(const any_payload& p) noexcept {
  return std::holds_alternative<binary>(p);
}

} // namespace pulse
