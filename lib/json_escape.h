// JSON string escaping for everything timescan writes. Attacker-controlled
// strings (exe paths, routes) must not break the output: control characters
// are escaped and invalid UTF-8 becomes U+FFFD.

#ifndef TIMESCAN_LIB_JSON_ESCAPE_H_
#define TIMESCAN_LIB_JSON_ESCAPE_H_

#include <string>
#include <string_view>

namespace timescan::internal {

// Appends `text` to `out` as a quoted JSON string.
void AppendJsonString(std::string_view text, std::string* out);

// Appends a double as JSON: shortest round-trip form ("%.17g" trimmed),
// "null" for NaN or infinity (JSON has neither).
void AppendJsonNumber(double value, std::string* out);

// Returns `text` with invalid UTF-8 replaced by U+FFFD and control characters
// shown as \xNN, for printing to a terminal.
std::string PrintableText(std::string_view text);

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_JSON_ESCAPE_H_
