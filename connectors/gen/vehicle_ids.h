// Vehicle identifiers for synthetic data: Zhejiang plate numbers and VINs.
//
// Called by the generator (generator.cc) and its tests. Pure functions,
// safe from any thread.
#ifndef DATARUN_CONNECTORS_GEN_VEHICLE_IDS_H_
#define DATARUN_CONNECTORS_GEN_VEHICLE_IDS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace datarun::gen {

// Number of distinct plates per city letter (5 characters over 34 symbols).
inline constexpr uint64_t kPlateSpace = 45435424;  // 34^5

// "浙" + the city letter + 5 digits/letters (no I or O). Distinct `serial`
// values below kPlateSpace give distinct plates (the serial is scrambled by a
// bijection so consecutive serials do not look consecutive).
std::string ZhejiangPlate(char city_letter, uint64_t serial);

// ISO 3779 / GB 16735 check digit of a 17-character VIN (position 9 is
// ignored); '?' if a character is not allowed (I, O, Q, non-alphanumeric)
// or the length is wrong.
char VinCheckDigit(absl::string_view vin);

// A valid 17-character VIN: a Chinese WMI, vehicle descriptor, check digit,
// model year, plant and a 6-digit serial (serial mod 10^6, so distinct for
// serials below 10^6 per WMI/descriptor, which the generator varies too).
std::string MakeVin(uint64_t serial, int model_year);

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_VEHICLE_IDS_H_
