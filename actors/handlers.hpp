// Event handlers of every shape (member functions and lambdas, taking JSON, bytes or either,
// with or without a reply value) brought to one call shape, so a channel's table is a plain map
// from event name to function.
#pragma once

#include "actors/errors.hpp"
#include "actors/payload.hpp"

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

namespace detail {

/// The argument a handler takes, out of the payload that arrived: JSON handlers refuse bytes
/// and binary handlers refuse JSON, with a reply that says what the event expects.
template<class Arg>
const Arg& argument_of(const payload& p) {
  if constexpr (std::is_same_v<Arg, payload>) {
    return p;
  } else if constexpr (std::is_same_v<Arg, binary>) {
    if (auto* bytes = std::get_if<binary>(&p))
      return *bytes;
    throw reply_error("this event expects a binary payload (an ArrayBuffer), not JSON");
  } else {
    if (auto* value = std::get_if<boost::json::value>(&p))
      return *value;
    throw reply_error("this event expects a JSON payload, not bytes");
  }
}

/// A handler's return value as the reply's payload.
template<class R>
payload reply_of(R&& result) {
  using plain = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<plain, payload> || std::is_same_v<plain, binary>)
    return payload{std::forward<R>(result)};
  else
    return payload{boost::json::value(std::forward<R>(result))};
}

template<class R>
concept reply_value
  = std::is_void_v<R> || std::convertible_to<R, boost::json::value> || std::is_same_v<
    std::remove_cvref_t<R>, binary> || std::is_same_v<std::remove_cvref_t<R>, payload>;

/// Which payload a callable takes: the variant first (it also accepts the other two), then JSON,
/// then bytes.
template<class F>
struct argument_for {
  using type = std::conditional_t<
    std::is_invocable_v<F&, context&, const payload&>, payload,
    std::conditional_t<std::is_invocable_v<F&, context&, const boost::json::value&>,
                       boost::json::value, binary>>;
};

} // namespace detail

/// One event handler. Accepted shapes, for a channel class `C`, with `In` one of
/// `boost::json::value` (JSON payloads), `pulse::binary` (bytes) or `pulse::payload` (either):
///   void (C::*)(context&, const In&)        no reply (or ctx.reply)
///   R (C::*)(context&, const In&)           the value is the reply: JSON-convertible, binary
///                                           or payload
/// and any callable taking `(context&, const In&)` and returning void or such a value.
class handler {
 public:
  using function = std::function<std::optional<payload>(channel&, context&, const payload&)>;

  handler() = default;

  template<class C, class R, class In>
  requires std::derived_from<C, channel> && detail::reply_value<R>
  handler(R (C::*fn)(context&, const In&)) // NOLINT: implicit by design
      : fn_([fn](channel& self, context& ctx, const payload& p) -> std::optional<payload> {
          auto& in = detail::argument_of<In>(p);
          if constexpr (std::is_void_v<R>) {
            (static_cast<C&>(self).*fn)(ctx, in);
            return std::nullopt;
          } else {
            return detail::reply_of((static_cast<C&>(self).*fn)(ctx, in));
          }
        }) {}

  template<class F, class In = typename detail::argument_for<F>::type>
  requires std::is_invocable_v<F&, context&, const In&> && detail::reply_value<
    std::invoke_result_t<F&, context&, const In&>>
  handler(F fn) // NOLINT: implicit by design
      : fn_([fn = std::move(fn)](channel&, context& ctx,
                                 const payload& p) mutable -> std::optional<payload> {
          using result = std::invoke_result_t<F&, context&, const In&>;
          auto& in = detail::argument_of<In>(p);
          if constexpr (std::is_void_v<result>) {
            fn(ctx, in);
            return std::nullopt;
          } else {
            return detail::reply_of(fn(ctx, in));
          }
        }) {}

  /// Runs the handler; a value it returns is the reply.
  std::optional<payload> operator()(channel& self, context& ctx, const payload& p) const {
    return fn_(self, ctx, p);
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
