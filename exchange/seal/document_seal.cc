#include "exchange/seal/document_seal.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "exchange/seal/signed_bytes.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace datarun::seal {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

absl::StatusOr<const FieldDescriptor*> SealField(const Message& document) {
  const FieldDescriptor* field =
      document.GetDescriptor()->FindFieldByName("seal");
  if (field == nullptr || field->is_repeated() ||
      field->type() != FieldDescriptor::TYPE_MESSAGE ||
      field->message_type()->full_name() !=
          v1::Seal::descriptor()->full_name()) {
    return absl::InvalidArgumentError(
        absl::StrCat(document.GetDescriptor()->full_name(),
                     " has no `datarun.v1.Seal seal` field to seal"));
  }
  return field;
}

// The seal field as a v1::Seal, whether the document was built with the
// generated classes or dynamically.
v1::Seal* MutableSeal(Message* document, const FieldDescriptor* field) {
  Message* m = document->GetReflection()->MutableMessage(document, field);
  return google::protobuf::DynamicCastToGenerated<v1::Seal>(m);
}

v1::SealAlgorithm ToProto(SealAlgorithm a) {
  return a == SealAlgorithm::kSm2Sm3 ? v1::SEAL_ALGORITHM_SM2_SM3
                                     : v1::SEAL_ALGORITHM_ED25519;
}

}  // namespace

absl::Status SealDocument(const Signer& signer, absl::Time signed_at,
                          absl::string_view purpose, Message* document) {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, SealField(*document));
  v1::Seal* seal = MutableSeal(document, field);
  if (seal == nullptr) {
    return absl::InvalidArgumentError(
        "the seal field is not a generated datarun.v1.Seal");
  }
  seal->set_department(signer.department());
  seal->set_key_id(signer.key_id());
  seal->set_algorithm(ToProto(signer.algorithm()));
  const absl::Duration since_epoch = signed_at - absl::UnixEpoch();
  const int64_t seconds = absl::ToInt64Seconds(since_epoch);
  seal->mutable_signed_at()->set_seconds(seconds);
  seal->mutable_signed_at()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(since_epoch - absl::Seconds(seconds))));
  seal->clear_signature();
  ASSIGN_OR_RETURN(std::string bytes, SignedBytes(*document, purpose));
  ASSIGN_OR_RETURN(std::string signature, signer.Sign(bytes));
  seal->set_signature(std::move(signature));
  return absl::OkStatus();
}

absl::StatusOr<std::string> DocumentSignedBytes(const Message& document,
                                                absl::string_view purpose) {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, SealField(document));
  std::unique_ptr<Message> copy(document.New());
  copy->CopyFrom(document);
  v1::Seal* seal = MutableSeal(copy.get(), field);
  if (seal == nullptr) {
    return absl::InvalidArgumentError(
        "the seal field is not a generated datarun.v1.Seal");
  }
  seal->clear_signature();
  return SignedBytes(*copy, purpose);
}

absl::StatusOr<v1::Seal> DocumentSeal(const Message& document) {
  ASSIGN_OR_RETURN(const FieldDescriptor* field, SealField(document));
  v1::Seal seal;
  seal.CopyFrom(document.GetReflection()->GetMessage(document, field));
  if (seal.signature().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(document.GetDescriptor()->full_name(),
                     " is not sealed: seal.signature is empty"));
  }
  return seal;
}

absl::Status VerifyDocumentSeal(const SealKeyring& keyring,
                                absl::string_view purpose,
                                const Message& document) {
  ASSIGN_OR_RETURN(v1::Seal seal, DocumentSeal(document));
  SealAlgorithm declared;
  switch (seal.algorithm()) {
    case v1::SEAL_ALGORITHM_SM2_SM3:
      declared = SealAlgorithm::kSm2Sm3;
      break;
    case v1::SEAL_ALGORITHM_ED25519:
      declared = SealAlgorithm::kEd25519;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "seal algorithm is ", v1::SealAlgorithm_Name(seal.algorithm()),
          ": expected SEAL_ALGORITHM_SM2_SM3 or "
          "SEAL_ALGORITHM_ED25519"));
  }
  if (!seal.has_signed_at()) {
    return absl::InvalidArgumentError("seal has no signed_at");
  }
  ASSIGN_OR_RETURN(std::string bytes, DocumentSignedBytes(document, purpose));
  return keyring.Verify(seal.department(), seal.key_id(), declared,
                        FromProtoTime(seal.signed_at()), bytes,
                        seal.signature());
}

}  // namespace datarun::seal
