#include "connectors/sdk/department_publisher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/subject/subject_id.h"
#include "proto/datarun/v1/departments/payloads.h"

namespace datarun::connectors {

absl::StatusOr<std::unique_ptr<DepartmentPublisher>>
DepartmentPublisher::Create(const catalog::CatalogIndex& catalog,
                            absl::string_view department,
                            broker::Producer* producer) {
  departments::AllPayloadDescriptors();  // keep payload types linked
  if (catalog.FindDepartment(department) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("department '", department, "' is not in the catalog"));
  }
  std::unique_ptr<DepartmentPublisher> p(new DepartmentPublisher());
  p->catalog_ = &catalog;
  p->department_ = std::string(department);
  p->producer_ = producer;
  for (const auto* cls : catalog.ClassesFromDepartment(department)) {
    auto [it, inserted] = p->by_type_.emplace(cls->payload_type(), cls);
    if (!inserted) it->second = nullptr;
  }
  return p;
}

absl::StatusOr<const datarun::v1::DataClass*> DepartmentPublisher::ClassOf(
    absl::string_view data_class) const {
  const auto* cls = catalog_->FindDataClass(data_class);
  if (cls == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("data class '", data_class, "' is not in the catalog"));
  }
  if (cls->source_department() != department_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "department '", department_, "' is not the authoritative source of '",
        data_class, "' (its source is '", cls->source_department(), "')"));
  }
  return cls;
}

absl::Status DepartmentPublisher::Fill(const datarun::v1::DataClass& cls,
                                       absl::string_view subject_id,
                                       absl::string_view record_key,
                                       uint64_t version, absl::Time event_time,
                                       datarun::v1::Record* record) const {
  absl::StatusOr<subject::SubjectId> id =
      cls.subject_kind() == datarun::v1::SUBJECT_KIND_LEGAL_PERSON
          ? subject::ParseCreditCode(subject_id)
          : subject::ParseCitizenId(subject_id);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("subject id: ", id.status().message()));
  }
  if (cls.multi_record() == record_key.empty()) {
    return absl::InvalidArgumentError(
        cls.multi_record()
            ? absl::StrCat("record_key is required by class '", cls.id(), "'")
            : absl::StrCat("record_key must be empty for class '", cls.id(),
                           "'"));
  }
  if (version == 0) {
    return absl::InvalidArgumentError("version must be positive");
  }
  *record->mutable_subject() = id->ToProto();
  record->set_data_class(cls.id());
  record->set_source_department(department_);
  record->set_record_key(std::string(record_key));
  record->set_source_version(version);
  const int64_t secs = absl::ToUnixSeconds(event_time);
  record->mutable_event_time()->set_seconds(secs);
  record->mutable_event_time()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(event_time - absl::FromUnixSeconds(secs))));
  return absl::OkStatus();
}

absl::Status DepartmentPublisher::Upsert(
    absl::string_view subject_id, absl::string_view record_key,
    uint64_t version, const google::protobuf::Message& payload,
    absl::Time event_time, broker::DeliveryCallback on_delivery) {
  const std::string& type = payload.GetDescriptor()->full_name();
  auto it = by_type_.find(type);
  if (it == by_type_.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "department '", department_, "' publishes no class of type ", type));
  }
  if (it->second == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "department '", department_, "' has several classes of type ", type,
        ": name the data class"));
  }
  return Upsert(it->second->id(), subject_id, record_key, version, payload,
                event_time, std::move(on_delivery));
}

absl::Status DepartmentPublisher::Upsert(
    absl::string_view data_class, absl::string_view subject_id,
    absl::string_view record_key, uint64_t version,
    const google::protobuf::Message& payload, absl::Time event_time,
    broker::DeliveryCallback on_delivery) {
  ASSIGN_OR_RETURN(const auto* cls, ClassOf(data_class));
  if (payload.GetDescriptor()->full_name() != cls->payload_type()) {
    return absl::InvalidArgumentError(
        absl::StrCat("class '", cls->id(), "' carries ", cls->payload_type(),
                     ", not ", payload.GetDescriptor()->full_name()));
  }
  datarun::v1::Record record;
  RETURN_IF_ERROR(
      Fill(*cls, subject_id, record_key, version, event_time, &record));
  record.set_op(datarun::v1::Record::OP_UPSERT);
  record.mutable_payload()->PackFrom(payload);
  return Send(*cls, std::move(record), std::move(on_delivery));
}

absl::Status DepartmentPublisher::Delete(absl::string_view data_class,
                                         absl::string_view subject_id,
                                         absl::string_view record_key,
                                         uint64_t version,
                                         absl::Time event_time,
                                         broker::DeliveryCallback on_delivery) {
  ASSIGN_OR_RETURN(const auto* cls, ClassOf(data_class));
  datarun::v1::Record record;
  RETURN_IF_ERROR(
      Fill(*cls, subject_id, record_key, version, event_time, &record));
  record.set_op(datarun::v1::Record::OP_DELETE);
  return Send(*cls, std::move(record), std::move(on_delivery));
}

absl::Status DepartmentPublisher::Send(const datarun::v1::DataClass& cls,
                                       datarun::v1::Record record,
                                       broker::DeliveryCallback on_delivery) {
  const std::string topic = catalog::DataTopicFor(cls);
  const std::string value = record.SerializeAsString();
  const broker::Headers headers = {{"dr-payload-type", cls.payload_type()},
                                   {"dr-catalog-version", catalog_->version()}};
  broker::OutgoingMessage m;
  m.topic = topic;
  m.key = record.subject().id();
  m.value = value;
  m.headers = &headers;
  return producer_->Send(m, std::move(on_delivery));
}

absl::Status DepartmentPublisher::Flush(absl::Duration timeout) {
  return producer_->Flush(timeout);
}

}  // namespace datarun::connectors
