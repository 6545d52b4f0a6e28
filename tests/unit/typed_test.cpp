// Payloads as C++ types: conversions both ways, the errors a client gets, and the TypeScript.
#include "actors/typed.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

namespace json = boost::json;
using pulse::from_json;
using pulse::payload_error;
using pulse::to_json;

namespace {

BOOST_DEFINE_ENUM_CLASS(mood, happy, grumpy)

struct point {
  int x = 0;
  int y = 0;
};
BOOST_DESCRIBE_STRUCT(point, (), (x, y))

struct sample {
  std::string name = "unnamed";
  std::optional<double> weight;
  std::vector<point> path;
  std::map<std::string, bool> flags;
  mood feeling = mood::happy;
  std::uint8_t level = 1;
  json::value extra;
};
BOOST_DESCRIBE_STRUCT(sample, (), (name, weight, path, flags, feeling, level, extra))

std::string error_of(std::string_view text) {
  try {
    from_json<sample>(json::parse(text));
  } catch (const payload_error& e) {
    return e.response().at("reason").as_string().c_str();
  }
  return "no error";
}

} // namespace

TEST_CASE("a described struct reads its fields, and missing ones keep their defaults") {
  auto s = from_json<sample>(json::parse(
    R"({"path":[{"x":1,"y":2},{"x":3}],"flags":{"a":true},"feeling":"grumpy","extra":[1],"unknown":5})"));
  CHECK(s.name == "unnamed");
  CHECK_FALSE(s.weight);
  REQUIRE(s.path.size() == 2);
  CHECK(s.path[1].x == 3);
  CHECK(s.path[1].y == 0);
  CHECK(s.flags.at("a"));
  CHECK(s.feeling == mood::grumpy);
  CHECK(s.extra == json::array{1});
  CHECK(from_json<sample>(json::parse(R"({"weight":null})")).weight == std::nullopt);
  CHECK(from_json<sample>(json::parse(R"({"weight":2})")).weight == 2.0);
  CHECK(from_json<sample>(json::parse(R"({"level":3.0})")).level == 3);
}

TEST_CASE("a payload that does not convert names the field and what was expected") {
  CHECK(error_of(R"({"name":5})") == "name: expected a string");
  CHECK(error_of(R"({"weight":"heavy"})") == "weight: expected a number");
  CHECK(error_of(R"({"path":{}})") == "path: expected an array");
  CHECK(error_of(R"({"path":[{"x":1},{"x":"two"}]})")
        == "path[1].x: expected an integer from -2147483648 to 2147483647");
  CHECK(error_of(R"({"flags":{"a":1}})") == "flags.a: expected true or false");
  CHECK(error_of(R"({"feeling":"sad"})") == R"(feeling: expected one of "happy", "grumpy")");
  CHECK(error_of(R"({"level":256})") == "level: expected an integer from 0 to 255");
  CHECK(error_of(R"({"level":1.5})") == "level: expected an integer from 0 to 255");
  CHECK(error_of(R"([1,2])") == "payload: expected an object");
}

TEST_CASE("a described struct is written with its fields in order, empty optionals left out") {
  sample s;
  s.path = {{1, 2}};
  s.flags = {{"on", true}};
  s.feeling = mood::grumpy;
  CHECK(
    json::serialize(to_json(s))
    == R"({"name":"unnamed","path":[{"x":1,"y":2}],"flags":{"on":true},"feeling":"grumpy","level":1,"extra":null})");
  s.weight = 1.5;
  CHECK(to_json(s).at("weight") == 1.5);
  CHECK(from_json<sample>(to_json(s)).path[0].y == 2);
}

TEST_CASE("described types have TypeScript types, for each side of the wire") {
  using pulse::ts_direction;
  CHECK(pulse::typescript_type<point>(ts_direction::to_client)
        == R"({ "x": number; "y": number; })");
  CHECK(pulse::typescript_type<point>(ts_direction::to_server)
        == R"({ "x"?: number; "y"?: number; })");
  auto client = pulse::typescript_type<sample>(ts_direction::to_client);
  CHECK_THAT(client, Catch::Contains(R"("weight"?: number;)"));
  CHECK_THAT(client, Catch::Contains(R"("feeling": "happy" | "grumpy";)"));
  CHECK_THAT(client, Catch::Contains(R"("path": Array<{ "x": number; "y": number; }>;)"));
  CHECK_THAT(client, Catch::Contains(R"("flags": Record<string, boolean>;)"));
  CHECK_THAT(client, Catch::Contains(R"("extra": unknown;)"));
  CHECK_THAT(pulse::typescript_type<sample>(ts_direction::to_server),
             Catch::Contains(R"("weight"?: number | null;)"));
  CHECK(pulse::typescript_type<pulse::binary>(ts_direction::to_client) == "ArrayBuffer");
}
