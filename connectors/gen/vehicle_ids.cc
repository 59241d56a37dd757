#include "connectors/gen/vehicle_ids.h"

#include "absl/strings/str_cat.h"

namespace datarun::gen {
namespace {

constexpr char kPlateSymbols[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";  // 34

// ISO 3779 transliteration; 0 marks a disallowed character.
int VinValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  switch (c) {
    case 'A':
    case 'J':
      return 1;
    case 'B':
    case 'K':
    case 'S':
      return 2;
    case 'C':
    case 'L':
    case 'T':
      return 3;
    case 'D':
    case 'M':
    case 'U':
      return 4;
    case 'E':
    case 'N':
    case 'V':
      return 5;
    case 'F':
    case 'W':
      return 6;
    case 'G':
    case 'P':
    case 'X':
      return 7;
    case 'H':
    case 'Y':
      return 8;
    case 'R':
    case 'Z':
      return 9;
    default:
      return -1;
  }
}

constexpr int kVinWeights[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0,
                                 9, 8, 7, 6, 5, 4, 3, 2};
// Model year code (position 10), 2001..2030 cycle without I, O, Q, U, Z, 0.
constexpr char kYearCodes[] = "123456789ABCDEFGHJKLMNPRSTVWXY";

constexpr absl::string_view kWmis[] = {"LSV", "LFV", "LGB", "LVS", "LBV",
                                       "LHG", "LGW", "LB3", "LSG", "LRW"};
constexpr char kVinSymbols[] = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";  // 33

}  // namespace

std::string ZhejiangPlate(char city_letter, uint64_t serial) {
  // 7919 is coprime with 34^5 = 2^5 * 17^5, so this is a bijection.
  uint64_t v = (serial % kPlateSpace * 7919 + 12345) % kPlateSpace;
  char tail[5];
  for (int i = 4; i >= 0; --i) {
    tail[i] = kPlateSymbols[v % 34];
    v /= 34;
  }
  std::string plate = "浙";
  plate.push_back(city_letter);
  plate.append(tail, 5);
  return plate;
}

char VinCheckDigit(absl::string_view vin) {
  if (vin.size() != 17) return '?';
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (i == 8) continue;
    int v = VinValue(vin[i]);
    if (v < 0) return '?';
    sum += v * kVinWeights[i];
  }
  int r = sum % 11;
  return r == 10 ? 'X' : static_cast<char>('0' + r);
}

std::string MakeVin(uint64_t serial, int model_year) {
  std::string vin(kWmis[serial % 10]);
  // Vehicle descriptor (positions 4-8): for a fixed low part r, q -> a*q+b
  // mod 33^5 with a coprime to 33 is injective, so VINs stay distinct
  // beyond 10^6 vehicles while looking varied.
  const uint64_t q = serial / 1000000, r = serial % 1000000;
  uint64_t desc = (q * 1000003 + r / 10) % 39135393;  // 33^5
  char descriptor[5];
  for (int i = 4; i >= 0; --i) {
    descriptor[i] = kVinSymbols[desc % 33];
    desc /= 33;
  }
  vin.append(descriptor, 5);
  vin.push_back('0');  // check digit placeholder
  int y = model_year - 2001;
  vin.push_back(kYearCodes[((y % 30) + 30) % 30]);
  vin.push_back(kVinSymbols[(serial / 7) % 33]);  // plant
  absl::StrAppend(&vin, absl::Dec(serial % 1000000, absl::kZeroPad6));
  vin[8] = VinCheckDigit(vin);
  return vin;
}

}  // namespace datarun::gen
