#include "exchange/subject/credit_code_tables.h"

namespace datarun::subject::internal {
namespace {

constexpr OrgType kTypes1[] = {
    {'1', "government organ", "机关"},
    {'2', "public institution", "事业单位"},
    {'3', "mass organisation", "中央编办直接管理机构编制的群众团体"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes2[] = {
    {'1', "resident foreign news agency", "外国常驻新闻机构"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes3[] = {
    {'1', "law firm", "律师执业机构"},
    {'2', "notary office", "公证处"},
    {'3', "grassroots legal service office", "基层法律服务所"},
    {'4', "judicial expertise institution", "司法鉴定机构"},
    {'5', "arbitration commission", "仲裁委员会"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes4[] = {
    {'1', "foreign cultural centre in China", "外国在华文化中心"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes5[] = {
    {'1', "social group", "社会团体"},
    {'2', "private non-enterprise unit", "民办非企业单位"},
    {'3', "foundation", "基金会"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes6[] = {
    {'1', "resident representative office of a foreign tourism authority",
     "外国旅游部门常驻代表机构"},
    {'2',
     "resident representative office of a Hong Kong, Macao or Taiwan tourism "
     "authority",
     "港澳台地区旅游部门常驻内地（大陆）代表机构"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes7[] = {
    {'1', "place of religious activity", "宗教活动场所"},
    {'2', "religious college", "宗教院校"},
    {'9', "other", "其他"}};
constexpr OrgType kTypes8[] = {{'1', "grassroots trade union", "基层工会"},
                               {'9', "other", "其他"}};
constexpr OrgType kTypes9[] = {
    {'1', "enterprise", "企业"},
    {'2', "individual business", "个体工商户"},
    {'3', "farmers' specialised cooperative", "农民专业合作社"}};
constexpr OrgType kTypesA[] = {
    {'1', "military public institution", "军队事业单位"},
    {'9', "other", "其他"}};
constexpr OrgType kTypesN[] = {
    {'1', "group-level collective economic organisation", "组级集体经济组织"},
    {'2', "village-level collective economic organisation", "村级集体经济组织"},
    {'3', "township-level collective economic organisation",
     "乡镇级集体经济组织"},
    {'9', "other", "其他"}};
constexpr OrgType kTypesY[] = {{'1', "other", "其他"}};

#define DR_TYPES(t) t, static_cast<int>(sizeof(t) / sizeof(t[0]))
constexpr Department kDepartments[] = {
    {'1', "institutional establishment", "机构编制", DR_TYPES(kTypes1),
     "1, 2, 3 or 9"},
    {'2', "foreign affairs", "外交", DR_TYPES(kTypes2), "1 or 9"},
    {'3', "justice administration", "司法行政", DR_TYPES(kTypes3),
     "1, 2, 3, 4, 5 or 9"},
    {'4', "culture", "文化", DR_TYPES(kTypes4), "1 or 9"},
    {'5', "civil affairs", "民政", DR_TYPES(kTypes5), "1, 2, 3 or 9"},
    {'6', "tourism", "旅游", DR_TYPES(kTypes6), "1, 2 or 9"},
    {'7', "religious affairs", "宗教", DR_TYPES(kTypes7), "1, 2 or 9"},
    {'8', "trade union", "工会", DR_TYPES(kTypes8), "1 or 9"},
    {'9', "industry and commerce", "工商", DR_TYPES(kTypes9), "1, 2 or 3"},
    {'A', "Central Military Commission establishment office",
     "中央军委改革和编制办公室", DR_TYPES(kTypesA), "1 or 9"},
    {'N', "agriculture", "农业", DR_TYPES(kTypesN), "1, 2, 3 or 9"},
    {'Y', "other", "其他", DR_TYPES(kTypesY), "1"},
};
#undef DR_TYPES

}  // namespace

const Department* FindDepartment(char c) {
  switch (c) {
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return &kDepartments[c - '1'];
    case 'A':
      return &kDepartments[9];
    case 'N':
      return &kDepartments[10];
    case 'Y':
      return &kDepartments[11];
    default:
      return nullptr;
  }
}

const OrgType* FindType(const Department& d, char c) {
  for (int i = 0; i < d.type_count; ++i) {
    if (d.types[i].code == c) return &d.types[i];
  }
  return nullptr;
}

absl::Span<const Department> Departments() { return kDepartments; }

}  // namespace datarun::subject::internal
