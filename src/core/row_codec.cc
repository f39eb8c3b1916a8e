#include "core/row_codec.h"

#include <cstdint>
#include <cstring>
#include <optional>

#include "base/time.h"

namespace mv::core {
namespace {

constexpr std::uint8_t kRowFormat = 1;
constexpr std::uint8_t kTrackingFormat = 1;

class Writer {
 public:
  explicit Writer(size_t reserve = 64) { out_.reserve(reserve); }
  void Byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      Byte(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    Byte(static_cast<std::uint8_t>(v));
  }
  void Signed(std::int64_t v) {
    Varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void Text(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  void Time(Timestamp t) { Signed(ToMillis(t)); }
  void Double(double d) {
    char raw[sizeof(double)];
    std::memcpy(raw, &d, sizeof(d));
    out_.append(raw, sizeof(raw));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }

  std::uint8_t Byte() {
    if (in_.empty()) return Fail(), 0;
    auto b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }
  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = Byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail(), 0;
  }
  std::int64_t Signed() {
    std::uint64_t z = Varint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  std::string Text() {
    std::uint64_t n = Varint();
    if (n > in_.size()) return Fail(), std::string();
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  Timestamp Time() { return FromMillis(Signed()); }
  double Double() {
    if (in_.size() < sizeof(double)) return Fail(), 0.0;
    double d;
    std::memcpy(&d, in_.data(), sizeof(d));
    in_.remove_prefix(sizeof(d));
    return d;
  }

 private:
  void Fail() {
    ok_ = false;
    in_ = {};
  }
  std::string_view in_;
  bool ok_ = true;
};

// Optional fields are announced by one presence bitmap ahead of their values.
enum RowField : std::uint32_t {
  kStatusChangedAt = 1u << 0,
  kPromised = 1u << 1,
  kPickedUp = 1u << 2,
  kOutForDelivery = 1u << 3,
  kDelivered = 1u << 4,
  kDocStatusChangedAt = 1u << 5,
  kDocPickedUp = 1u << 6,
  kDocOutForDelivery = 1u << 7,
  kDocDelivered = 1u << 8,
  kSlaNextChange = 1u << 9,
  kWeight = 1u << 10,
  kValue = 1u << 11,
  kLastEvent = 1u << 12,
};

void PutAddress(Writer& w, const Address& address) {
  w.Varint(address.members().size());
  for (const auto& [key, value] : address.members()) {
    w.Text(key);
    w.Byte(value ? 1 : 0);
    if (value) w.Text(*value);
  }
}

bool GetAddress(Reader& r, Address* out) {
  *out = Address();
  std::uint64_t n = r.Varint();
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string key = r.Text();
    if (r.Byte() == 0) {
      out->Set(std::move(key), std::nullopt);
    } else {
      out->Set(std::move(key), r.Text());
    }
  }
  return r.ok();
}

template <typename Enum>
bool GetEnum(Reader& r, std::uint8_t count, Enum* out) {
  std::uint8_t v = r.Byte();
  if (v >= count) return false;
  *out = static_cast<Enum>(v);
  return true;
}

void PutOrder(Writer& w, const std::optional<EventOrder>& o) {
  w.Byte(o ? 1 : 0);
  if (!o) return;
  w.Time(o->occurred_at);
  w.Text(o->carrier_id);
  w.Text(o->event_id);
}

std::optional<EventOrder> GetOrder(Reader& r) {
  if (r.Byte() == 0) return std::nullopt;
  EventOrder o;
  o.occurred_at = r.Time();
  o.carrier_id = r.Text();
  o.event_id = r.Text();
  return o;
}

void PutTime(Writer& w, const std::optional<Timestamp>& t) {
  w.Byte(t ? 1 : 0);
  if (t) w.Time(*t);
}

std::optional<Timestamp> GetTime(Reader& r) {
  if (r.Byte() == 0) return std::nullopt;
  return r.Time();
}

}  // namespace

std::string EncodeRow(const ShipmentRow& row) {
  const Shipment& s = row.shipment;
  std::uint32_t fields = 0;
  auto mark = [&](bool present, RowField f) {
    if (present) fields |= f;
  };
  mark(s.status_changed_at.has_value(), kStatusChangedAt);
  mark(s.promised_delivery_at.has_value(), kPromised);
  mark(s.picked_up_at.has_value(), kPickedUp);
  mark(s.out_for_delivery_at.has_value(), kOutForDelivery);
  mark(s.delivered_at.has_value(), kDelivered);
  mark(row.document.status_changed_at.has_value(), kDocStatusChangedAt);
  mark(row.document.picked_up_at.has_value(), kDocPickedUp);
  mark(row.document.out_for_delivery_at.has_value(), kDocOutForDelivery);
  mark(row.document.delivered_at.has_value(), kDocDelivered);
  mark(row.sla.next_change_at.has_value(), kSlaNextChange);
  mark(s.weight_kg.has_value(), kWeight);
  mark(s.declared_value.has_value(), kValue);
  mark(row.last_event.has_value(), kLastEvent);

  Writer w(160);
  w.Byte(kRowFormat);
  w.Varint(static_cast<std::uint64_t>(row.schema_version));
  w.Varint(fields);
  w.Text(s.id);
  w.Text(s.reference);
  w.Text(s.customer_id);
  w.Text(s.carrier_id);
  w.Text(s.service);
  w.Text(s.currency);
  w.Byte(static_cast<std::uint8_t>(s.status));
  w.Byte(static_cast<std::uint8_t>(row.document.status));
  w.Byte(static_cast<std::uint8_t>(row.sla.status));
  w.Time(s.created_at);
  for (const auto* t :
       {&s.status_changed_at, &s.promised_delivery_at, &s.picked_up_at, &s.out_for_delivery_at,
        &s.delivered_at, &row.document.status_changed_at, &row.document.picked_up_at,
        &row.document.out_for_delivery_at, &row.document.delivered_at, &row.sla.next_change_at}) {
    if (*t) w.Time(**t);
  }
  if (s.weight_kg) w.Double(*s.weight_kg);
  if (s.declared_value) w.Double(*s.declared_value);
  PutAddress(w, s.origin);
  PutAddress(w, s.destination);
  if (row.last_event) {
    w.Text(row.last_event->code);
    w.Time(row.last_event->occurred_at);
    w.Text(row.last_event->location);
  }
  return w.Take();
}

Result<ShipmentRow> DecodeRow(const std::string& org, std::string_view bytes) {
  Reader r(bytes);
  if (r.Byte() != kRowFormat) return Status::Corruption("stored row: unknown encoding");
  ShipmentRow row;
  row.org = org;
  Shipment& s = row.shipment;
  row.schema_version = static_cast<int>(r.Varint());
  auto fields = static_cast<std::uint32_t>(r.Varint());
  s.id = r.Text();
  s.reference = r.Text();
  s.customer_id = r.Text();
  s.carrier_id = r.Text();
  s.service = r.Text();
  s.currency = r.Text();
  if (!GetEnum(r, kShipmentStatusCount, &s.status) ||
      !GetEnum(r, kShipmentStatusCount, &row.document.status) || !GetEnum(r, 6, &row.sla.status)) {
    return Status::Corruption("stored row: bad status");
  }
  s.created_at = r.Time();
  std::pair<std::optional<Timestamp>*, RowField> times[] = {
      {&s.status_changed_at, kStatusChangedAt},
      {&s.promised_delivery_at, kPromised},
      {&s.picked_up_at, kPickedUp},
      {&s.out_for_delivery_at, kOutForDelivery},
      {&s.delivered_at, kDelivered},
      {&row.document.status_changed_at, kDocStatusChangedAt},
      {&row.document.picked_up_at, kDocPickedUp},
      {&row.document.out_for_delivery_at, kDocOutForDelivery},
      {&row.document.delivered_at, kDocDelivered},
      {&row.sla.next_change_at, kSlaNextChange}};
  for (auto& [t, field] : times) {
    if (fields & field) *t = r.Time();
  }
  if (fields & kWeight) s.weight_kg = r.Double();
  if (fields & kValue) s.declared_value = r.Double();
  if (!GetAddress(r, &s.origin) || !GetAddress(r, &s.destination)) {
    return Status::Corruption("stored row: bad address");
  }
  if (fields & kLastEvent) {
    LastEvent e;
    e.code = r.Text();
    e.occurred_at = r.Time();
    e.location = r.Text();
    row.last_event = std::move(e);
  }
  if (!r.ok() || !r.done()) return Status::Corruption("stored row: truncated or too long");
  return row;
}

std::string EncodeTrackingSummary(const TrackingSummary& t) {
  Writer w;
  w.Byte(kTrackingFormat);
  PutTime(w, t.picked_up_at);
  PutTime(w, t.out_for_delivery_at);
  PutTime(w, t.delivered_at);
  PutOrder(w, t.latest_mapped);
  w.Byte(static_cast<std::uint8_t>(t.latest_mapped_status));
  PutOrder(w, t.latest);
  w.Text(t.latest_code);
  w.Text(t.latest_location);
  return w.Take();
}

Result<TrackingSummary> DecodeTrackingSummary(std::string_view bytes) {
  Reader r(bytes);
  if (r.Byte() != kTrackingFormat) {
    return Status::Corruption("stored tracking summary: unknown encoding");
  }
  TrackingSummary t;
  t.picked_up_at = GetTime(r);
  t.out_for_delivery_at = GetTime(r);
  t.delivered_at = GetTime(r);
  t.latest_mapped = GetOrder(r);
  if (!GetEnum(r, kShipmentStatusCount, &t.latest_mapped_status)) {
    return Status::Corruption("stored tracking summary: bad status");
  }
  t.latest = GetOrder(r);
  t.latest_code = r.Text();
  t.latest_location = r.Text();
  if (!r.ok() || !r.done()) {
    return Status::Corruption("stored tracking summary: truncated or too long");
  }
  return t;
}

}  // namespace mv::core
