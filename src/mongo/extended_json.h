#pragma once

#include <nlohmann/json.hpp>

namespace mv::mongo {

// A document as libbson writes it in (relaxed or canonical) Extended JSON, with the BSON
// types the platform's documents use turned into what viya-mv's parsers accept:
// dates ({"$date": ...}) into RFC 3339 text in UTC; $numberDecimal, $numberDouble,
// $numberLong and $numberInt into JSON numbers (a decimal is parsed from its text, so an
// amount with up to 6 decimals keeps its exact fixed-point value); ObjectIds into their
// hex text. Other wrapped types are left as they are, for the parsers to reject by field.
nlohmann::json PlainJson(const nlohmann::json& extended);

}  // namespace mv::mongo
