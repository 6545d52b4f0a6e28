// pulse::typed_channel: a channel class that declares its events once, with their types, so the
// compiler checks every handler and every broadcast, and `--emit-types` writes the TypeScript
// that the client's generics read.
//
//   struct chat_message { std::string text; };
//   BOOST_DESCRIBE_STRUCT(chat_message, (), (text))
//   struct said { std::string username, text, at; };
//   BOOST_DESCRIBE_STRUCT(said, (), (username, text, at))
//   struct who { std::string username = "Anonymous"; };
//   BOOST_DESCRIBE_STRUCT(who, (), (username))
//
//   class room : public pulse::typed_channel<room> {
//    public:
//     using events = pulse::events<pulse::join_with<who>,
//                                  pulse::in<"message", chat_message>,  // no reply
//                                  pulse::in<"count", pulse::none, std::int64_t>,
//                                  pulse::out<"new_message", said>>;
//     void on_join(pulse::context& ctx, const who& params) { ctx.assign("username",
//     params.username); } pulse::handlers handlers() override {
//       return {on<"message">(&room::on_message), on<"count">(&room::on_count)};
//     }
//    private:
//     void on_message(pulse::context& ctx, const chat_message& in) {
//       broadcast(said{name_of(ctx), in.text, now()});   // its event name comes from `events`
//     }
//     std::int64_t on_count(pulse::context&, const pulse::none&) { return count_; }
//   };
//
// A handler whose signature differs from its declaration, an event declared twice, or a
// broadcast of a type no `out` declares does not compile, with a message that says what was
// expected. JSON values and the untyped API stay available (channel's broadcast, ctx.send).
#pragma once

#include "actors/channel.hpp"
#include "actors/typed.hpp"

#include <boost/describe/class.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pulse {

/// A payload with no fields (`{}`), for events that carry nothing.
struct none {};
BOOST_DESCRIBE_STRUCT(none, (), ())

/// An event's name as a template argument: `pulse::in<"message", ...>`.
template<std::size_t N>
struct event_name {
  char text[N]{};
  constexpr event_name(const char (&name)[N]) { std::copy_n(name, N, text); } // NOLINT
  constexpr std::string_view view() const { return {text, N - 1}; }
};

/// An event clients push: its payload, and its reply (void: none).
template<event_name Name, class Payload, class Reply = void>
struct in {
  static constexpr std::string_view name = Name.view();
  using payload = Payload;
  using reply = Reply;
};

/// An event the channel sends (broadcast, broadcast_from, send): its payload.
template<event_name Name, class Payload>
struct out {
  static constexpr std::string_view name = Name.view();
  using payload = Payload;
};

/// The params a join carries; the channel receives them in `on_join(context&, const Params&)`.
template<class Params>
struct join_with {
  using params = Params;
};

namespace detail {

template<class D>
struct declaration {
  static constexpr bool is_in = false, is_out = false, is_join = false;
};
template<event_name N, class P, class R>
struct declaration<in<N, P, R>> {
  static constexpr bool is_in = true, is_out = false, is_join = false;
};
template<event_name N, class P>
struct declaration<out<N, P>> {
  static constexpr bool is_in = false, is_out = true, is_join = false;
};
template<class P>
struct declaration<join_with<P>> {
  static constexpr bool is_in = false, is_out = false, is_join = true;
};

/// True when no two inbound (`outbound` false) or outbound declarations share a name.
template<bool outbound, class... Ds>
constexpr bool unique_names() {
  std::string_view names[sizeof...(Ds) + 1];
  std::size_t count = 0;
  bool unique = true;
  (
    [&] {
      if constexpr (outbound ? declaration<Ds>::is_out : declaration<Ds>::is_in) {
        for (std::size_t i = 0; i < count; ++i)
          unique = unique && names[i] != Ds::name;
        names[count++] = Ds::name;
      }
    }(),
    ...);
  return unique;
}

template<class D, class P>
struct out_carries : std::false_type {};
template<event_name N, class P>
struct out_carries<out<N, P>, P> : std::true_type {};

/// Whether `D` is the inbound event named `Name`.
template<class D, event_name Name>
struct is_in_named : std::false_type {};
template<event_name N, class P, class R, event_name Name>
struct is_in_named<in<N, P, R>, Name> : std::bool_constant<N.view() == Name.view()> {};

template<event_name Name, class... Ds>
struct find_in {
  using type = void;
};
template<event_name Name, class D, class... Ds>
struct find_in<Name, D, Ds...> {
  using type
    = std::conditional_t<is_in_named<D, Name>::value, D, typename find_in<Name, Ds...>::type>;
};

template<class P, class... Ds>
struct find_out {
  using type = void;
};
template<class P, class D, class... Ds>
struct find_out<P, D, Ds...> {
  using type = std::conditional_t<out_carries<D, P>::value, D, typename find_out<P, Ds...>::type>;
};

template<class... Ds>
struct find_join {
  using type = void;
};
template<class D, class... Ds>
struct find_join<D, Ds...> {
  using type = std::conditional_t<declaration<D>::is_join, D, typename find_join<Ds...>::type>;
};

template<class T>
std::string reply_typescript() {
  return typescript_type<T>(ts_direction::to_client);
}

} // namespace detail

/// A channel's declarations: `pulse::in<...>`, `pulse::out<...>`, at most one
/// `pulse::join_with<...>`.
template<class... Ds>
struct events {
  static_assert(((detail::declaration<Ds>::is_in || detail::declaration<Ds>::is_out
                  || detail::declaration<Ds>::is_join)
                 && ...),
                "pulse::events takes pulse::in<\"name\", Payload, Reply>, pulse::out<\"name\", "
                "Payload> and pulse::join_with<Params> only");
  static_assert(detail::unique_names<false, Ds...>(),
                "pulse::events: an inbound event (pulse::in) is declared twice");
  static_assert(detail::unique_names<true, Ds...>(),
                "pulse::events: an outbound event (pulse::out) is declared twice");
  static_assert((std::size_t{0} + ... + (detail::declaration<Ds>::is_join ? 1 : 0)) <= 1,
                "pulse::events: at most one pulse::join_with<Params>");

  template<event_name Name>
  using in_named = typename detail::find_in<Name, Ds...>::type;
  template<class Payload>
  using out_for = typename detail::find_out<Payload, Ds...>::type;
  using join = typename detail::find_join<Ds...>::type;

  /// How many outbound events carry `Payload` (a broadcast finds its event by its type).
  template<class Payload>
  static constexpr std::size_t outs_with
    = (std::size_t{0} + ... + (detail::out_carries<Ds, Payload>::value ? 1 : 0));

  /// The TypeScript of everything declared.
  static channel_types describe() {
    channel_types types;
    if constexpr (!std::is_void_v<join>)
      types.join = typescript_type<typename join::params>(ts_direction::to_server);
    (
      [&] {
        if constexpr (detail::declaration<Ds>::is_in)
          types.in.push_back({std::string{Ds::name},
                              typescript_type<typename Ds::payload>(ts_direction::to_server),
                              detail::reply_typescript<typename Ds::reply>()});
        else if constexpr (detail::declaration<Ds>::is_out)
          types.out.push_back({std::string{Ds::name},
                               typescript_type<typename Ds::payload>(ts_direction::to_client),
                               {}});
      }(),
      ...);
    return types;
  }
};

/// A channel class with declared events (see the top of this file).
template<class Derived>
class typed_channel : public channel {
 public:
  /// Reads the join params as declared (`join_with<Params>`) and hands them to
  /// `on_join(context&, const Params&)`; params that do not convert refuse the join with a reason
  /// that names the field.
  void on_subscribe(context& ctx) override {
    using join = typename Derived::events::join;
    if constexpr (!std::is_void_v<join>) {
      using params = typename join::params;
      static_assert(
        requires(Derived & d, context & c, const params& p) { d.on_join(c, p); },
        "pulse::typed_channel: a channel that declares join_with<Params> defines "
        "void on_join(pulse::context&, const Params&)");
      if constexpr (requires(Derived & d, context & c, const params& p) { d.on_join(c, p); })
        static_cast<Derived&>(*this).on_join(ctx,
                                             from_json<params>(boost::json::value(ctx.params())));
    }
  }

 protected:
  /// The handler of the inbound event `Name`, checked against its declaration.
  template<event_name Name, class F>
  static handler_entry on(F fn) {
    using declared = typename Derived::events::template in_named<Name>;
    static_assert(!std::is_void_v<declared>,
                  "pulse::typed_channel::on<\"name\">: no pulse::in<\"name\", ...> of this "
                  "channel's events has this name");
    if constexpr (!std::is_void_v<declared>) {
      using payload_type = typename declared::payload;
      using reply_type = typename declared::reply;
      static_assert(
        std::is_same_v<F, reply_type (Derived::*)(context&, const payload_type&)>,
        "pulse::typed_channel::on<\"name\">: the handler must be Reply "
        "(Channel::*)(pulse::context&, "
        "const Payload&) with the Payload and Reply its pulse::in<\"name\", Payload, Reply> "
        "declares (Reply void when none is declared)");
    }
    return {std::string{Name.view()}, handler{fn}};
  }

  /// Broadcasts `value` as the outbound event that declares its type.
  template<class T>
  requires(!std::is_convertible_v<T, std::string_view>) void broadcast(const T& value,
                                                                       broadcast_options options
                                                                       = {}) {
    channel::broadcast(out_name<T>(), to_payload(value), options);
  }

  /// The same, to every subscriber but `ctx`'s.
  template<class T>
  void broadcast_from(context& ctx, const T& value, broadcast_options options = {}) {
    channel::broadcast_from(ctx, out_name<T>(), to_payload(value), options);
  }

  /// Pushes `value` to `ctx`'s client only, as the outbound event that declares its type.
  template<class T>
  void send(context& ctx, const T& value) {
    ctx.send(out_name<T>(), to_payload(value));
  }

  using channel::broadcast;
  using channel::broadcast_from;

 private:
  template<class T>
  static constexpr std::string_view out_name() {
    using events_type = typename Derived::events;
    static_assert(!std::is_void_v<typename events_type::template out_for<T>>,
                  "pulse::typed_channel: no pulse::out<\"name\", T> of this channel's events "
                  "carries this type: declare the event before broadcasting or sending it");
    static_assert(events_type::template outs_with<T> <= 1,
                  "pulse::typed_channel: two pulse::out declarations carry this type; a broadcast "
                  "finds its event by its type, so give each its own struct");
    if constexpr (!std::is_void_v<typename events_type::template out_for<T>>)
      return events_type::template out_for<T>::name;
    else
      return {};
  }

  template<class T>
  static auto to_payload(const T& value) {
    if constexpr (std::is_same_v<T, binary>)
      return value;
    else
      return to_json(value);
  }
};

} // namespace pulse
