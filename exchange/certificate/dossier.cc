#include "exchange/certificate/dossier.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/certificate/issuer.h"
#include "exchange/certificate/record_payload.h"
#include "exchange/seal/document_seal.h"

namespace datarun::certificate {

std::vector<std::string> CourtFilingClasses() {
  return {"household_registration", "resident_population",
          "vehicle_registration", "real_estate_title", "entity_role_holding"};
}

absl::StatusOr<v1::Dossier> AssembleDossier(
    const catalog::CatalogIndex& catalog, const DossierRequest& request,
    absl::Span<const v1::Record> records, absl::Time now,
    const seal::Signer& signer) {
  const v1::Matter* matter = catalog.FindMatter(request.matter_id);
  if (matter == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("dossier: unknown matter \"", request.matter_id, "\""));
  }
  if (request.subject.id().empty()) {
    return absl::InvalidArgumentError("dossier subject has an empty id");
  }
  std::vector<std::string> classes = request.classes;
  if (classes.empty()) {
    classes.assign(matter->data_classes().begin(),
                   matter->data_classes().end());
  }
  for (const v1::Record& r : records) {
    if (r.subject().id() != request.subject.id()) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", r.data_class(), "/", r.record_key(),
                       " is about ", r.subject().id(),
                       ", not the dossier subject ", request.subject.id()));
    }
  }

  const absl::Time assembled = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  v1::Dossier dossier;
  dossier.set_id(
      NewSerial(absl::StrCat("dossier-", signer.department()), assembled));
  dossier.set_matter(matter->id());
  *dossier.mutable_subject() = request.subject;
  dossier.set_requester_department(request.requester_department);
  dossier.mutable_assembled_at()->set_seconds(absl::ToUnixSeconds(assembled));
  for (const std::string& class_id : classes) {
    const v1::DataClass* cls = catalog.FindDataClass(class_id);
    if (cls == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("dossier: unknown data class \"", class_id, "\""));
    }
    v1::DossierSection* section = dossier.add_sections();
    section->set_data_class(cls->id());
    section->set_title(cls->name());
    for (const v1::Record& r : records) {
      if (r.data_class() != class_id || r.op() == v1::Record::OP_DELETE ||
          r.source_department() != cls->source_department()) {
        continue;
      }
      // Unpacking proves the payload is what the class says before it is
      // sealed; the Any itself is kept as is (already masked by policy).
      RETURN_IF_ERROR(UnpackPayload(catalog, r).status());
      v1::DossierRecord* out = section->add_records();
      *out->mutable_payload() = r.payload();
      *out->mutable_provenance() = ProvenanceOf(r);
    }
  }
  RETURN_IF_ERROR(
      seal::SealDocument(signer, assembled, seal::kPurposeDossier, &dossier));
  return dossier;
}

}  // namespace datarun::certificate
