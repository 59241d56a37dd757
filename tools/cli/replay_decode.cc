#include "tools/cli/replay_decode.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "exchange/audit/kafka/audit_bus.h"
#include "exchange/query/topics.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "proto/datarun/v1/audit.pb.h"
#include "proto/datarun/v1/departments/payloads.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::cli {
namespace {

constexpr absl::string_view kDataPrefix = "dr.data.";
constexpr absl::string_view kDlqPrefix = "dr.dlq.";

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& m) {
  // Keeps every payload type in the generated pool, so Any payloads resolve.
  static const bool linked = [] {
    (void)departments::AllPayloadDescriptors();
    return true;
  }();
  (void)linked;
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(m, &json, o);
  if (!st.ok()) return absl::InvalidArgumentError(std::string(st.message()));
  return json;
}

// `,"name":<text or base64>` for bytes that may not be UTF-8.
std::string TextField(absl::string_view name, absl::string_view bytes) {
  if (IsValidUtf8(bytes))
    return absl::StrCat(",\"", name, "\":", JsonQuote(bytes));
  return absl::StrCat(",\"", name, "_base64\":\"", absl::Base64Escape(bytes),
                      "\"");
}

std::string HeadersJson(const broker::Headers& headers) {
  // Names in order of first appearance; a repeated name lists its values.
  std::vector<std::pair<std::string, std::vector<std::string>>> grouped;
  for (const auto& [name, value] : headers) {
    auto it = std::find_if(grouped.begin(), grouped.end(),
                           [&](const auto& g) { return g.first == name; });
    if (it == grouped.end()) {
      grouped.push_back({name, {value}});
    } else {
      it->second.push_back(value);
    }
  }
  auto value_json = [](const std::string& v) {
    return IsValidUtf8(v)
               ? JsonQuote(v)
               : absl::StrCat("{\"base64\":\"", absl::Base64Escape(v), "\"}");
  };
  std::string out = "{";
  for (size_t i = 0; i < grouped.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, JsonQuote(grouped[i].first), ":");
    const auto& values = grouped[i].second;
    if (values.size() == 1) {
      out += value_json(values[0]);
    } else {
      out += "[";
      for (size_t j = 0; j < values.size(); ++j) {
        if (j > 0) out += ",";
        out += value_json(values[j]);
      }
      out += "]";
    }
  }
  return out + "}";
}

std::string Undecoded(absl::string_view value, absl::string_view why) {
  return absl::StrCat(",\"value_base64\":\"", absl::Base64Escape(value),
                      "\",\"decode_error\":", JsonQuote(why));
}

void AddSubject(const datarun::v1::Subject& s, EntryFacts* facts) {
  if (!s.id().empty()) facts->subjects.push_back(s.id());
}

std::string DecodeRecord(const broker::Message& m, EntryFacts* facts) {
  datarun::v1::Record r;
  if (!r.ParseFromString(m.value)) {
    return Undecoded(m.value, "not a datarun.v1.Record");
  }
  AddSubject(r.subject(), facts);
  facts->departments.push_back(r.source_department());
  facts->data_classes.push_back(r.data_class());
  auto json = ToJson(r);
  if (json.ok()) return absl::StrCat(",\"value\":", *json);
  // The payload type is not linked into this binary (a newer catalog):
  // the envelope still prints, the payload stays bytes.
  const std::string payload = r.payload().SerializeAsString();
  const std::string type = r.payload().type_url();
  r.clear_payload();
  auto envelope = ToJson(r);
  if (!envelope.ok()) return Undecoded(m.value, envelope.status().message());
  return absl::StrCat(
      ",\"value\":", *envelope, ",\"payload_base64\":\"",
      absl::Base64Escape(payload), "\",\"decode_error\":",
      JsonQuote(absl::StrCat("payload ", type, ": ", json.status().message())));
}

std::string DecodeAuditLink(const broker::Message& m, EntryFacts* facts) {
  datarun::v1::ChainLink link;
  if (!link.ParseFromString(m.value)) {
    return Undecoded(m.value, "not a datarun.v1.ChainLink");
  }
  datarun::v1::AuditEvent event;
  const bool parsed = event.ParseFromString(link.event_bytes());
  const std::string event_bytes = link.event_bytes();
  link.clear_event_bytes();
  auto link_json = ToJson(link);
  if (!link_json.ok()) return Undecoded(m.value, link_json.status().message());
  if (!parsed) {
    return absl::StrCat(",\"value\":", *link_json, ",\"event_base64\":\"",
                        absl::Base64Escape(event_bytes),
                        "\",\"decode_error\":\"event bytes are not a "
                        "datarun.v1.AuditEvent\"");
  }
  AddSubject(event.subject(), facts);
  AddSubject(event.on_behalf_of(), facts);
  facts->departments.push_back(event.requester_department());
  facts->matters.push_back(event.matter());
  for (const auto& d : event.disclosed()) {
    facts->data_classes.push_back(d.data_class());
  }
  auto event_json = ToJson(event);
  if (!event_json.ok()) {
    return Undecoded(m.value, event_json.status().message());
  }
  return absl::StrCat(",\"value\":", *link_json, ",\"event\":", *event_json);
}

std::string DecodeCheckpoint(const broker::Message& m, EntryFacts* facts) {
  datarun::v1::SealedCheckpoint cp;
  if (!cp.ParseFromString(m.value)) {
    return Undecoded(m.value, "not a datarun.v1.SealedCheckpoint");
  }
  if (!cp.seal().department().empty()) {
    facts->departments.push_back(cp.seal().department());
  }
  auto json = ToJson(cp);
  if (!json.ok()) return Undecoded(m.value, json.status().message());
  return absl::StrCat(",\"value\":", *json);
}

std::string DecodeRequest(const broker::Message& m, EntryFacts* facts) {
  datarun::v1::QueryRequest q;
  if (!q.ParseFromString(m.value)) {
    return Undecoded(m.value, "not a datarun.v1.QueryRequest");
  }
  for (const auto& s : q.subjects()) AddSubject(s, facts);
  AddSubject(q.on_behalf_of(), facts);
  facts->departments.push_back(q.requester_department());
  facts->matters.push_back(q.matter());
  auto json = ToJson(q);
  if (!json.ok()) return Undecoded(m.value, json.status().message());
  return absl::StrCat(",\"value\":", *json);
}

std::string DecodeResponse(const broker::Message& m, EntryFacts* facts) {
  datarun::v1::QueryResponse r;
  if (!r.ParseFromString(m.value)) {
    return Undecoded(m.value, "not a datarun.v1.QueryResponse");
  }
  // The requester is in the topic name; the response carries no matter.
  facts->departments.push_back(
      m.topic.substr(std::string(query::kResponseTopicPrefix).size()));
  for (const auto& d : r.records()) {
    AddSubject(d.subject(), facts);
    facts->data_classes.push_back(d.data_class());
  }
  auto json = ToJson(r);
  if (!json.ok()) return Undecoded(m.value, json.status().message());
  return absl::StrCat(",\"value\":", *json);
}

bool Contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

bool Matches(const EntryFacts& facts, const ReplayFilter& filter) {
  return (filter.subject.empty() || Contains(facts.subjects, filter.subject)) &&
         (filter.department.empty() ||
          Contains(facts.departments, filter.department)) &&
         (filter.matter.empty() || Contains(facts.matters, filter.matter)) &&
         (filter.data_class.empty() ||
          Contains(facts.data_classes, filter.data_class));
}

std::string DecodeEntry(const broker::Message& m, EntryFacts* facts) {
  std::string line =
      absl::StrCat("{\"topic\":", JsonQuote(m.topic),
                   ",\"partition\":", m.partition, ",\"offset\":", m.offset,
                   ",\"timestamp\":\"", FormatTimestamp(m.timestamp), "\"");
  line += TextField("key", m.key);
  absl::StrAppend(&line, ",\"headers\":", HeadersJson(m.headers));
  if (absl::StartsWith(m.topic, kDataPrefix)) {
    line += DecodeRecord(m, facts);
  } else if (m.topic == query::kAuditTopic) {
    line += DecodeAuditLink(m, facts);
  } else if (m.topic == audit::kCheckpointTopic) {
    line += DecodeCheckpoint(m, facts);
  } else if (m.topic == query::kRequestTopic) {
    line += DecodeRequest(m, facts);
  } else if (absl::StartsWith(m.topic, query::kResponseTopicPrefix)) {
    line += DecodeResponse(m, facts);
  } else {
    // DLQ entries (reason in the dr-dlq-* headers) and anything else: the
    // bytes as they are. A DLQ entry keeps the key it was received with,
    // normally the subject id.
    if (absl::StartsWith(m.topic, kDlqPrefix)) {
      facts->departments.push_back(m.topic.substr(kDlqPrefix.size()));
    }
    if (!m.key.empty()) facts->subjects.push_back(m.key);
    absl::StrAppend(&line, ",\"value_base64\":\"", absl::Base64Escape(m.value),
                    "\"");
  }
  return line + "}";
}

std::optional<std::string> ReplayLine(const broker::Message& m,
                                      const ReplayFilter& filter) {
  EntryFacts facts;
  std::string line = DecodeEntry(m, &facts);
  if (!Matches(facts, filter)) return std::nullopt;
  return line;
}

}  // namespace datarun::cli
