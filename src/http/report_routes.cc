// The report reads (DESIGN.md section 8): daily metrics, carrier performance and customer
// summaries, over the aggregate views.

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <set>
#include <string_view>

#include "core/carrier_performance_view.h"
#include "core/daily_metrics_view.h"
#include "http/api_service.h"
#include "http/call.h"
#include "http/json_writer.h"
#include "http/names.h"
#include "http/response.h"
#include "http/rows.h"

namespace mv::http {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

constexpr int kDefaultDays = 30;
constexpr int kDefaultWeeks = 12;
constexpr int kDefaultMonths = 12;
constexpr std::int64_t kMaxPeriods = 10000;
constexpr size_t kMaxDailyRows = 10000;

// API field name -> column, in the default order.
struct Dimension {
  std::string_view field;
  std::string_view column;
};
constexpr std::array<Dimension, 6> kDailyDimensions = {
    {{"day", "day"},
     {"carrierId", "carrier_id"},
     {"service", "service"},
     {"originCountry", "origin_country"},
     {"destinationCountry", "destination_country"},
     {"status", "status"}}};

constexpr std::array<Dimension, 7> kCustomerSorts = {{{"customerId", "customer_id"},
                                                      {"shipments", "shipments"},
                                                      {"open", "open"},
                                                      {"delivered", "delivered"},
                                                      {"exceptions", "exceptions"},
                                                      {"declaredValue", "declared_value_micro"},
                                                      {"lastShipmentAt", "last_shipment_at"}}};

template <size_t N>
std::string FieldList(const std::array<Dimension, N>& dims) {
  std::string out;
  for (const auto& d : dims) out += (out.empty() ? "" : ", ") + std::string(d.field);
  return out;
}

std::string DateText(sys_days d) { return core::UtcDate(Timestamp(d)); }
std::string WeekText(sys_days monday) { return core::IsoWeek(Timestamp(monday)); }

using Interval = api::DailyMetricsQuery::Interval;

// The periods of the daily metrics: the API name of the time dimension, and the first
// and last day of the period a day is in.
std::string_view IntervalName(Interval i) {
  return i == Interval::kWeek ? "week" : i == Interval::kMonth ? "month" : "day";
}

sys_days PeriodStart(Interval i, sys_days d) {
  using namespace std::chrono;
  if (i == Interval::kWeek) return MondayOf(d);
  if (i == Interval::kMonth) {
    year_month_day ymd{d};
    return sys_days(ymd.year() / ymd.month() / 1);
  }
  return d;
}

sys_days PeriodEnd(Interval i, sys_days d) {
  using namespace std::chrono;
  if (i == Interval::kWeek) return MondayOf(d) + days(6);
  if (i == Interval::kMonth) {
    year_month_day ymd{d};
    return sys_days(year_month_day_last(ymd.year(), month_day_last(ymd.month())));
  }
  return d;
}

// The number of periods from the one `from` is in to the one `to` is in, both included.
std::int64_t Periods(Interval i, sys_days from, sys_days to) {
  using namespace std::chrono;
  if (i == Interval::kWeek) return (MondayOf(to) - MondayOf(from)).count() / 7 + 1;
  if (i == Interval::kMonth) {
    year_month_day a{from}, b{to};
    return (static_cast<int>(b.year()) - static_cast<int>(a.year())) * 12 +
           (static_cast<int>(static_cast<unsigned>(b.month())) -
            static_cast<int>(static_cast<unsigned>(a.month()))) +
           1;
  }
  return (to - from).count() + 1;
}

// groupBy: a comma-separated list of dimensions (absent: all of them); the chosen ones
// as (API field, column), in the order given. The time dimension may be named `day` or
// after the interval (`week`, `month`); its field is named after the interval.
Result<std::vector<Dimension>> GroupBy(const Call& c, Interval interval) {
  std::vector<Dimension> all(kDailyDimensions.begin(), kDailyDimensions.end());
  all[0].field = IntervalName(interval);
  MV_ASSIGN_OR_RETURN(auto text, c.params.Text("groupBy"));
  if (!text) return all;
  std::vector<Dimension> out;
  std::set<std::string_view> seen;
  std::string_view rest(*text);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view name = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const Dimension* found = nullptr;
    for (const auto& d : all) {
      if (d.field == name || (d.column == "day" && name == "day")) found = &d;
    }
    if (found == nullptr) {
      return Status::InvalidArgument(fmt::format(
          "groupBy: unknown dimension '{}' (one of {}, or day)", name,
          FieldList(std::array<Dimension, 6>{all[0], all[1], all[2], all[3], all[4], all[5]})));
    }
    if (!seen.insert(found->field).second) {
      return Status::InvalidArgument(fmt::format("groupBy: '{}' given more than once", name));
    }
    out.push_back(*found);
    if (comma != std::string_view::npos && rest.empty()) {
      return Status::InvalidArgument("groupBy: ends with a comma");
    }
  }
  return out;
}

}  // namespace

void ApiService::AddReports() {
  // Sums per group of the kept dimensions over the days [from, to] (UTC, inclusive), by
  // day, ISO week or month. The range is widened to whole periods; it may be as long as
  // the answer stays under kMaxDailyRows rows (and kMaxPeriods periods).
  Add("GET", "/v1/metrics/daily", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(
        c.params.CheckAllowed({"org", "from", "to", "groupBy", "interval", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    MV_ASSIGN_OR_RETURN(auto interval_text, c.params.Text("interval"));
    Interval interval = Interval::kDay;
    if (interval_text && *interval_text == "week") {
      interval = Interval::kWeek;
    } else if (interval_text && *interval_text == "month") {
      interval = Interval::kMonth;
    } else if (interval_text && *interval_text != "day") {
      return Status::InvalidArgument("interval: unknown value '" + interval_text->substr(0, 32) +
                                     "' (day, week or month)");
    }
    MV_ASSIGN_OR_RETURN(auto to, c.params.Date("to"));
    MV_ASSIGN_OR_RETURN(auto from, c.params.Date("from"));
    if (!to) to = std::chrono::floor<days>(b_.clock->Now());
    if (!from) {
      using namespace std::chrono;
      year_month_day month_of_to{*to};
      from = interval == Interval::kWeek ? *to - days(7 * (kDefaultWeeks - 1))
             : interval == Interval::kMonth
                 ? sys_days(year_month_day(month_of_to.year() / month_of_to.month() / 1) -
                            months(kDefaultMonths - 1))
                 : *to - days(kDefaultDays - 1);
    }
    if (*from > *to) {
      return Status::InvalidArgument(
          fmt::format("from: {} is after to: {}", DateText(*from), DateText(*to)));
    }
    from = PeriodStart(interval, *from);
    to = PeriodEnd(interval, *to);
    if (std::int64_t n = Periods(interval, *from, *to); n > kMaxPeriods) {
      return Status::InvalidArgument(
          fmt::format("from, to: the range has {} periods of a {}; at most {} are allowed", n,
                      IntervalName(interval), kMaxPeriods));
    }
    MV_ASSIGN_OR_RETURN(std::vector<Dimension> dims, GroupBy(c, interval));
    api::DailyMetricsQuery q;
    q.from_day = DateText(*from);
    q.to_day = DateText(*to);
    q.interval = interval;
    q.max_rows = kMaxDailyRows;
    std::vector<std::string> fields;
    for (const auto& d : dims) {
      q.group_by.emplace_back(d.column);
      fields.emplace_back(d.field);
    }
    MV_ASSIGN_OR_RETURN(auto result, b_.reader->DailyMetrics(org, q));
    if (result.value.truncated) {
      return Status::InvalidArgument(
          fmt::format("the answer would have more than {} rows: narrow the range (from, to) or "
                      "group by fewer dimensions (groupBy)",
                      kMaxDailyRows));
    }
    std::string body;
    JsonWriter w(&body);
    w.BeginObject();
    w.Key("from");
    w.String(q.from_day);
    w.Key("to");
    w.String(q.to_day);
    w.Key("interval");
    w.String(IntervalName(interval));
    w.Key("rows");
    w.BeginArray();
    for (const auto& row : result.value.rows) WriteDailyMetricsRow(w, fields, row);
    w.EndArray();
    w.EndObject();
    AnswerRead(c.res, result.token, std::move(body));
    return Status::Ok();
  });

  // Per carrier and ISO week of pickup, over the weeks [from, to] (inclusive).
  Add("GET", "/v1/carriers/performance", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "from", "to", "carrierId", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    MV_ASSIGN_OR_RETURN(auto to, c.params.Week("to"));
    MV_ASSIGN_OR_RETURN(auto from, c.params.Week("from"));
    if (!to) to = MondayOf(std::chrono::floor<days>(b_.clock->Now()));
    if (!from) from = *to - days(7 * (kDefaultWeeks - 1));
    if (*from > *to) {
      return Status::InvalidArgument(
          fmt::format("from: week {} is after to: week {}", WeekText(*from), WeekText(*to)));
    }
    MV_ASSIGN_OR_RETURN(auto carrier, c.params.Id("carrierId"));
    api::CarrierPerformanceQuery q;
    q.from_week = WeekText(*from);
    q.to_week = WeekText(*to);
    q.carrier_id = carrier.value_or("");
    MV_ASSIGN_OR_RETURN(auto result, b_.reader->CarrierPerformance(org, q));
    Names names(b_.lookups, org);
    std::string body;
    JsonWriter w(&body);
    std::vector<std::int64_t> buckets;
    w.BeginObject();
    w.Key("from");
    w.String(q.from_week);
    w.Key("to");
    w.String(q.to_week);
    w.Key("rows");
    w.BeginArray();
    for (const auto& row : result.value) WriteCarrierPerformanceRow(w, row, names, buckets);
    w.EndArray();
    w.EndObject();
    AnswerRead(c.res, result.token, std::move(body));
    return Status::Ok();
  });

  // Keyset-paginated by (sort value, customerId), both in the sort's direction.
  Add("GET", "/v1/customers/summary", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(
        c.params.CheckAllowed({"org", "sort", "limit", "cursor", "customerId", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    MV_ASSIGN_OR_RETURN(auto sort_param, c.params.Text("sort"));
    std::string sort = sort_param.value_or("-shipments");
    api::CustomerSummaryQuery q;
    q.descending = !sort.empty() && sort.front() == '-';
    std::string_view field = std::string_view(sort).substr(q.descending ? 1 : 0);
    const Dimension* by = nullptr;
    for (const auto& d : kCustomerSorts) {
      if (d.field == field) by = &d;
    }
    if (by == nullptr) {
      return Status::InvalidArgument(
          fmt::format("sort: unknown value '{}' (one of {}; prefix '-' for descending)", sort,
                      FieldList(kCustomerSorts)));
    }
    q.sort_column = by->column;
    MV_ASSIGN_OR_RETURN(q.limit, Limit(c));
    MV_ASSIGN_OR_RETURN(auto customer, c.params.Id("customerId"));
    q.customer_id = customer.value_or("");
    MV_ASSIGN_OR_RETURN(auto after,
                        CursorParam<api::CustomerPosition>(c, [&](const std::string& text) {
                          return DecodeCustomerCursor(text, sort);
                        }));
    MV_ASSIGN_OR_RETURN(auto page, b_.reader->CustomerSummary(org, q, after));
    Names names(b_.lookups, org);
    std::string body;
    JsonWriter w(&body);
    w.BeginObject();
    w.Key("items");
    w.BeginArray();
    for (const auto& row : page.value.rows) WriteCustomerSummaryItem(w, row, names);
    w.EndArray();
    w.Key("nextCursor");
    if (page.value.next) {
      w.String(EncodeCustomerCursor(sort, *page.value.next));
    } else {
      w.Null();
    }
    w.EndObject();
    AnswerRead(c.res, page.token, std::move(body));
    return Status::Ok();
  });
}

}  // namespace mv::http
