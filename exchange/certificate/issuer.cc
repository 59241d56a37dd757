#include "exchange/certificate/issuer.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "exchange/certificate/field_format.h"
#include "exchange/certificate/record_payload.h"
#include "exchange/seal/document_seal.h"
#include "openssl/rand.h"

namespace datarun::certificate {
namespace {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

// Replaces every {name} of `text` by values[name]. The catalog checker has
// already rejected unknown placeholders; any left are kept verbatim.
std::string Fill(absl::string_view text,
                 const absl::flat_hash_map<std::string, std::string>& values) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find('{', pos);
    if (open == absl::string_view::npos) break;
    size_t close = text.find('}', open);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, text.substr(pos, open - pos));
    auto it = values.find(text.substr(open + 1, close - open - 1));
    if (it != values.end()) {
      absl::StrAppend(&out, it->second);
    } else {
      absl::StrAppend(&out, text.substr(open, close - open + 1));
    }
    pos = close + 1;
  }
  absl::StrAppend(&out, text.substr(pos));
  return out;
}

}  // namespace

std::string NewSerial(absl::string_view department, absl::Time now) {
  unsigned char random[8];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    // RAND_bytes fails only without an entropy source; absl's generator is
    // then still unique enough and far better than aborting issuance.
    absl::BitGen gen;
    for (unsigned char& c : random) c = absl::Uniform<unsigned char>(gen);
  }
  return absl::StrCat(
      department, "-",
      absl::FormatTime("%Y%m%d%H%M%S", now, absl::UTCTimeZone()), "-",
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(random), sizeof(random))));
}

const v1::CertificateTemplate* CertificateIssuer::FindTemplate(
    absl::string_view id) const {
  for (const auto& t : catalog_.catalog().certificate_templates()) {
    if (t.id() == id) return &t;
  }
  return nullptr;
}

absl::StatusOr<v1::Certificate> CertificateIssuer::Issue(
    absl::string_view template_id, const v1::Subject& subject,
    absl::Span<const v1::Record> records, absl::Time now) const {
  const v1::CertificateTemplate* tmpl = FindTemplate(template_id);
  if (tmpl == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no certificate template \"", template_id,
                     "\" in catalog version ", catalog_.version()));
  }
  if (subject.id().empty()) {
    return absl::InvalidArgumentError("certificate subject has an empty id");
  }
  const seal::Signer* signer = signers_.Find(tmpl->issuer_department());
  if (signer == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate template \"", tmpl->id(),
                     "\": this exchange holds no seal of ",
                     "issuer department \"", tmpl->issuer_department(), "\""));
  }
  for (const v1::Record& r : records) {
    if (r.subject().id() != subject.id()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "record ", r.data_class(), "/", r.record_key(), " is about ",
          r.subject().id(), ", not the certificate subject ", subject.id()));
    }
  }

  const absl::Time issued = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  const absl::Time expires = issued + absl::Seconds(tmpl->validity().seconds());

  v1::Certificate cert;
  cert.set_serial(NewSerial(tmpl->issuer_department(), issued));
  cert.set_template_id(tmpl->id());
  *cert.mutable_subject() = subject;
  cert.set_issuer_department(tmpl->issuer_department());
  *cert.mutable_issued_at() = ToProto(issued);
  *cert.mutable_expires_at() = ToProto(expires);

  absl::flat_hash_map<std::string, std::string> values;
  for (const v1::TemplateSource& source : tmpl->sources()) {
    const v1::DataClass* cls = catalog_.FindDataClass(source.data_class());
    std::vector<std::unique_ptr<google::protobuf::Message>> payloads;
    for (const v1::Record& r : records) {
      if (r.data_class() != source.data_class() ||
          r.op() == v1::Record::OP_DELETE ||
          (cls != nullptr &&
           r.source_department() != cls->source_department())) {
        continue;
      }
      ASSIGN_OR_RETURN(auto payload, UnpackPayload(catalog_, r));
      payloads.push_back(std::move(payload));
      *cert.add_sources() = ProvenanceOf(r);
    }
    for (const std::string& field_name : source.fields()) {
      std::vector<std::string> texts;
      for (const auto& payload : payloads) {
        const auto* field =
            payload->GetDescriptor()->FindFieldByName(field_name);
        if (field != nullptr) texts.push_back(FormatField(*payload, *field));
      }
      std::string value =
          texts.empty() ? std::string(kNoRecord) : absl::StrJoin(texts, "；");
      std::string key = absl::StrCat(source.data_class(), ".", field_name);
      v1::CertificateField* out = cert.add_content();
      out->set_key(key);
      out->set_value(value);
      values[key] = value;
      values.emplace(field_name, value);  // the first source naming it wins
    }
  }
  const v1::Department* issuer =
      catalog_.FindDepartment(tmpl->issuer_department());
  values["subject_id"] = subject.id();
  values["issued_at"] = FormatChineseDate(issued);
  values["expires_at"] = FormatChineseDate(expires);
  values["serial"] = cert.serial();
  values["issuer"] = issuer != nullptr && !issuer->name().empty()
                         ? issuer->name()
                         : tmpl->issuer_department();
  cert.set_rendered_text(Fill(tmpl->text_template(), values));

  RETURN_IF_ERROR(
      seal::SealDocument(*signer, issued, seal::kPurposeCertificate, &cert));
  return cert;
}

}  // namespace datarun::certificate
