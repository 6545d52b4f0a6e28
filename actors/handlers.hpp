// Event handlers of every shape (member functions and lambdas, with or without a reply value)
// brought to one call shape, so a channel's table is a plain map from event name to function.
#pragma once

#include <boost/json/value.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace pulse {

class channel;
class context;

/// One event handler. Accepted shapes, for a channel class `C`:
///   void (C::*)(context&, const boost::json::value&)                  no reply (or ctx.reply)
///   boost::json::value (C::*)(context&, const boost::json::value&)    the value is the reply
/// and any callable taking `(context&, const boost::json::value&)` returning void or a value
/// convertible to boost::json::value.
class handler {
 public:
  using function = std::function<std::optional<boost::json::value>(channel&, context&,
                                                                   const boost::json::value&)>;

  handler() = default;

  template<class C>
  requires std::derived_from<C, channel>
  handler(void (C::*fn)(context&, const boost::json::value&)) // NOLINT: implicit by design
      : fn_([fn](channel& self, context& ctx, const boost::json::value& payload) {
          (static_cast<C&>(self).*fn)(ctx, payload);
          return std::optional<boost::json::value>{};
        }) {}

  template<class C, class R>
  requires std::derived_from<C, channel> && std::convertible_to<R, boost::json::value>
  handler(R (C::*fn)(context&, const boost::json::value&)) // NOLINT: implicit by design
      : fn_([fn](channel& self, context& ctx, const boost::json::value& payload) {
          return std::optional<boost::json::value>{(static_cast<C&>(self).*fn)(ctx, payload)};
        }) {}

  template<class F>
  requires std::invocable<F&, context&, const boost::json::value&>
  handler(F fn) // NOLINT: implicit by design
      : fn_(
        [fn = std::move(fn)](channel&, context& ctx, const boost::json::value& payload) mutable {
          using result = std::invoke_result_t<F&, context&, const boost::json::value&>;
          if constexpr (std::is_void_v<result>) {
            fn(ctx, payload);
            return std::optional<boost::json::value>{};
          } else {
            return std::optional<boost::json::value>{boost::json::value(fn(ctx, payload))};
          }
        }) {}

  /// Runs the handler; a value it returns is the reply.
  std::optional<boost::json::value> operator()(channel& self, context& ctx,
                                               const boost::json::value& payload) const {
    return fn_(self, ctx, payload);
  }

  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

 private:
  function fn_;
};

/// An event name and its handler: `{"message", &chat_room::on_message}`.
struct handler_entry {
  std::string event;
  pulse::handler fn;
};

/// A channel's handler table.
using handlers = std::vector<handler_entry>;

} // namespace pulse
