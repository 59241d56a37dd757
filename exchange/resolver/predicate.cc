#include "exchange/resolver/predicate.h"

#include <algorithm>
#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "common/status_macros.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace datarun::resolver {

using datarun::v1::Condition;
using datarun::v1::Provenance;
using datarun::v1::Record;
using datarun::v1::VerificationPredicate;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

namespace {

// One leaf value of a payload field, in the forms conditions compare.
struct Value {
  std::string text;      // EQUALS / IN / PREFIX
  bool ordered = false;  // has `number`
  double number = 0;     // numbers; Date as yyyymmdd; Timestamp as seconds
};

enum class Leaf { kScalar, kDate, kTimestamp, kOther };

Leaf LeafKind(const FieldDescriptor* f) {
  if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return Leaf::kScalar;
  const std::string& n = f->message_type()->full_name();
  if (n == "datarun.v1.departments.Date") return Leaf::kDate;
  if (n == "google.protobuf.Timestamp") return Leaf::kTimestamp;
  return Leaf::kOther;
}

// Resolves a dot path to its field descriptors; error names the segment.
absl::StatusOr<std::vector<const FieldDescriptor*>> ResolvePath(
    const Descriptor* type, absl::string_view path) {
  std::vector<const FieldDescriptor*> out;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (type == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("field path \"", path, "\": \"", part,
                       "\" follows a non-message field"));
    }
    const FieldDescriptor* f = type->FindFieldByName(std::string(part));
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("field path \"", path, "\": ", type->full_name(),
                       " has no field \"", part, "\""));
    }
    out.push_back(f);
    type = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ? f->message_type()
                                                             : nullptr;
  }
  if (LeafKind(out.back()) == Leaf::kOther) {
    return absl::InvalidArgumentError(absl::StrCat(
        "field path \"", path, "\" ends in message ",
        out.back()->message_type()->full_name(), "; name one of its fields"));
  }
  return out;
}

Value ScalarValue(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  Value v;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      v.text = rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      v.text = (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                   ? "true"
                   : "false";
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f);
      v.text = e->name();
      v.ordered = true;
      v.number = e->number();
      break;
    }
#define DR_NUM(CPP, GET)                                                 \
  case FieldDescriptor::CPPTYPE_##CPP: {                                 \
    auto x = rep ? r->GetRepeated##GET(m, f, index) : r->Get##GET(m, f); \
    v.text = absl::StrCat(x);                                            \
    v.ordered = true;                                                    \
    v.number = static_cast<double>(x);                                   \
    break;                                                               \
  }
      DR_NUM(INT32, Int32)
      DR_NUM(INT64, Int64)
      DR_NUM(UINT32, UInt32)
      DR_NUM(UINT64, UInt64)
      DR_NUM(DOUBLE, Double)
      DR_NUM(FLOAT, Float)
#undef DR_NUM
    default:
      break;
  }
  return v;
}

Value MessageLeafValue(const Message& m, Leaf leaf) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  Value v;
  v.ordered = true;
  if (leaf == Leaf::kDate) {
    int y = r->GetInt32(m, d->FindFieldByName("year"));
    int mo = r->GetInt32(m, d->FindFieldByName("month"));
    int da = r->GetInt32(m, d->FindFieldByName("day"));
    v.number = y * 10000 + mo * 100 + da;
    v.text = absl::StrFormat("%04d-%02d-%02d", y, mo, da);
  } else {
    int64_t s = r->GetInt64(m, d->FindFieldByName("seconds"));
    v.number = static_cast<double>(s);
    v.text = absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(s),
                              absl::UTCTimeZone());
  }
  return v;
}

void Collect(const Message& m, const std::vector<const FieldDescriptor*>& path,
             size_t i, std::vector<Value>* out) {
  const FieldDescriptor* f = path[i];
  const Reflection* r = m.GetReflection();
  const bool last = i + 1 == path.size();
  const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
  for (int k = 0; k < n; ++k) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      out->push_back(ScalarValue(m, f, k));
      continue;
    }
    const Message& sub =
        f->is_repeated() ? r->GetRepeatedMessage(m, f, k) : r->GetMessage(m, f);
    if (last) {
      // An unset Date / Timestamp has no value to compare.
      if (!f->is_repeated() && !r->HasField(m, f)) continue;
      out->push_back(MessageLeafValue(sub, LeafKind(f)));
    } else {
      Collect(sub, path, i + 1, out);
    }
  }
}

// Parses a literal for an ordered comparison against a field of `leaf`.
absl::StatusOr<double> OrderedLiteral(absl::string_view literal, Leaf leaf,
                                      const FieldDescriptor* f,
                                      absl::Time now) {
  if (leaf == Leaf::kDate || leaf == Leaf::kTimestamp) {
    absl::Time t;
    std::string err;
    if (literal == "now") {
      t = now;
    } else if (leaf == Leaf::kDate) {
      absl::CivilDay day;
      if (!absl::ParseCivilTime(literal, &day)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "\"", literal, "\" is not a date YYYY-MM-DD or \"now\""));
      }
      return day.year() * 10000.0 + day.month() * 100 + day.day();
    } else if (!absl::ParseTime(absl::RFC3339_full, literal, &t, &err)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", literal, "\" is not an RFC 3339 time or \"now\": ", err));
    }
    if (leaf == Leaf::kDate) {
      // Dates are China Standard Time calendar days.
      absl::CivilDay day = absl::ToCivilDay(t, absl::FixedTimeZone(8 * 3600));
      return day.year() * 10000.0 + day.month() * 100 + day.day();
    }
    return static_cast<double>(absl::ToUnixSeconds(t));
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    const auto* e = f->enum_type()->FindValueByName(std::string(literal));
    if (e == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", literal, "\" is not a value of ", f->enum_type()->full_name()));
    }
    return e->number();
  }
  double d;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING ||
      f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL ||
      !absl::SimpleAtod(literal, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", literal, "\" cannot be ordered against field ", f->full_name()));
  }
  return d;
}

// Checks an EQUALS/IN literal names a value the field can hold.
absl::Status CheckEqualityLiteral(absl::string_view literal,
                                  const FieldDescriptor* f) {
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
      f->enum_type()->FindValueByName(std::string(literal)) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", literal, "\" is not a value of ", f->enum_type()->full_name()));
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL && literal != "true" &&
      literal != "false") {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", literal, "\" is not true or false"));
  }
  return absl::OkStatus();
}

bool IsExistence(datarun::v1::ConditionOp op) {
  return op == datarun::v1::CONDITION_OP_EXISTS ||
         op == datarun::v1::CONDITION_OP_NOT_EXISTS;
}

// A condition ready to test: path resolved, literal parsed.
struct Bound {
  const Condition* c = nullptr;
  std::vector<const FieldDescriptor*> path;
  std::string literal;
  double number = 0;
  std::vector<std::string> list;  // IN
};

absl::StatusOr<Bound> Bind(const VerificationPredicate& p, int index,
                           const Descriptor* payload, absl::string_view literal,
                           absl::Time now) {
  const Condition& c = p.conditions(index);
  auto fail = [&](const absl::Status& st) {
    return absl::InvalidArgumentError(
        absl::StrCat("predicate ", p.id(), " condition #", index, " (",
                     c.data_class(), "): ", st.message()));
  };
  Bound b;
  b.c = &c;
  auto path = ResolvePath(payload, c.field());
  if (!path.ok()) return fail(path.status());
  b.path = std::move(*path);
  b.literal = std::string(literal);
  const FieldDescriptor* leaf = b.path.back();
  switch (c.op()) {
    case datarun::v1::CONDITION_OP_EQUALS:
    case datarun::v1::CONDITION_OP_NOT_EQUALS:
      if (auto st = CheckEqualityLiteral(literal, leaf); !st.ok())
        return fail(st);
      break;
    case datarun::v1::CONDITION_OP_IN:
      b.list = absl::StrSplit(literal, ',', absl::SkipEmpty());
      for (auto& v : b.list) {
        v = std::string(absl::StripAsciiWhitespace(v));
        if (auto st = CheckEqualityLiteral(v, leaf); !st.ok()) return fail(st);
      }
      break;
    case datarun::v1::CONDITION_OP_PREFIX:
      break;
    case datarun::v1::CONDITION_OP_GREATER_THAN:
    case datarun::v1::CONDITION_OP_GREATER_OR_EQUAL:
    case datarun::v1::CONDITION_OP_LESS_THAN:
    case datarun::v1::CONDITION_OP_LESS_OR_EQUAL: {
      auto n = OrderedLiteral(literal, LeafKind(leaf), leaf, now);
      if (!n.ok()) return fail(n.status());
      b.number = *n;
      break;
    }
    default:
      return fail(absl::InvalidArgumentError(
          absl::StrCat("operator ", datarun::v1::ConditionOp_Name(c.op()),
                       " is not supported here")));
  }
  return b;
}

bool Test(const Bound& b, const Value& v) {
  switch (b.c->op()) {
    case datarun::v1::CONDITION_OP_EQUALS:
      return v.text == b.literal;
    case datarun::v1::CONDITION_OP_NOT_EQUALS:
      return v.text != b.literal;
    case datarun::v1::CONDITION_OP_IN:
      for (const auto& x : b.list) {
        if (v.text == x) return true;
      }
      return false;
    case datarun::v1::CONDITION_OP_PREFIX:
      return absl::StartsWith(v.text, b.literal);
    case datarun::v1::CONDITION_OP_GREATER_THAN:
      return v.ordered && v.number > b.number;
    case datarun::v1::CONDITION_OP_GREATER_OR_EQUAL:
      return v.ordered && v.number >= b.number;
    case datarun::v1::CONDITION_OP_LESS_THAN:
      return v.ordered && v.number < b.number;
    case datarun::v1::CONDITION_OP_LESS_OR_EQUAL:
      return v.ordered && v.number <= b.number;
    default:
      return false;
  }
}

bool Holds(const Bound& b, const Message& payload) {
  std::vector<Value> values;
  Collect(payload, b.path, 0, &values);
  // NOT_EQUALS on a repeated field: no element equals.
  if (b.c->op() == datarun::v1::CONDITION_OP_NOT_EQUALS) {
    for (const auto& v : values) {
      if (v.text == b.literal) return false;
    }
    return true;
  }
  for (const auto& v : values) {
    if (Test(b, v)) return true;
  }
  return false;
}

// The classes a predicate reads, in first-mention order.
std::vector<std::string> ClassesOf(const VerificationPredicate& p) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  for (const auto& c : p.data_classes()) add(c);
  for (const auto& c : p.conditions()) add(c.data_class());
  return out;
}

}  // namespace

Provenance ProvenanceOf(const Record& record) {
  Provenance p;
  p.set_source_department(record.source_department());
  p.set_data_class(record.data_class());
  p.set_record_key(record.record_key());
  p.set_source_version(record.source_version());
  *p.mutable_update_time() = record.event_time();
  return p;
}

absl::StatusOr<PredicateOutcome> EvaluatePredicate(
    const VerificationPredicate& predicate,
    const google::protobuf::Map<std::string, std::string>& parameters,
    const std::vector<Record>& records, const catalog::CatalogIndex& catalog,
    absl::Time now) {
  PredicateOutcome out;
  const std::vector<std::string> classes = ClassesOf(predicate);
  bool any_record = false;
  bool all_hold = true;
  std::vector<const Record*> evidence;
  for (const std::string& cls : classes) {
    const Descriptor* type = catalog.PayloadDescriptor(cls);
    if (type == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "predicate ", predicate.id(), ": unknown data class ", cls));
    }
    // Bind this class's conditions.
    std::vector<Bound> bound;
    bool negated = false;
    for (int i = 0; i < predicate.conditions_size(); ++i) {
      const Condition& c = predicate.conditions(i);
      if (c.data_class() != cls) continue;
      if (IsExistence(c.op())) {
        negated |= c.op() == datarun::v1::CONDITION_OP_NOT_EXISTS;
        continue;
      }
      std::string literal = c.value();
      if (!c.parameter().empty()) {
        auto it = parameters.find(c.parameter());
        if (it == parameters.end()) continue;  // optional, not given
        literal = it->second;
      }
      ASSIGN_OR_RETURN(Bound b, Bind(predicate, i, type, literal, now));
      bound.push_back(std::move(b));
    }
    // Test each record of the class.
    std::unique_ptr<Message> payload(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(type)
            ->New());
    std::vector<const Record*> matching, read;
    for (const Record& r : records) {
      if (r.data_class() != cls) continue;
      any_record = true;
      read.push_back(&r);
      if (!r.payload().UnpackTo(payload.get())) {
        return absl::DataLossError(absl::StrCat(
            "record ", cls, "/", r.record_key(), " of ", r.subject().id(),
            " does not hold a ", type->full_name()));
      }
      bool ok = true;
      for (const Bound& b : bound) {
        if (!Holds(b, *payload)) {
          ok = false;
          break;
        }
      }
      if (ok) matching.push_back(&r);
    }
    const bool holds = negated ? matching.empty() : !matching.empty();
    all_hold &= holds;
    // Evidence: what made the class hold, or everything read when it did
    // not (or when absence was the point).
    const auto& ev = (holds && !negated) ? matching : read;
    evidence.insert(evidence.end(), ev.begin(), ev.end());
  }
  if (!any_record) {
    switch (predicate.no_record_result()) {
      case datarun::v1::NO_RECORD_RESULT_TRUE:
        out.result = datarun::v1::VERIFY_RESULT_TRUE;
        break;
      case datarun::v1::NO_RECORD_RESULT_FALSE:
        out.result = datarun::v1::VERIFY_RESULT_FALSE;
        break;
      default:
        out.result = datarun::v1::VERIFY_RESULT_UNKNOWN;
    }
    return out;
  }
  out.result = all_hold ? datarun::v1::VERIFY_RESULT_TRUE
                        : datarun::v1::VERIFY_RESULT_FALSE;
  for (const Record* r : evidence) out.evidence.push_back(ProvenanceOf(*r));
  return out;
}

absl::Status ValidatePredicates(const catalog::CatalogIndex& catalog) {
  const absl::Time now = absl::Now();
  for (const auto& p : catalog.catalog().verification_predicates()) {
    for (int i = 0; i < p.conditions_size(); ++i) {
      const Condition& c = p.conditions(i);
      const Descriptor* type = catalog.PayloadDescriptor(c.data_class());
      if (type == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("predicate ", p.id(), " condition #", i,
                         ": unknown data class \"", c.data_class(), "\""));
      }
      if (c.op() == datarun::v1::CONDITION_OP_UNSPECIFIED) {
        return absl::InvalidArgumentError(absl::StrCat(
            "predicate ", p.id(), " condition #", i, ": no operator"));
      }
      if (IsExistence(c.op())) continue;
      if (!c.parameter().empty()) {
        bool declared = false;
        for (const auto& param : p.parameters())
          declared |= param.name() == c.parameter();
        if (!declared) {
          return absl::InvalidArgumentError(absl::StrCat(
              "predicate ", p.id(), " condition #", i, ": parameter \"",
              c.parameter(), "\" is not declared in parameters"));
        }
        auto path = ResolvePath(type, c.field());
        if (!path.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("predicate ", p.id(), " condition #", i, ": ",
                           path.status().message()));
        }
        continue;
      }
      auto b = Bind(p, i, type, c.value(), now);
      if (!b.ok()) return b.status();
    }
  }
  return absl::OkStatus();
}

}  // namespace datarun::resolver
