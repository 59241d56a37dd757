#include "exchange/subject/regions.h"

#include <array>

namespace datarun::subject::internal {
namespace {

// string_view rather than const char* so a lookup never runs strlen.
struct Entry {
  int code;
  absl::string_view name;
};

// The 34 province-level divisions in use (GB/T 2260).
constexpr Entry kProvinces[] = {
    {11, "北京市"},           {12, "天津市"},         {13, "河北省"},
    {14, "山西省"},           {15, "内蒙古自治区"},   {21, "辽宁省"},
    {22, "吉林省"},           {23, "黑龙江省"},       {31, "上海市"},
    {32, "江苏省"},           {33, "浙江省"},         {34, "安徽省"},
    {35, "福建省"},           {36, "江西省"},         {37, "山东省"},
    {41, "河南省"},           {42, "湖北省"},         {43, "湖南省"},
    {44, "广东省"},           {45, "广西壮族自治区"}, {46, "海南省"},
    {50, "重庆市"},           {51, "四川省"},         {52, "贵州省"},
    {53, "云南省"},           {54, "西藏自治区"},     {61, "陕西省"},
    {62, "甘肃省"},           {63, "青海省"},         {64, "宁夏回族自治区"},
    {65, "新疆维吾尔自治区"}, {71, "台湾省"},         {81, "香港特别行政区"},
    {82, "澳门特别行政区"},
};

// Zhejiang prefectures: the 11 in use (3301..3311) plus the two prefecture
// codes abolished after 18-digit ids were already being issued (3325 丽水地区
// until 2000, 3326 台州地区 until 1994). A resident id keeps the code of the
// place where it was first assigned, so people registered there still carry
// these codes today and must not be rejected.
constexpr Entry kZhejiangPrefectures[] = {
    {3301, "杭州市"},   {3302, "宁波市"}, {3303, "温州市"}, {3304, "嘉兴市"},
    {3305, "湖州市"},   {3306, "绍兴市"}, {3307, "金华市"}, {3308, "衢州市"},
    {3309, "舟山市"},   {3310, "台州市"}, {3311, "丽水市"}, {3325, "丽水地区"},
    {3326, "台州地区"},
};

// Zhejiang county-level divisions. Current codes, plus codes that were
// replaced (county -> city -> district renamings and mergers) but still
// appear in ids assigned before the change; those are marked "historical".
// Not tabled: the "市辖区" aggregate codes (33pp01) and pre-1984 codes.
constexpr Entry kZhejiangCounties[] = {
    // 杭州市
    {330102, "上城区"},
    {330103, "下城区"},  // historical (merged 2021)
    {330104, "江干区"},  // historical (split 2021)
    {330105, "拱墅区"},
    {330106, "西湖区"},
    {330108, "滨江区"},
    {330109, "萧山区"},
    {330110, "余杭区"},
    {330111, "富阳区"},
    {330112, "临安区"},
    {330113, "临平区"},
    {330114, "钱塘区"},
    {330121, "萧山县"},  // historical (to 1988)
    {330122, "桐庐县"},
    {330123, "富阳县"},  // historical (to 1994)
    {330124, "临安县"},  // historical (to 1996)
    {330125, "余杭县"},  // historical (to 1994)
    {330126, "建德县"},  // historical (to 1992)
    {330127, "淳安县"},
    {330181, "萧山市"},  // historical (1988-2001)
    {330182, "建德市"},
    {330183, "富阳市"},  // historical (1994-2014)
    {330184, "余杭市"},  // historical (1994-2001)
    {330185, "临安市"},  // historical (1996-2017)
    // 宁波市
    {330203, "海曙区"},
    {330204, "江东区"},  // historical (to 2016)
    {330205, "江北区"},
    {330206, "北仑区"},
    {330211, "镇海区"},
    {330212, "鄞州区"},
    {330213, "奉化区"},
    {330225, "象山县"},
    {330226, "宁海县"},
    {330227, "鄞县"},  // historical (to 2002)
    {330281, "余姚市"},
    {330282, "慈溪市"},
    {330283, "奉化市"},  // historical (1988-2016)
    // 温州市
    {330302, "鹿城区"},
    {330303, "龙湾区"},
    {330304, "瓯海区"},
    {330305, "洞头区"},
    {330321, "瓯海县"},  // historical (to 1992)
    {330322, "洞头县"},  // historical (to 2015)
    {330323, "乐清县"},  // historical (to 1993)
    {330324, "永嘉县"},
    {330325, "瑞安县"},  // historical (to 1987)
    {330326, "平阳县"},
    {330327, "苍南县"},
    {330328, "文成县"},
    {330329, "泰顺县"},
    {330381, "瑞安市"},
    {330382, "乐清市"},
    {330383, "龙港市"},
    // 嘉兴市
    {330402, "南湖区"},
    {330411, "秀洲区"},
    {330421, "嘉善县"},
    {330422, "平湖县"},  // historical (to 1991)
    {330423, "海宁县"},  // historical (to 1986)
    {330424, "海盐县"},
    {330425, "桐乡县"},  // historical (to 1993)
    {330481, "海宁市"},
    {330482, "平湖市"},
    {330483, "桐乡市"},
    // 湖州市
    {330502, "吴兴区"},
    {330503, "南浔区"},
    {330521, "德清县"},
    {330522, "长兴县"},
    {330523, "安吉县"},
    // 绍兴市
    {330602, "越城区"},
    {330603, "柯桥区"},
    {330604, "上虞区"},
    {330621, "绍兴县"},  // historical (to 2013)
    {330622, "上虞县"},  // historical (to 1992)
    {330623, "嵊县"},    // historical (to 1995)
    {330624, "新昌县"},
    {330625, "诸暨县"},  // historical (to 1989)
    {330681, "诸暨市"},
    {330682, "上虞市"},  // historical (1992-2013)
    {330683, "嵊州市"},
    // 金华市
    {330702, "婺城区"},
    {330703, "金东区"},
    {330721, "金华县"},  // historical (to 2000)
    {330722, "永康县"},  // historical (to 1992)
    {330723, "武义县"},
    {330724, "东阳县"},  // historical (to 1988)
    {330725, "义乌县"},  // historical (to 1988)
    {330726, "浦江县"},
    {330727, "磐安县"},
    {330781, "兰溪市"},
    {330782, "义乌市"},
    {330783, "东阳市"},
    {330784, "永康市"},
    // 衢州市
    {330802, "柯城区"},
    {330803, "衢江区"},
    {330821, "衢县"},  // historical (to 2001)
    {330822, "常山县"},
    {330823, "江山县"},  // historical (to 1987)
    {330824, "开化县"},
    {330825, "龙游县"},
    {330881, "江山市"},
    // 舟山市
    {330902, "定海区"},
    {330903, "普陀区"},
    {330921, "岱山县"},
    {330922, "嵊泗县"},
    // 台州市
    {331002, "椒江区"},
    {331003, "黄岩区"},
    {331004, "路桥区"},
    {331021, "玉环县"},  // historical (to 2017)
    {331022, "三门县"},
    {331023, "天台县"},
    {331024, "仙居县"},
    {331081, "温岭市"},
    {331082, "临海市"},
    {331083, "玉环市"},
    // 丽水市
    {331102, "莲都区"},
    {331121, "青田县"},
    {331122, "缙云县"},
    {331123, "遂昌县"},
    {331124, "松阳县"},
    {331125, "云和县"},
    {331126, "庆元县"},
    {331127, "景宁畲族自治县"},
    {331181, "龙泉市"},
    // 丽水地区 (historical, to 2000)
    {332501, "丽水市"},
    {332502, "龙泉市"},
    {332521, "丽水县"},
    {332522, "青田县"},
    {332523, "云和县"},
    {332524, "龙泉县"},
    {332525, "庆元县"},
    {332526, "缙云县"},
    {332527, "遂昌县"},
    {332528, "松阳县"},
    {332529, "景宁畲族自治县"},
    // 台州地区 (historical, to 1994)
    {332601, "椒江市"},
    {332602, "临海市"},
    {332603, "黄岩市"},
    {332621, "临海县"},
    {332622, "黄岩县"},
    {332623, "温岭县"},
    {332624, "仙居县"},
    {332625, "天台县"},
    {332626, "三门县"},
    {332627, "玉环县"},
};

// Flat arrays indexed by code, built at compile time, so a lookup is one
// load on the ingest hot path.
constexpr std::array<absl::string_view, 100> kProvinceByCode = [] {
  std::array<absl::string_view, 100> t{};
  for (const Entry& e : kProvinces) t[e.code] = e.name;
  return t;
}();

constexpr std::array<absl::string_view, 100> kZhejiangPrefectureByCode = [] {
  std::array<absl::string_view, 100> t{};
  for (const Entry& e : kZhejiangPrefectures) t[e.code % 100] = e.name;
  return t;
}();

constexpr std::array<absl::string_view, 100 * 100> kZhejiangCountyByCode = [] {
  std::array<absl::string_view, 100 * 100> t{};
  for (const Entry& e : kZhejiangCounties) t[e.code % 10000] = e.name;
  return t;
}();

}  // namespace

absl::string_view ProvinceName(int province) {
  if (province < 0 || province >= 100) return {};
  return kProvinceByCode[province];
}

absl::string_view ZhejiangPrefectureName(int prefecture4) {
  if (prefecture4 / 100 != 33) return {};
  return kZhejiangPrefectureByCode[prefecture4 % 100];
}

absl::string_view ZhejiangCountyName(int county6) {
  if (county6 / 10000 != 33) return {};
  return kZhejiangCountyByCode[county6 % 10000];
}

int ZhejiangCountyCount() {
  return static_cast<int>(sizeof(kZhejiangCounties) / sizeof(Entry));
}

int ZhejiangCountyCode(int index) { return kZhejiangCounties[index].code; }

}  // namespace datarun::subject::internal
