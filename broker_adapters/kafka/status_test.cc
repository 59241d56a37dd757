#include "broker_adapters/kafka/status.h"

#include <librdkafka/rdkafka.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::broker {
namespace {

using ::testing::HasSubstr;

TEST(KafkaStatusTest, RetriableAndFatalErrorsAreToldApart) {
  for (rd_kafka_resp_err_t err :
       {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS}) {
    EXPECT_TRUE(IsRetriable(KafkaStatus(err, "x"))) << rd_kafka_err2name(err);
  }
  for (rd_kafka_resp_err_t err :
       {RD_KAFKA_RESP_ERR__FATAL,
        RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR__INVALID_ARG}) {
    EXPECT_FALSE(IsRetriable(KafkaStatus(err, "x"))) << rd_kafka_err2name(err);
  }
  EXPECT_EQ(KafkaStatusCode(RD_KAFKA_RESP_ERR__FATAL),
            absl::StatusCode::kInternal);
  EXPECT_EQ(KafkaStatusCode(RD_KAFKA_RESP_ERR__QUEUE_FULL),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(KafkaStatusCode(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(KafkaStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
}

TEST(KafkaStatusTest, MessageNamesContextAndError) {
  absl::Status s =
      KafkaStatus(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "sending to dr.x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("sending to dr.x"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("UNKNOWN_TOPIC_OR_PART"));
}

}  // namespace
}  // namespace datarun::broker
