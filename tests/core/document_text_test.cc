// The streaming document parser must agree with the DOM path on every input: the same
// verdict, the same struct when valid, the same message when not. Random documents are
// built as raw text, so duplicate keys, escapes, odd numbers and broken syntax occur.
#include "core/document_text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/row_codec.h"

namespace mv::core {
namespace {

class RawDocs {
 public:
  explicit RawDocs(std::uint64_t seed) : rng_(seed) {}

  std::string Shipment() {
    std::vector<std::string> members;
    Maybe(members, "id", Id());
    Maybe(members, "status",
          Pick({"\"booked\"", "\"delivered\"", "\"exception\"", "\"shipped\"", "\"in_transit\"",
                "null", "3"}));
    Maybe(members, "createdAt", Time());
    Maybe(members, "reference", Str());
    Maybe(members, "customerId", Id());
    Maybe(members, "carrierId", Id());
    Maybe(members, "service", Str());
    Maybe(members, "currency", Str());
    Maybe(members, "origin", Address());
    Maybe(members, "destination", Address());
    Maybe(members, "weightKg", Number());
    Maybe(members, "declaredValue", Number());
    for (const char* t : {"statusChangedAt", "promisedDeliveryAt", "pickedUpAt", "outForDeliveryAt",
                          "deliveredAt"}) {
      Maybe(members, t, Time());
    }
    Maybe(members, "extra", Pick({"{\"a\":[1,2,{\"b\":null}]}", "[]", "true", "\"x\""}));
    return Object(members);
  }

  std::string TrackingEvent() {
    std::vector<std::string> members;
    Maybe(members, "eventId", Id());
    Maybe(members, "shipmentId", Id());
    Maybe(members, "carrierId", Id());
    Maybe(members, "code",
          Pick({"\"PU\"", "\"dl\"", "\"\"", "null", "\"" + std::string(70, 'C') + "\"",
                "\"\\u0050U\""}));
    Maybe(members, "occurredAt", Time());
    Maybe(members, "location", Str());
    Maybe(members, "org", Str());
    return Object(members);
  }

 private:
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  // The first option is well-formed; most picks take it.
  std::string Pick(std::vector<std::string> options) {
    return Chance(85) ? options[0] : options[rng_() % options.size()];
  }

  // Most members present and well-formed; some missing, null, repeated or broken.
  void Maybe(std::vector<std::string>& members, const std::string& key, const std::string& value) {
    if (Chance(3)) return;
    std::string k = Chance(3) ? "\"\\u00" + Hex(key[0]) + key.substr(1) + "\"" : "\"" + key + "\"";
    members.push_back(k + ":" + (Chance(2) ? "null" : value));
    if (Chance(2)) members.push_back(k + ":" + (Chance(50) ? "null" : value));  // duplicate key
  }

  static std::string Hex(char c) {
    const char* digits = "0123456789abcdef";
    return {digits[(c >> 4) & 15], digits[c & 15]};
  }

  std::string Object(std::vector<std::string>& members) {
    std::shuffle(members.begin(), members.end(), rng_);
    std::string out = Chance(2) ? "[" : "{";
    for (size_t i = 0; i < members.size(); ++i)
      out += (i ? (Chance(1) ? " , " : ",") : "") + members[i];
    out += "}";
    if (Chance(2)) out += Pick({"x", " ", "{}", "\n"});
    if (Chance(1) && !out.empty()) out.resize(rng_() % out.size());
    return out;
  }

  std::string Id() {
    return Pick({"\"S-1\"", "\"C:9@x\"", "\"\"", "\"bad id\"", "\"" + std::string(130, 'a') + "\"",
                 "\"dhl.express\"", "17", "\"S\\u002d2\""});
  }
  std::string Str() {
    return Pick({"\"PO-77\"", "\"\"", "\"caf\\u00e9\"", "\"line\\nbreak\"", "\"\\ud83d\\ude00\"",
                 "\"" + std::string(512, 'r') + "\"", "\"" + std::string(513, 'r') + "\"",
                 "\"\xc3\xa9\"", "\"\xff\"", "false", "12"});
  }
  std::string Time() {
    return Pick({"\"2026-11-01T10:00:00Z\"", "\"2026-11-01T12:00:00.250+02:00\"",
                 "\"2026-02-30T10:00:00Z\"", "\"yesterday\"", "1730000000",
                 "\"0001-01-01T00:00:00Z\"", "\"2026-11-01t10:00:00z\""});
  }
  std::string Number() {
    return Pick({"2.5", "0", "-0", "-1", "1e9", "1000000001", "1E2", "3.000000000000001", "1e400",
                 "18446744073709551616", "0.1", "\"2\"", "12345678901234567890", "5e-324"});
  }
  std::string Address() {
    return Pick({"{\"country\":\"NL\",\"postalCode\":\"1012\"}", "{}", "{\"country\":null}",
                 "{\"country\":\"NL\",\"country\":\"DE\"}", "{\"country\":1}", "[]", "\"NL\"",
                 "{\"c\\u006funtry\":\"FR\"}", "{\"country\":\"" + std::string(513, 'x') + "\"}"});
  }

  std::mt19937_64 rng_;
};

TEST(DocumentText, StreamingShipmentParseAgreesWithTheDomOnRandomDocuments) {
  int valid = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    RawDocs docs(seed);
    for (int i = 0; i < 500; ++i) {
      std::string text = docs.Shipment();
      auto fast = ParseShipmentText(text);
      auto dom = ParseShipmentTextByDom(text);
      ASSERT_EQ(fast.ok(), dom.ok()) << text << "\nDOM: " << dom.status().ToString();
      if (dom.ok()) {
        ++valid;
        ASSERT_EQ(*fast, *dom) << text;
      } else {
        ASSERT_EQ(fast.status().message(), dom.status().message()) << text;
      }
    }
  }
  EXPECT_GT(valid, 1000) << "too few valid documents to say much";
}

TEST(DocumentText, StreamingTrackingEventParseAgreesWithTheDomOnRandomDocuments) {
  int valid = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    RawDocs docs(seed + 1000);
    for (int i = 0; i < 500; ++i) {
      std::string text = docs.TrackingEvent();
      auto fast = ParseTrackingEventText(text);
      auto dom = ParseTrackingEventTextByDom(text);
      ASSERT_EQ(fast.ok(), dom.ok()) << text << "\nDOM: " << dom.status().ToString();
      if (dom.ok()) {
        ++valid;
        ASSERT_EQ(*fast, *dom) << text;
      } else {
        ASSERT_EQ(fast.status().message(), dom.status().message()) << text;
      }
    }
  }
  EXPECT_GT(valid, 1000);
}

TEST(DocumentText, NormalizedDocumentsRoundTrip) {
  RawDocs docs(7);
  int checked = 0;
  for (int i = 0; i < 2000; ++i) {
    auto s = ParseShipmentTextByDom(docs.Shipment());
    if (!s.ok()) continue;
    auto again = ParseShipmentText(ShipmentToJson(*s).dump());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(*again, *s);
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace mv::core
