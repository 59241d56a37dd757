#include "exchange/catalog/catalog_check.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "exchange/catalog/catalog.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/seal.h"
#include "proto/datarun/v1/departments/payloads.h"

namespace datarun::catalog::internal {
namespace {

namespace pb = ::google::protobuf;
using ::datarun::v1::Catalog;
using ::datarun::v1::DataClass;

// Kafka limits topic names to 249 characters of [a-zA-Z0-9._-].
constexpr size_t kMaxTopicLength = 249;
// Ids become topic name parts and RocksDB key parts; keep them short.
constexpr size_t kMaxIdLength = 64;
// Placeholders a certificate template may use besides its source fields.
constexpr absl::string_view kTemplateBuiltins[] = {
    "subject_id", "issued_at", "expires_at", "serial", "issuer"};

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  if (!absl::ascii_islower(id[0])) return false;
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

bool Before(const pb::Timestamp& a, const pb::Timestamp& b) {
  return a.seconds() < b.seconds() ||
         (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

// Resolves a dot-separated field path ("address.region_code") in `type`.
const pb::FieldDescriptor* ResolveFieldPath(const pb::Descriptor* type,
                                            absl::string_view path) {
  const pb::FieldDescriptor* field = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (type == nullptr) return nullptr;
    field = type->FindFieldByName(std::string(part));
    if (field == nullptr) return nullptr;
    type = field->message_type();
  }
  return field;
}

// Runs every catalog rule, collecting errors that name the source, the line
// (when a parse tree is available), the entity and the problem.
class Checker {
 public:
  Checker(const Catalog& catalog, absl::string_view source,
          const pb::TextFormat::ParseInfoTree* tree)
      : catalog_(catalog), source_(source), tree_(tree) {
    // Referencing the payload list forces the department code to be linked,
    // so the generated pool can resolve payload types by name.
    (void)::datarun::departments::AllPayloadDescriptors();
  }

  absl::Status Run() {
    if (catalog_.version().empty()) {
      AddError(Where("version", -1), "catalog", "version is empty");
    }
    CheckDepartments();
    CheckDataClasses();
    CheckMatters();
    CheckAgreements();
    CheckTemplates();
    CheckPredicates();
    if (errors_.empty()) return absl::OkStatus();
    std::string message =
        errors_.size() == 1
            ? errors_[0]
            : absl::StrCat(errors_.size(), truncated_ ? "+" : "",
                           " catalog errors:\n", absl::StrJoin(errors_, "\n"));
    return absl::InvalidArgumentError(message);
  }

 private:
  // "source:line" of field `name` of the catalog (element `index`, or the
  // singular field when -1), optionally of `sub`field (`sub_index`) inside
  // that element. Falls back to the element's line, then to the source.
  std::string Where(absl::string_view name, int index,
                    absl::string_view sub = {}, int sub_index = -1) const {
    int line = -1;
    if (tree_ != nullptr) {
      const pb::FieldDescriptor* field =
          Catalog::descriptor()->FindFieldByName(std::string(name));
      if (field != nullptr) {
        line = tree_->GetLocation(field, index).line;
        if (!sub.empty() && field->message_type() != nullptr) {
          const pb::TextFormat::ParseInfoTree* nested =
              tree_->GetTreeForNested(field, index);
          const pb::FieldDescriptor* sub_field =
              field->message_type()->FindFieldByName(std::string(sub));
          if (nested != nullptr && sub_field != nullptr) {
            int sub_line = nested->GetLocation(sub_field, sub_index).line;
            if (sub_line >= 0) line = sub_line;
          }
        }
      }
    }
    if (line < 0) return source_;
    return absl::StrCat(source_, ":", line + 1);
  }

  void AddError(const std::string& where, absl::string_view entity,
                absl::string_view what) {
    if (errors_.size() >= kMaxErrors) {
      truncated_ = true;
      return;
    }
    errors_.push_back(absl::StrCat(where, ": ", entity, ": ", what));
  }

  // Checks id syntax and uniqueness within a section.
  void CheckId(absl::string_view section, int index, absl::string_view kind,
               const std::string& id, absl::flat_hash_set<std::string>& seen) {
    std::string entity = absl::StrCat(kind, " #", index + 1, " \"", id, "\"");
    if (!IsValidId(id)) {
      AddError(Where(section, index, "id"), entity,
               absl::StrCat("id must be 1..", kMaxIdLength,
                            " characters of [a-z0-9_] starting with a "
                            "lower-case letter"));
    }
    if (!seen.insert(id).second) {
      AddError(Where(section, index, "id"), absl::StrCat(kind, " \"", id, "\""),
               absl::StrCat("duplicate ", kind, " id"));
    }
  }

  bool HasDepartment(const std::string& id) const {
    return departments_.contains(id);
  }

  void CheckDepartments() {
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < catalog_.departments_size(); ++i) {
      const auto& d = catalog_.departments(i);
      CheckId("departments", i, "department", d.id(), seen);
      std::string entity = absl::StrCat("department \"", d.id(), "\"");
      if (d.name().empty()) {
        AddError(Where("departments", i), entity, "name is empty");
      }
      absl::flat_hash_set<std::string> keys;
      for (int k = 0; k < d.seal_keys_size(); ++k) {
        const auto& key = d.seal_keys(k);
        std::string key_entity =
            absl::StrCat(entity, " seal key \"", key.key_id(), "\"");
        std::string where = Where("departments", i, "seal_keys", k);
        if (key.key_id().empty())
          AddError(where, key_entity, "key_id is empty");
        if (!keys.insert(key.key_id()).second) {
          AddError(where, key_entity, "duplicate key_id in the department");
        }
        seal::SealAlgorithm algorithm;
        switch (key.algorithm()) {
          case datarun::v1::SEAL_ALGORITHM_SM2_SM3:
            algorithm = seal::SealAlgorithm::kSm2Sm3;
            break;
          case datarun::v1::SEAL_ALGORITHM_ED25519:
            algorithm = seal::SealAlgorithm::kEd25519;
            break;
          default:
            AddError(where, key_entity, "algorithm is not set");
            continue;
        }
        // Parsing the key now (OpenSSL) turns a truncated PEM or a key of
        // the wrong algorithm into a load error instead of a failure to
        // verify the first certificate.
        auto verifier = seal::LoadVerifier(key.public_key_pem(),
                                           {d.id(), key.key_id(), algorithm});
        if (!verifier.ok()) {
          AddError(
              where, key_entity,
              absl::StrCat("public_key_pem: ", verifier.status().message()));
        }
        if (key.has_valid_from() && key.has_valid_until() &&
            !Before(key.valid_from(), key.valid_until())) {
          AddError(where, key_entity, "valid_until is not after valid_from");
        }
      }
      departments_.insert(d.id());
    }
  }

  void CheckDataClasses() {
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < catalog_.data_classes_size(); ++i) {
      const DataClass& c = catalog_.data_classes(i);
      CheckId("data_classes", i, "data class", c.id(), seen);
      std::string entity = absl::StrCat("data class \"", c.id(), "\"");
      if (c.name().empty()) {
        AddError(Where("data_classes", i), entity, "name is empty");
      }
      if (c.source_department().empty()) {
        AddError(Where("data_classes", i), entity,
                 "source_department is empty: every class needs exactly one "
                 "authoritative source department");
      } else if (!HasDepartment(c.source_department())) {
        AddError(Where("data_classes", i, "source_department"), entity,
                 absl::StrCat("source_department \"", c.source_department(),
                              "\" is not a department of the catalog"));
      }
      if (c.subject_kind() == datarun::v1::SUBJECT_KIND_UNSPECIFIED) {
        AddError(Where("data_classes", i), entity, "subject_kind is not set");
      }
      if (DataTopicFor(c).size() > kMaxTopicLength) {
        AddError(Where("data_classes", i), entity,
                 absl::StrCat("topic name ", DataTopicFor(c), " exceeds ",
                              kMaxTopicLength, " characters"));
      }
      const pb::Descriptor* payload = nullptr;
      if (c.payload_type().empty()) {
        AddError(Where("data_classes", i), entity, "payload_type is empty");
      } else {
        payload = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
            c.payload_type());
        if (payload == nullptr) {
          AddError(Where("data_classes", i, "payload_type"), entity,
                   absl::StrCat("payload_type \"", c.payload_type(),
                                "\" is not a message type linked into this "
                                "program (misspelt, or its proto library is "
                                "not a dependency)"));
        }
        // One message per class: a type shared by two classes would let two
        // departments publish the same facts, defeating 数源确认.
        auto [it, inserted] = payload_owner_.emplace(c.payload_type(), c.id());
        if (!inserted) {
          AddError(Where("data_classes", i, "payload_type"), entity,
                   absl::StrCat("payload_type \"", c.payload_type(),
                                "\" is already the payload of data class \"",
                                it->second, "\""));
        }
      }
      absl::flat_hash_set<std::string> fields;
      for (int f = 0; f < c.field_sensitivities_size(); ++f) {
        const auto& fs = c.field_sensitivities(f);
        std::string where = Where("data_classes", i, "field_sensitivities", f);
        if (payload != nullptr &&
            payload->FindFieldByName(fs.field()) == nullptr) {
          AddError(
              where, entity,
              absl::StrCat("field_sensitivities names field \"", fs.field(),
                           "\" which ", c.payload_type(), " does not have"));
        }
        if (!fields.insert(fs.field()).second) {
          AddError(where, entity,
                   absl::StrCat("field \"", fs.field(),
                                "\" has more than one sensitivity"));
        }
        if (fs.sensitivity() == datarun::v1::SENSITIVITY_UNSPECIFIED) {
          AddError(where, entity,
                   absl::StrCat("field \"", fs.field(),
                                "\" has no sensitivity level"));
        }
      }
      classes_.emplace(c.id(), payload);
    }
  }

  // Checks that `class_id` names a data class; returns its payload type
  // (nullptr when unknown or its payload type is unknown).
  const pb::Descriptor* CheckClassRef(const std::string& where,
                                      absl::string_view entity,
                                      const std::string& class_id) {
    auto it = classes_.find(class_id);
    if (it == classes_.end()) {
      AddError(where, entity,
               absl::StrCat("data class \"", class_id,
                            "\" is not a data class of the catalog"));
      return nullptr;
    }
    return it->second;
  }

  void CheckDepartmentRef(const std::string& where, absl::string_view entity,
                          absl::string_view role, const std::string& id) {
    if (id.empty()) {
      AddError(where, entity, absl::StrCat(role, " is empty"));
    } else if (!HasDepartment(id)) {
      AddError(where, entity,
               absl::StrCat(role, " \"", id,
                            "\" is not a department of the catalog"));
    }
  }

  void CheckFieldList(const std::string& where, absl::string_view entity,
                      const pb::Descriptor* payload,
                      const std::string& class_id,
                      const pb::RepeatedPtrField<std::string>& fields) {
    absl::flat_hash_set<std::string> seen;
    for (const std::string& field : fields) {
      if (payload != nullptr && payload->FindFieldByName(field) == nullptr) {
        AddError(
            where, entity,
            absl::StrCat("field \"", field, "\" is not a field of class \"",
                         class_id, "\" (", payload->full_name(), ")"));
      }
      if (!seen.insert(field).second) {
        AddError(where, entity,
                 absl::StrCat("field \"", field, "\" of class \"", class_id,
                              "\" is listed twice"));
      }
    }
  }

  void CheckMatters() {
    absl::flat_hash_set<std::string> seen;
    absl::flat_hash_set<std::string> materials;
    for (int i = 0; i < catalog_.matters_size(); ++i) {
      const auto& m = catalog_.matters(i);
      CheckId("matters", i, "matter", m.id(), seen);
      std::string entity = absl::StrCat("matter \"", m.id(), "\"");
      if (m.name().empty())
        AddError(Where("matters", i), entity, "name is empty");
      CheckDepartmentRef(Where("matters", i, "owning_department"), entity,
                         "owning_department", m.owning_department());
      absl::flat_hash_set<std::string> classes;
      for (int c = 0; c < m.data_classes_size(); ++c) {
        std::string where = Where("matters", i, "data_classes", c);
        CheckClassRef(where, entity, m.data_classes(c));
        if (!classes.insert(m.data_classes(c)).second) {
          AddError(where, entity,
                   absl::StrCat("data class \"", m.data_classes(c),
                                "\" is listed twice"));
        }
      }
      for (int p = 0; p < m.replaces_materials_size(); ++p) {
        const auto& material = m.replaces_materials(p);
        std::string where = Where("matters", i, "replaces_materials", p);
        if (!IsValidId(material.id())) {
          AddError(where, entity,
                   absl::StrCat("paper material id \"", material.id(),
                                "\" must be [a-z0-9_] starting with a letter"));
        }
        if (!materials.insert(material.id()).second) {
          AddError(where, entity,
                   absl::StrCat("duplicate paper material id \"", material.id(),
                                "\""));
        }
        if (material.name().empty()) {
          AddError(where, entity,
                   absl::StrCat("paper material \"", material.id(),
                                "\" has no name"));
        }
      }
      if (m.required_assurance() ==
          datarun::v1::IDENTITY_ASSURANCE_UNSPECIFIED) {
        AddError(Where("matters", i), entity,
                 "required_assurance is not set (use IDENTITY_ASSURANCE_NONE "
                 "when no identity check is needed)");
      }
      matters_.emplace(m.id(), &m);
    }
  }

  void CheckAgreements() {
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < catalog_.sharing_agreements_size(); ++i) {
      const auto& a = catalog_.sharing_agreements(i);
      CheckId("sharing_agreements", i, "sharing agreement", a.id(), seen);
      std::string entity = absl::StrCat("sharing agreement \"", a.id(), "\"");
      CheckDepartmentRef(Where("sharing_agreements", i, "consumer_department"),
                         entity, "consumer_department",
                         a.consumer_department());
      const datarun::v1::Matter* matter = nullptr;
      auto it = matters_.find(a.matter());
      if (it == matters_.end()) {
        AddError(Where("sharing_agreements", i, "matter"), entity,
                 absl::StrCat("matter \"", a.matter(),
                              "\" is not a matter of the catalog"));
      } else {
        matter = it->second;
      }
      absl::flat_hash_set<std::string> classes;
      for (int c = 0; c < a.classes_size(); ++c) {
        const auto& ac = a.classes(c);
        std::string where = Where("sharing_agreements", i, "classes", c);
        const pb::Descriptor* payload =
            CheckClassRef(where, entity, ac.data_class());
        if (!classes.insert(ac.data_class()).second) {
          AddError(where, entity,
                   absl::StrCat("data class \"", ac.data_class(),
                                "\" is listed twice"));
        }
        // Data minimisation: an agreement can only share what the matter
        // needs.
        if (matter != nullptr &&
            std::find(matter->data_classes().begin(),
                      matter->data_classes().end(),
                      ac.data_class()) == matter->data_classes().end()) {
          AddError(
              where, entity,
              absl::StrCat("data class \"", ac.data_class(),
                           "\" is not needed by matter \"", a.matter(), "\""));
        }
        CheckFieldList(where, entity, payload, ac.data_class(), ac.fields());
      }
      if (a.has_valid_from() && a.has_valid_until() &&
          !Before(a.valid_from(), a.valid_until())) {
        AddError(Where("sharing_agreements", i), entity,
                 "valid_until is not after valid_from");
      }
      CheckConsentExemption(i, a, entity);
    }
  }

  // A statutory consent exemption overrides the citizen's say, so it must
  // rest on a named law and be no wider than what that law compels: only
  // classes that need consent at all, that the agreement discloses, in an
  // agreement that does not require consent for every use anyway.
  void CheckConsentExemption(int i, const datarun::v1::SharingAgreement& a,
                             const std::string& entity) {
    if (a.consent_exempt_classes().empty()) return;
    const std::string where =
        Where("sharing_agreements", i, "consent_exempt_classes", 0);
    if (!absl::StrContains(a.legal_basis(), "《") ||
        !absl::StrContains(a.legal_basis(), "》")) {
      AddError(where, entity,
               absl::StrCat("consent_exempt_classes needs a statutory basis: "
                            "legal_basis must name the law (《...》), is \"",
                            a.legal_basis(), "\""));
    }
    if (a.consent_required()) {
      AddError(where, entity,
               "consent_exempt_classes contradicts consent_required: true");
    }
    absl::flat_hash_set<std::string> seen;
    for (const std::string& id : a.consent_exempt_classes()) {
      const datarun::v1::DataClass* cls = nullptr;
      for (const auto& c : catalog_.data_classes()) {
        if (c.id() == id) cls = &c;
      }
      if (cls == nullptr) {
        AddError(where, entity,
                 absl::StrCat("consent_exempt_classes names \"", id,
                              "\", which is not a data class of the catalog"));
        continue;
      }
      if (!seen.insert(id).second) {
        AddError(
            where, entity,
            absl::StrCat("consent_exempt_classes lists \"", id, "\" twice"));
      }
      if (!cls->consent_required()) {
        AddError(where, entity,
                 absl::StrCat("consent_exempt_classes names \"", id,
                              "\", which is not consent_required (nothing "
                              "to exempt)"));
      }
      bool disclosed = false;
      for (const auto& ac : a.classes()) {
        if (ac.data_class() == id) disclosed = !ac.fields().empty();
      }
      if (!disclosed) {
        AddError(where, entity,
                 absl::StrCat("consent_exempt_classes names \"", id,
                              "\", which the agreement does not disclose "
                              "(list it under classes with its fields)"));
      }
    }
  }

  void CheckTemplates() {
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < catalog_.certificate_templates_size(); ++i) {
      const auto& t = catalog_.certificate_templates(i);
      CheckId("certificate_templates", i, "certificate template", t.id(), seen);
      std::string entity =
          absl::StrCat("certificate template \"", t.id(), "\"");
      if (t.title().empty()) {
        AddError(Where("certificate_templates", i), entity, "title is empty");
      }
      CheckDepartmentRef(Where("certificate_templates", i, "issuer_department"),
                         entity, "issuer_department", t.issuer_department());
      // Placeholders the text may use: "field" and "class.field".
      absl::flat_hash_set<std::string> placeholders(
          std::begin(kTemplateBuiltins), std::end(kTemplateBuiltins));
      for (int s = 0; s < t.sources_size(); ++s) {
        const auto& src = t.sources(s);
        std::string where = Where("certificate_templates", i, "sources", s);
        const pb::Descriptor* payload =
            CheckClassRef(where, entity, src.data_class());
        CheckFieldList(where, entity, payload, src.data_class(), src.fields());
        for (const std::string& f : src.fields()) {
          placeholders.insert(f);
          placeholders.insert(absl::StrCat(src.data_class(), ".", f));
        }
      }
      std::string where = Where("certificate_templates", i, "text_template");
      absl::string_view text = t.text_template();
      if (text.empty()) AddError(where, entity, "text_template is empty");
      for (size_t open = text.find('{'); open != absl::string_view::npos;
           open = text.find('{', open + 1)) {
        size_t close = text.find('}', open);
        if (close == absl::string_view::npos) {
          AddError(
              where, entity,
              absl::StrCat("text_template has an unclosed '{' at byte ", open));
          break;
        }
        std::string name(text.substr(open + 1, close - open - 1));
        if (!placeholders.contains(name)) {
          AddError(where, entity,
                   absl::StrCat("placeholder {", name,
                                "} is neither a source field nor one of ",
                                absl::StrJoin(kTemplateBuiltins, ", ")));
        }
      }
      if (t.validity().seconds() <= 0) {
        AddError(Where("certificate_templates", i), entity,
                 "validity must be a positive duration");
      }
    }
  }

  void CheckPredicates() {
    absl::flat_hash_set<std::string> seen;
    for (int i = 0; i < catalog_.verification_predicates_size(); ++i) {
      const auto& p = catalog_.verification_predicates(i);
      CheckId("verification_predicates", i, "verification predicate", p.id(),
              seen);
      std::string entity =
          absl::StrCat("verification predicate \"", p.id(), "\"");
      if (p.description().empty()) {
        AddError(Where("verification_predicates", i), entity,
                 "description is empty");
      }
      absl::flat_hash_set<std::string> classes;
      for (int c = 0; c < p.data_classes_size(); ++c) {
        CheckClassRef(Where("verification_predicates", i, "data_classes", c),
                      entity, p.data_classes(c));
        classes.insert(p.data_classes(c));
      }
      absl::flat_hash_set<std::string> params;
      for (int k = 0; k < p.parameters_size(); ++k) {
        if (!IsValidId(p.parameters(k).name()) ||
            !params.insert(p.parameters(k).name()).second) {
          AddError(Where("verification_predicates", i, "parameters", k), entity,
                   absl::StrCat("parameter name \"", p.parameters(k).name(),
                                "\" is invalid or duplicate"));
        }
      }
      if (p.conditions_size() == 0) {
        AddError(Where("verification_predicates", i), entity,
                 "has no conditions");
      }
      for (int c = 0; c < p.conditions_size(); ++c) {
        const auto& cond = p.conditions(c);
        std::string where =
            Where("verification_predicates", i, "conditions", c);
        const pb::Descriptor* payload =
            CheckClassRef(where, entity, cond.data_class());
        if (!classes.contains(cond.data_class())) {
          AddError(where, entity,
                   absl::StrCat("condition reads class \"", cond.data_class(),
                                "\" which the predicate's data_classes do "
                                "not list"));
        }
        const bool existence =
            cond.op() == datarun::v1::CONDITION_OP_EXISTS ||
            cond.op() == datarun::v1::CONDITION_OP_NOT_EXISTS;
        if (cond.op() == datarun::v1::CONDITION_OP_UNSPECIFIED) {
          AddError(where, entity, "condition op is not set");
        } else if (!existence) {
          if (payload != nullptr &&
              ResolveFieldPath(payload, cond.field()) == nullptr) {
            AddError(where, entity,
                     absl::StrCat("condition field \"", cond.field(),
                                  "\" is not a field path of ",
                                  payload->full_name()));
          }
          if (cond.parameter().empty() && cond.value().empty()) {
            AddError(where, entity,
                     "condition compares with neither a value nor a "
                     "parameter");
          }
        }
        if (!cond.parameter().empty() && !params.contains(cond.parameter())) {
          AddError(where, entity,
                   absl::StrCat("condition uses parameter \"", cond.parameter(),
                                "\" which the predicate does not declare"));
        }
      }
      if (p.no_record_result() == datarun::v1::NO_RECORD_RESULT_UNSPECIFIED) {
        AddError(Where("verification_predicates", i), entity,
                 "no_record_result is not set");
      }
    }
  }

  const Catalog& catalog_;
  const std::string source_;
  const pb::TextFormat::ParseInfoTree* const tree_;
  std::vector<std::string> errors_;
  bool truncated_ = false;
  absl::flat_hash_set<std::string> departments_;
  // Class id -> payload descriptor (nullptr when the type is unknown).
  absl::flat_hash_map<std::string, const pb::Descriptor*> classes_;
  absl::flat_hash_map<std::string, const datarun::v1::Matter*> matters_;
  // Payload type -> the class it belongs to.
  absl::flat_hash_map<std::string, std::string> payload_owner_;
};

}  // namespace

absl::Status CheckCatalog(
    const datarun::v1::Catalog& catalog, absl::string_view source_name,
    const google::protobuf::TextFormat::ParseInfoTree* tree) {
  return Checker(catalog, source_name, tree).Run();
}

}  // namespace datarun::catalog::internal
