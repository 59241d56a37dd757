#include "tools/cli/produce_input.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/sdk/department_publisher.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "proto/datarun/v1/departments/payloads.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::cli {
namespace {

// Keeps what the SDK sends instead of sending it: the checked envelope,
// topic, key and headers, for the real producer once the whole input is
// valid.
class CapturingProducer : public broker::Producer {
 public:
  absl::Status Send(const broker::OutgoingMessage& m,
                    broker::DeliveryCallback on_delivery) override {
    PreparedRecord r;
    r.topic = std::string(m.topic);
    r.key = std::string(m.key);
    r.value = std::string(m.value);
    if (m.headers != nullptr) r.headers = *m.headers;
    const broker::DeliveryReport report{r.topic, 0, -1};
    captured_.push_back(std::move(r));
    if (on_delivery) on_delivery(report);
    return absl::OkStatus();
  }
  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  int64_t InFlight() const override { return 0; }

  std::vector<PreparedRecord>& captured() { return captured_; }

 private:
  std::vector<PreparedRecord> captured_;
};

// The Record JSON of a line: the line itself, or the "value" of a replay
// line.
absl::StatusOr<std::string> RecordJson(const std::string& line) {
  google::protobuf::Struct object;
  auto st = google::protobuf::util::JsonStringToMessage(line, &object);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a JSON object: ", st.message().ToString()));
  }
  const auto& fields = object.fields();
  auto topic = fields.find("topic");
  auto value = fields.find("value");
  if (topic == fields.end() || value == fields.end()) return line;
  if (!absl::StartsWith(topic->second.string_value(), "dr.data.") ||
      !value->second.has_struct_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a replay line of topic '", topic->second.string_value(),
                     "': only dr.data.* lines carry a Record"));
  }
  std::string json;
  st = google::protobuf::util::MessageToJsonString(value->second.struct_value(),
                                                   &json);
  if (!st.ok()) return absl::InvalidArgumentError(std::string(st.message()));
  return json;
}

// Checks and builds one record through `publisher`; `*trace_id` gets the
// line's trace id (the SDK takes none).
absl::Status PrepareOne(const std::string& line, absl::string_view department,
                        absl::Time now,
                        connectors::DepartmentPublisher& publisher,
                        std::string* trace_id) {
  auto json = RecordJson(line);
  if (!json.ok()) return json.status();
  datarun::v1::Record record;
  auto st = google::protobuf::util::JsonStringToMessage(*json, &record);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a datarun.v1.Record: ", st.message().ToString()));
  }
  if (record.data_class().empty()) {
    return absl::InvalidArgumentError("data_class is missing");
  }
  *trace_id = record.trace_id();
  if (!record.source_department().empty() &&
      record.source_department() != department) {
    return absl::PermissionDeniedError(
        absl::StrCat("source_department '", record.source_department(),
                     "' is not the publishing department --as=", department));
  }
  const absl::Time event_time =
      record.has_event_time()
          ? absl::FromUnixSeconds(record.event_time().seconds()) +
                absl::Nanoseconds(record.event_time().nanos())
          : now;
  switch (record.op()) {
    case datarun::v1::Record::OP_UPSERT: {
      if (!record.has_payload()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "payload is missing (an upsert of '", record.data_class(),
            "' carries its payload with \"@type\")"));
      }
      absl::string_view type = record.payload().type_url();
      type.remove_prefix(std::min(type.size(), type.rfind('/') + 1));
      const google::protobuf::Descriptor* d =
          google::protobuf::DescriptorPool::generated_pool()
              ->FindMessageTypeByName(std::string(type));
      if (d == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("payload type '", type, "' is not known"));
      }
      std::unique_ptr<google::protobuf::Message> payload(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(d)
              ->New());
      if (!record.payload().UnpackTo(payload.get())) {
        return absl::InvalidArgumentError(
            absl::StrCat("payload does not parse as ", type));
      }
      return publisher.Upsert(record.data_class(), record.subject().id(),
                              record.record_key(), record.source_version(),
                              *payload, event_time);
    }
    case datarun::v1::Record::OP_DELETE:
      if (record.has_payload()) {
        return absl::InvalidArgumentError("an OP_DELETE carries no payload");
      }
      return publisher.Delete(record.data_class(), record.subject().id(),
                              record.record_key(), record.source_version(),
                              event_time);
    default:
      return absl::InvalidArgumentError(
          "op is missing: \"op\":\"OP_UPSERT\" or \"op\":\"OP_DELETE\"");
  }
}

// The SDK takes no trace id; the line's goes into the envelope it built.
absl::Status SetTraceId(const std::string& trace_id, PreparedRecord* r) {
  if (trace_id.empty()) return absl::OkStatus();
  datarun::v1::Record record;
  if (!record.ParseFromString(r->value)) {
    return absl::InternalError("the SDK's envelope does not parse");
  }
  record.set_trace_id(trace_id);
  r->value = record.SerializeAsString();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrepareResult> PrepareRecords(
    const catalog::CatalogIndex& catalog, absl::string_view department,
    std::istream& in, absl::Time now, size_t max_errors) {
  (void)departments::AllPayloadDescriptors();  // payload types resolvable
  CapturingProducer capture;
  auto publisher =
      connectors::DepartmentPublisher::Create(catalog, department, &capture);
  if (!publisher.ok()) return publisher.status();
  PrepareResult result;
  size_t invalid = 0;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const size_t before = capture.captured().size();
    std::string trace_id;
    absl::Status st = PrepareOne(line, department, now, **publisher, &trace_id);
    if (st.ok() && capture.captured().size() == before + 1) {
      PreparedRecord& r = capture.captured().back();
      r.line = number;
      st = SetTraceId(trace_id, &r);
    }
    if (!st.ok()) {
      ++invalid;
      if (result.errors.size() < max_errors) {
        result.errors.push_back(
            absl::StrCat("line ", number, ": ", st.message()));
      }
      continue;
    }
  }
  if (invalid > result.errors.size()) {
    result.errors.push_back(absl::StrCat(
        "... and ", invalid - result.errors.size(), " more invalid lines"));
  }
  if (result.errors.empty()) result.records = std::move(capture.captured());
  return result;
}

}  // namespace datarun::cli
