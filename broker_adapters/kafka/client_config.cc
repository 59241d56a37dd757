#include "broker_adapters/kafka/client_config.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace datarun::broker::kafka_internal {
namespace {

void LogCallback(const rd_kafka_t* rk, int level, const char* fac,
                 const char* buf) {
  // syslog levels: 0..3 errors, 4 warning, 5.. notice/info/debug.
  if (level <= 3) {
    DR_LOG(ERROR) << "librdkafka " << rd_kafka_name(rk) << " " << fac << ": "
                  << buf;
  } else if (level == 4) {
    DR_LOG(WARNING) << "librdkafka " << rd_kafka_name(rk) << " " << fac << ": "
                    << buf;
  } else {
    DR_LOG(INFO) << "librdkafka " << rd_kafka_name(rk) << " " << fac << ": "
                 << buf;
  }
}

}  // namespace

absl::StatusOr<rd_kafka_conf_t*> BuildConf(
    const std::vector<PropertyLayer>& layers) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const PropertyLayer& layer : layers) {
    for (const auto& [name, value] : layer.properties) {
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr,
                            sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return absl::InvalidArgumentError(
            absl::StrCat("Kafka property ", name, "=", value, " (from ",
                         layer.source, "): ", errstr));
      }
    }
  }
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  return conf;
}

absl::StatusOr<rd_kafka_t*> NewHandle(rd_kafka_type_t type,
                                      rd_kafka_conf_t* conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka client: ", errstr));
  }
  return rk;
}

}  // namespace datarun::broker::kafka_internal
