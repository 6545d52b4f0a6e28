// Events as C++ types: a struct described with Boost.Describe travels as a JSON object, an enum
// described likewise as one of its names, and the compiler knows the shape of every payload.
//
//   struct new_alert {
//     std::string message = "New notification!"; // missing fields take the member's default
//     std::optional<int> level;                    // optional: may be absent or null
//   };
//   BOOST_DESCRIBE_STRUCT(new_alert, (), (message, level))
//
//   auto alert = pulse::from_json<new_alert>(payload); // throws pulse::payload_error:
//                                                      // "level: expected an integer"
//   boost::json::value out = pulse::to_json(alert);
//
// Handlers take such types directly (see handlers.hpp); a payload that does not convert never
// reaches them: the client gets an error reply naming the field and what was expected. Unknown
// fields are ignored. The same descriptions give the TypeScript types of `--emit-types`.
#pragma once

#include <pulse/errors.hpp>
#include <pulse/payload.hpp>

#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace pulse {

/// A payload without the shape an event expects. Its reply says which field and what it should
/// have been: `{"reason": "text: expected a string"}`.
class payload_error : public reply_error {
 public:
  using reply_error::reply_error;
};

template<class T>
concept described_struct = std::is_class_v<T> && boost::describe::has_describe_members<T>::value;

template<class T>
concept described_enum = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;

namespace detail {

template<class T>
struct is_optional : std::false_type {};
template<class T>
struct is_optional<std::optional<T>> : std::true_type {};

template<class T>
struct is_vector : std::false_type {};
template<class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template<class T>
struct is_string_map : std::false_type {};
template<class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
template<class T, class H, class E, class A>
struct is_string_map<std::unordered_map<std::string, T, H, E, A>> : std::true_type {};

template<class T>
using members_of = boost::describe::describe_members<T, boost::describe::mod_public>;

/// Where a conversion is, for its error: "items[2].name".
struct field_path {
  std::string text;

  std::string field(std::string_view name) const {
    return text.empty() ? std::string{name} : text + "." + std::string{name};
  }
  std::string index(std::size_t i) const { return text + "[" + std::to_string(i) + "]"; }
  [[noreturn]] void fail(std::string_view expected) const {
    throw payload_error((text.empty() ? std::string{"payload"} : text) + ": expected "
                        + std::string{expected});
  }
};

template<class T>
void read(const boost::json::value& v, T& out, const field_path& at);

template<class T>
void read_number(const boost::json::value& v, T& out, const field_path& at) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number())
      at.fail("a number");
    out = static_cast<T>(v.to_number<double>());
  } else {
    // Integers: an integral value within the type's range (3.0 is 3; 3.5 is not).
    if (v.is_int64() || v.is_uint64() || v.is_double()) {
      boost::system::error_code ec;
      auto n = v.to_number<T>(ec);
      if (!ec) {
        out = n;
        return;
      }
    }
    if constexpr (std::is_signed_v<T>)
      at.fail("an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to "
              + std::to_string(std::numeric_limits<T>::max()));
    else
      at.fail("an integer from 0 to " + std::to_string(std::numeric_limits<T>::max()));
  }
}

template<class E>
std::string names_of() {
  std::string names;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>(
    [&](auto D) { names += (names.empty() ? "\"" : ", \"") + std::string{D.name} + "\""; });
  return names;
}

template<class T>
void read(const boost::json::value& v, T& out, const field_path& at) {
  if constexpr (std::is_same_v<T, boost::json::value>) {
    out = v;
  } else if constexpr (std::is_same_v<T, boost::json::object>) {
    if (!v.is_object())
      at.fail("an object");
    out = v.get_object();
  } else if constexpr (std::is_same_v<T, boost::json::array>) {
    if (!v.is_array())
      at.fail("an array");
    out = v.get_array();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool())
      at.fail("true or false");
    out = v.get_bool();
  } else if constexpr (std::is_arithmetic_v<T>) {
    read_number(v, out, at);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string())
      at.fail("a string");
    out.assign(v.get_string().data(), v.get_string().size());
  } else if constexpr (is_optional<T>::value) {
    if (v.is_null()) {
      out.reset();
      return;
    }
    read(v, out.emplace(), at);
  } else if constexpr (is_vector<T>::value) {
    if (!v.is_array())
      at.fail("an array");
    auto& array = v.get_array();
    out.clear();
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i)
      read(array[i], out.emplace_back(), field_path{at.index(i)});
  } else if constexpr (is_string_map<T>::value) {
    if (!v.is_object())
      at.fail("an object");
    out.clear();
    for (auto& [key, value] : v.get_object())
      read(value, out[std::string{key}], field_path{at.field(key)});
  } else if constexpr (described_enum<T>) {
    auto* name = v.if_string();
    bool found = false;
    if (name)
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto D) {
        if (!found && *name == D.name) {
          out = D.value;
          found = true;
        }
      });
    if (!found)
      at.fail("one of " + names_of<T>());
  } else if constexpr (described_struct<T>) {
    auto* object = v.if_object();
    if (!object)
      at.fail("an object");
    boost::mp11::mp_for_each<members_of<T>>([&](auto D) {
      // Missing (or, for an optional, null) keeps the member's default.
      if (auto* field = object->if_contains(D.name))
        read(*field, out.*D.pointer, field_path{at.field(D.name)});
    });
  } else {
    static_assert(std::is_same_v<T, void>,
                  "pulse::from_json: this type has no JSON form; use bool, numbers, std::string, "
                  "std::optional, std::vector, std::map<std::string, T>, boost::json values, or a "
                  "struct or enum described with BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM");
  }
}

template<class T>
boost::json::value write(const T& x) {
  if constexpr (std::is_constructible_v<boost::json::value,
                                        const T&> && !described_enum<T> && !is_optional<T>::value) {
    return boost::json::value(x);
  } else if constexpr (is_optional<T>::value) {
    return x ? write(*x) : boost::json::value(nullptr);
  } else if constexpr (is_vector<T>::value) {
    boost::json::array array;
    array.reserve(x.size());
    for (auto& element : x)
      array.push_back(write(element));
    return array;
  } else if constexpr (is_string_map<T>::value) {
    boost::json::object object;
    for (auto& [key, value] : x)
      object[key] = write(value);
    return object;
  } else if constexpr (described_enum<T>) {
    const char* name = nullptr;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto D) {
      if (!name && x == D.value)
        name = D.name;
    });
    return name ? boost::json::value(name) : boost::json::value(nullptr);
  } else if constexpr (described_struct<T>) {
    boost::json::object object;
    boost::mp11::mp_for_each<members_of<T>>([&](auto D) {
      auto& member = x.*D.pointer;
      using member_type = std::remove_cvref_t<decltype(member)>;
      if constexpr (is_optional<member_type>::value) {
        if (!member)
          return; // absent, as the TypeScript type says (`name?: T`)
      }
      object[D.name] = write(member);
    });
    return object;
  } else {
    static_assert(std::is_same_v<T, void>,
                  "pulse::to_json: this type has no JSON form (see pulse::from_json)");
  }
}

} // namespace detail

/// A described type (or anything else with a JSON form) from a payload; throws payload_error
/// naming the first field that does not fit.
template<class T>
T from_json(const boost::json::value& v) {
  T out{};
  detail::read(v, out, detail::field_path{});
  return out;
}

/// A described type (or anything else with a JSON form) as JSON.
template<class T>
boost::json::value to_json(const T& x) {
  return detail::write(x);
}

/// A type a handler may take or return as its event's payload, beyond JSON values and bytes:
/// described structs and enums, and containers of them.
template<class T>
concept typed_payload
  = !std::is_same_v<
      T,
      boost::json::
        value> && !std::is_same_v<T, binary> && !std::is_same_v<T, any_payload> && (described_struct<T> || described_enum<T> || detail::is_vector<T>::value || detail::is_string_map<T>::value || detail::is_optional<T>::value);

// ---- TypeScript ---------------------------------------------------------------------------------

/// A channel's events as TypeScript, for `--emit-types`: join params, what clients push (payload
/// and reply), what the channel sends. Empty strings where nothing is declared.
struct channel_types {
  struct event {
    std::string name;
    std::string payload;
    std::string reply; ///< inbound events only ("void": none)
  };
  std::string join;
  std::vector<event> in;
  std::vector<event> out;
};

/// Which side of the wire a TypeScript type describes: what a client sends (every described field
/// optional: a missing one takes its default) or what it receives (optional only where empty
/// optionals are left out).
enum class ts_direction { to_server, to_client };

template<class T>
std::string typescript_type(ts_direction direction) {
  using detail::is_optional;
  if constexpr (std::is_void_v<T>) {
    return "void";
  } else if constexpr (std::is_same_v<T, boost::json::value> || std::is_same_v<T, any_payload>) {
    return std::is_same_v<T, any_payload> ? "unknown | ArrayBuffer" : "unknown";
  } else if constexpr (std::is_same_v<T, binary>) {
    return "ArrayBuffer";
  } else if constexpr (std::is_same_v<T, boost::json::object>) {
    return "Record<string, unknown>";
  } else if constexpr (std::is_same_v<T, boost::json::array>) {
    return "unknown[]";
  } else if constexpr (std::is_same_v<T, bool>) {
    return "boolean";
  } else if constexpr (std::is_arithmetic_v<T>) {
    return "number";
  } else if constexpr (std::is_convertible_v<T, std::string_view>) {
    return "string";
  } else if constexpr (is_optional<T>::value) {
    return typescript_type<typename T::value_type>(direction) + " | null";
  } else if constexpr (detail::is_vector<T>::value) {
    return "Array<" + typescript_type<typename T::value_type>(direction) + ">";
  } else if constexpr (detail::is_string_map<T>::value) {
    return "Record<string, " + typescript_type<typename T::mapped_type>(direction) + ">";
  } else if constexpr (described_enum<T>) {
    std::string names;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto D) {
      names += names.empty() ? "\"" : " | \"";
      names += D.name;
      names += '"';
    });
    return names;
  } else if constexpr (described_struct<T>) {
    std::string out = "{ ";
    boost::mp11::mp_for_each<detail::members_of<T>>([&](auto D) {
      using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*D.pointer)>;
      bool optional = direction == ts_direction::to_server || is_optional<member_type>::value;
      out += '"'; // appended piece by piece: GCC 12 warns (-Wrestrict) on the joined temporaries
      out += D.name;
      out += optional ? "\"?: " : "\": ";
      if constexpr (is_optional<member_type>::value)
        out += direction == ts_direction::to_server
                 ? typescript_type<member_type>(direction) // absent or null
                 : typescript_type<typename member_type::value_type>(direction);
      else
        out += typescript_type<member_type>(direction);
      out += "; ";
    });
    return out == "{ " ? "{}" : out + "}";
  } else {
    static_assert(std::is_same_v<T, void>, "pulse: this type has no TypeScript form");
  }
}

} // namespace pulse
