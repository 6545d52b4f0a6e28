// Event handlers of every shape (member functions and lambdas, taking JSON, bytes, either, or a
// described type; with or without a reply value) brought to one call shape, so a channel's table
// is a plain map from event name to function.
#pragma once

#include "actors/errors.hpp"
#include "actors/payload.hpp"
#include "actors/typed.hpp"

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

/// The JSON of a payload; bytes are refused with a reply that says what the event expects.
inline const boost::json::value& json_of(const any_payload& p) {
  if (auto* value = std::get_if<boost::json::value>(&p))
    return *value;
  throw payload_error("this event expects a JSON payload, not bytes");
}

/// The argument a handler takes, out of the payload that arrived: JSON handlers refuse bytes and
/// binary handlers refuse JSON; a typed handler gets its type, or the client an error reply
/// naming the field that did not fit.
template<class Arg>
decltype(auto) argument_of(const any_payload& p) {
  if constexpr (std::is_same_v<Arg, any_payload>) {
    return (p);
  } else if constexpr (std::is_same_v<Arg, binary>) {
    if (auto* bytes = std::get_if<binary>(&p))
      return (*bytes);
    throw payload_error("this event expects a binary payload (an ArrayBuffer), not JSON");
  } else if constexpr (std::is_same_v<Arg, boost::json::value>) {
    return json_of(p);
  } else {
    return from_json<Arg>(json_of(p));
  }
}

/// A handler's return value as the reply's payload.
template<class R>
any_payload reply_of(R&& result) {
  using plain = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<plain, any_payload> || std::is_same_v<plain, binary>)
    return any_payload{std::forward<R>(result)};
  else if constexpr (typed_payload<plain>)
    return any_payload{to_json(result)};
  else
    return any_payload{boost::json::value(std::forward<R>(result))};
}

template<class R>
concept reply_value = std::is_void_v<R> || std::convertible_to<R, boost::json::value> || std::
  is_same_v<std::remove_cvref_t<R>, binary> || std::is_same_v<
    std::remove_cvref_t<R>, any_payload> || typed_payload<std::remove_cvref_t<R>>;

/// The second parameter of a (non-generic) callable's call operator; void if none.
template<class F>
struct second_parameter {
  using type = void;
};
template<class F>
requires requires {
  &F::operator();
}
struct second_parameter<F> : second_parameter<decltype(&F::operator())> {};
template<class C, class R, class A, class B>
struct second_parameter<R (C::*)(A, B) const> {
  using type = std::remove_cvref_t<B>;
};
template<class C, class R, class A, class B>
struct second_parameter<R (C::*)(A, B)> {
  using type = std::remove_cvref_t<B>;
};

/// Which payload a callable takes: the variant first (it also accepts the other two), then JSON,
/// then bytes, then the described type a plain lambda's second parameter names.
template<class F>
struct argument_for {
  using type = std::conditional_t<
    std::is_invocable_v<F&, context&, const any_payload&>, any_payload,
    std::conditional_t<std::is_invocable_v<F&, context&, const boost::json::value&>,
                       boost::json::value,
                       std::conditional_t<std::is_invocable_v<F&, context&, const binary&>, binary,
                                          typename second_parameter<F>::type>>>;
};

template<class In>
concept handler_input = std::is_same_v<In, any_payload> || std::is_same_v<
  In, boost::json::value> || std::is_same_v<In, binary> || typed_payload<In>;

} // namespace detail

/// One event handler. Accepted shapes, for a channel class `C`, with `In` one of
/// `boost::json::value` (JSON payloads), `pulse::binary` (bytes), `pulse::any_payload` (either), or
/// a type described with Boost.Describe (typed.hpp: converted, or answered with an error reply):
///   void (C::*)(context&, const In&)        no reply (or ctx.reply)
///   R (C::*)(context&, const In&)           the value is the reply: JSON-convertible, binary,
///                                           payload or a described type
/// and any callable taking `(context&, const In&)` and returning void or such a value.
class handler {
 public:
  using function
    = std::function<std::optional<any_payload>(channel&, context&, const any_payload&)>;

  /// What a typed handler takes and returns, for the TypeScript types (empty: untyped JSON).
  struct signature {
    std::string in;    ///< TypeScript of the payload a client sends
    std::string reply; ///< TypeScript of the reply ("void": none)
  };

  handler() = default;

  template<class C, class R, class In>
  requires std::derived_from<C, channel> && detail::reply_value<R> && detail::handler_input<In>
  handler(R (C::*fn)(context&, const In&)) // NOLINT: implicit by design
      : fn_([fn](channel& self, context& ctx, const any_payload& p) -> std::optional<any_payload> {
          decltype(auto) in = detail::argument_of<In>(p);
          if constexpr (std::is_void_v<R>) {
            (static_cast<C&>(self).*fn)(ctx, in);
            return std::nullopt;
          } else {
            return detail::reply_of((static_cast<C&>(self).*fn)(ctx, in));
          }
        }),
        signature_(signature_of<In, R>()) {}

  template<class F, class In = typename detail::argument_for<F>::type>
  requires detail::handler_input<In> && std::is_invocable_v<
    F&, context&, const In&> && detail::reply_value<std::invoke_result_t<F&, context&, const In&>>
  handler(F fn) // NOLINT: implicit by design
      : fn_([fn = std::move(fn)](channel&, context& ctx,
                                 const any_payload& p) mutable -> std::optional<any_payload> {
          using result = std::invoke_result_t<F&, context&, const In&>;
          decltype(auto) in = detail::argument_of<In>(p);
          if constexpr (std::is_void_v<result>) {
            fn(ctx, in);
            return std::nullopt;
          } else {
            return detail::reply_of(fn(ctx, in));
          }
        }),
        signature_(signature_of<In, std::invoke_result_t<F&, context&, const In&>>()) {}

  /// Runs the handler; a value it returns is the reply.
  std::optional<any_payload> operator()(channel& self, context& ctx, const any_payload& p) const {
    return fn_(self, ctx, p);
  }

  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }

  const signature& types() const noexcept { return signature_; }

 private:
  template<class In, class R>
  static signature signature_of() {
    using reply = std::remove_cvref_t<R>;
    auto reply_type = [] {
      if constexpr (std::is_void_v<reply>)
        return std::string{"void"};
      else if constexpr (std::is_same_v<
                           reply,
                           binary> || std::is_same_v<reply, any_payload> || typed_payload<reply>)
        return typescript_type<reply>(ts_direction::to_client);
      else
        return std::string{"unknown"}; // a JSON value: its shape is known at run time only
    };
    return {typescript_type<In>(ts_direction::to_server), reply_type()};
  }

  function fn_;
  signature signature_;
};

/// An event name and its handler: `{"message", &chat_room::on_message}`.
struct handler_entry {
  std::string event;
  pulse::handler fn;
};

/// A channel's handler table.
using handlers = std::vector<handler_entry>;

} // namespace pulse
