#include "exchange/ingest/record_check.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace datarun::ingest {
namespace {

constexpr absl::string_view kDataPrefix = "dr.data.";

bool Reject(RejectReason reason, std::string detail, Rejection* out) {
  out->reason = reason;
  out->detail = std::move(detail);
  return false;
}

}  // namespace

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kUndecodable:
      return "undecodable";
    case RejectReason::kUnknownClass:
      return "unknown_class";
    case RejectReason::kNotAuthoritative:
      return "not_authoritative";
    case RejectReason::kInvalidSubject:
      return "invalid_subject";
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kCount:
      break;
  }
  return "unknown";
}

bool ParseDataTopic(absl::string_view topic, absl::string_view* department,
                    absl::string_view* data_class) {
  if (!absl::StartsWith(topic, kDataPrefix)) return false;
  absl::string_view rest = topic.substr(kDataPrefix.size());
  size_t dot = rest.find('.');
  if (dot == 0 || dot == absl::string_view::npos || dot + 1 >= rest.size()) {
    return false;
  }
  *department = rest.substr(0, dot);
  *data_class = rest.substr(dot + 1);
  return true;
}

bool ParseDataTopic(absl::string_view topic, std::string* department,
                    std::string* data_class) {
  absl::string_view dept, cls;
  if (!ParseDataTopic(topic, &dept, &cls)) return false;
  *department = std::string(dept);
  *data_class = std::string(cls);
  return true;
}

std::string DlqDepartment(absl::string_view topic) {
  std::string dept, cls;
  if (ParseDataTopic(topic, &dept, &cls)) return dept;
  if (absl::StartsWith(topic, kDataPrefix)) {
    absl::string_view rest = topic.substr(kDataPrefix.size());
    if (!rest.empty() && rest.find('.') == absl::string_view::npos) {
      return std::string(rest);
    }
  }
  return "unknown";
}

bool CheckMessage(const broker::MessageView& message,
                  const ClassDirectory& classes,
                  const SubjectValidator& validate_subject,
                  state::RecordEnvelope* record, Rejection* rejection) {
  absl::string_view topic_dept, topic_class;
  if (!ParseDataTopic(message.topic, &topic_dept, &topic_class)) {
    return Reject(RejectReason::kUndecodable,
                  absl::StrCat("topic '", message.topic,
                               "' is not dr.data.<department>.<class>"),
                  rejection);
  }
  if (absl::Status s = state::DecodeRecordEnvelope(message.value, record);
      !s.ok()) {
    return Reject(
        RejectReason::kUndecodable,
        absl::StrCat("value (", message.value.size(),
                     " bytes) is not a datarun.v1.Record: ", s.message()),
        rejection);
  }
  const ClassInfo* info = classes.FindClass(record->data_class);
  if (info == nullptr) {
    return Reject(RejectReason::kUnknownClass,
                  absl::StrCat("data_class '", record->data_class,
                               "' is not in the catalog"),
                  rejection);
  }
  if (record->data_class != topic_class) {
    return Reject(
        RejectReason::kMalformed,
        absl::StrCat("data_class '", record->data_class,
                     "' published on topic of class '", topic_class, "'"),
        rejection);
  }
  if (topic_dept != info->source_department ||
      record->source_department != info->source_department) {
    return Reject(
        RejectReason::kNotAuthoritative,
        absl::StrCat("class '", info->id, "' is sourced only by '",
                     info->source_department, "'; published by topic of '",
                     topic_dept, "' with source_department '",
                     record->source_department, "'"),
        rejection);
  }
  if (record->subject_kind != info->subject_kind) {
    const auto kind =
        static_cast<datarun::v1::SubjectKind>(record->subject_kind);
    return Reject(
        RejectReason::kInvalidSubject,
        absl::StrCat("subject.kind ",
                     datarun::v1::SubjectKind_IsValid(kind)
                         ? datarun::v1::SubjectKind_Name(kind)
                         : absl::StrCat(record->subject_kind),
                     " but class '", info->id, "' expects ",
                     datarun::v1::SubjectKind_Name(info->subject_kind)),
        rejection);
  }
  if (absl::Status s = validate_subject(info->subject_kind, record->subject_id);
      !s.ok()) {
    return Reject(RejectReason::kInvalidSubject,
                  absl::StrCat("subject.id: ", s.message()), rejection);
  }
  if (message.key != record->subject_id) {
    // The key decides the partition; any other key breaks co-partitioning.
    return Reject(
        RejectReason::kMalformed,
        absl::StrCat("Kafka key '", message.key, "' differs from subject.id '",
                     record->subject_id, "'"),
        rejection);
  }
  const int op = record->op;
  if (op != datarun::v1::Record::OP_UPSERT &&
      op != datarun::v1::Record::OP_DELETE) {
    return Reject(RejectReason::kMalformed, "op is neither UPSERT nor DELETE",
                  rejection);
  }
  if (info->multi_record == record->record_key.empty()) {
    return Reject(
        RejectReason::kMalformed,
        info->multi_record
            ? absl::StrCat("record_key is required by class '", info->id, "'")
            : absl::StrCat("record_key must be empty for class '", info->id,
                           "'"),
        rejection);
  }
  if (op == datarun::v1::Record::OP_UPSERT) {
    absl::string_view url = record->payload_type_url;
    size_t slash = url.rfind('/');
    absl::string_view type =
        slash == absl::string_view::npos ? url : url.substr(slash + 1);
    if (type != info->payload_type) {
      return Reject(
          RejectReason::kMalformed,
          absl::StrCat("payload type '", type, "' but class '", info->id,
                       "' carries '", info->payload_type, "'"),
          rejection);
    }
  }
  return true;
}

bool CheckMessage(const broker::Message& message, const ClassDirectory& classes,
                  const SubjectValidator& validate_subject,
                  datarun::v1::Record* record, Rejection* rejection) {
  const broker::MessageView view{message.topic, message.partition,
                                 message.offset, message.key, message.value};
  state::RecordEnvelope envelope;
  if (!CheckMessage(view, classes, validate_subject, &envelope, rejection)) {
    return false;
  }
  // The envelope decoder accepts exactly what the parser accepts.
  if (!record->ParseFromString(message.value)) {
    return Reject(RejectReason::kUndecodable,
                  absl::StrCat("value (", message.value.size(),
                               " bytes) is not a datarun.v1.Record"),
                  rejection);
  }
  return true;
}

}  // namespace datarun::ingest
