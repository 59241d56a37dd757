// `datarun id check <ID>`: validates a citizen resident id or a unified
// social credit code and prints its decoded parts as one JSON object on
// stdout (exit 0), or `error: <message>` on stderr (exit 1); usage errors
// exit 2. See docs/cli.md.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "exchange/subject/subject_id.h"
#include "tools/cli/command.h"
#include "tools/cli/json_text.h"

namespace datarun::cli {
namespace {

using datarun::subject::CitizenParts;
using datarun::subject::CreditCodeParts;
using datarun::subject::Region;
using datarun::subject::SubjectId;
using datarun::subject::SubjectKind;

// `"key":"value"` appended with a leading comma, skipped when value is empty.
void Field(std::string* out, absl::string_view key, absl::string_view value) {
  if (value.empty()) return;
  absl::StrAppend(out, ",", JsonQuote(key), ":", JsonQuote(value));
}

std::string RegionJson(const Region& r) {
  std::string out =
      absl::StrCat("{\"code\":", JsonQuote(absl::StrFormat("%06d", r.code)));
  Field(&out, "province", r.province_name);
  Field(&out, "prefecture", r.prefecture_name);
  Field(&out, "county", r.county_name);
  out.push_back('}');
  return out;
}

std::string ToJson(const SubjectId& id) {
  std::string out = absl::StrCat(
      "{\"kind\":", JsonQuote(datarun::subject::SubjectKindName(id.kind())),
      ",\"id\":", JsonQuote(id.id()));
  if (id.kind() == SubjectKind::kCitizen) {
    const CitizenParts& p = id.citizen();
    absl::StrAppend(&out, ",\"region\":", RegionJson(p.region));
    Field(&out, "birth_date", absl::FormatCivilTime(p.birth_date));
    Field(&out, "sex", datarun::subject::SexName(p.sex));
    absl::StrAppend(&out, ",\"sequence\":", p.sequence);
  } else {
    const CreditCodeParts& p = id.credit_code();
    std::string dept = absl::StrCat(
        "{\"code\":",
        JsonQuote(absl::string_view(&p.registration_department, 1)));
    Field(&dept, "name", p.registration_department_name);
    Field(&dept, "name_zh", p.registration_department_name_zh);
    std::string type = absl::StrCat(
        "{\"code\":", JsonQuote(absl::string_view(&p.organisation_type, 1)));
    Field(&type, "name", p.organisation_type_name);
    Field(&type, "name_zh", p.organisation_type_name_zh);
    absl::StrAppend(&out, ",\"registration_department\":", dept,
                    "},\"organisation_type\":", type,
                    "},\"region\":", RegionJson(p.region));
    Field(&out, "organisation_code", id.organisation_code());
  }
  out.push_back('}');
  return out;
}

int RunIdCheck(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr,
                 "usage: datarun id check <ID>\n"
                 "  ID: an 18-character citizen resident id (GB 11643-1999) "
                 "or unified social credit code (GB 32100-2015)\n");
    return 2;
  }
  absl::StatusOr<SubjectId> id =
      datarun::subject::ParseSubjectId(args[0], absl::Now());
  if (!id.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(id.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", ToJson(*id).c_str());
  return 0;
}

}  // namespace

DATARUN_REGISTER_COMMAND(
    "id check", "Validate a citizen id or credit code, print it as JSON",
    RunIdCheck);

}  // namespace datarun::cli
