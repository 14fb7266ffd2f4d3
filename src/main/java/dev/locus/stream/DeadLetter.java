package dev.locus.stream;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A message Locus could not use, on {@code locus.facts.dlq}: the original bytes (base64, exact),
 * where they came from, at which stage they failed, and why (a stable reason code and a message).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DeadLetter(
        String id,
        String stage,
        String reason,
        String message,
        @JsonProperty("original_base64") String originalBase64,
        @JsonProperty("source_topic") String sourceTopic,
        @JsonProperty("source_partition") Integer sourcePartition,
        @JsonProperty("source_offset") Long sourceOffset,
        @JsonProperty("source_key") String sourceKey,
        String model,
        @JsonProperty("received_at") String receivedAt) {}
