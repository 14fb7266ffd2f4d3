package dev.locus.web;

import dev.locus.stream.KafkaProgress;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Progress as /api/stats and the page show it: facts received, completed, in flight, rejected (by reason) and per worker
 * group, all from Kafka ({@link KafkaProgress}), so an aggregator in its own process shows the workers' progress too.
 */
@ApplicationScoped
public class Progress {
    @Inject
    KafkaProgress kafka;

    public Map<String, Object> now() {
        KafkaProgress.Now now = kafka.now();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("received", now.received());
        out.put("completed", now.completed());
        out.put("in_flight", now.inFlight());
        out.put("rejected", now.rejected());
        out.put("rejected_by_reason", now.rejectedByReason());
        out.put("groups", now.groups());
        return out;
    }
}
