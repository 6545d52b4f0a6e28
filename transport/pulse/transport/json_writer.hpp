// JSON text as JavaScript writes it: numbers in JSON.stringify's shortest form (10.3, 0, 1e+21,
// never 1.03E1 or 0E0), so what a client sent comes back as it would from a Node server.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>

namespace pulse::transport {

/// Appends `value` as JSON text. Iterative: any depth of nesting is written without recursion.
void write_json(std::string& out, const boost::json::value& value);

/// Appends `text` as a JSON string, quoted and escaped.
void write_json_string(std::string& out, std::string_view text);

/// Appends `number` as JavaScript's Number.prototype.toString writes it (a non-finite number,
/// which JSON cannot carry, as null, as JSON.stringify does).
void write_json_number(std::string& out, double number);

/// `value` as JSON text.
std::string to_json(const boost::json::value& value);

} // namespace pulse::transport
