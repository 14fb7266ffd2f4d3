package dev.locus.web;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.LinkedHashMap;
import java.util.Map;

/** Progress as this instance's own meters count it: facts received, completed, in flight, rejected. */
@ApplicationScoped
public class Progress {
    @Inject
    MeterRegistry registry;

    public Map<String, Object> now() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("received", count("locus_facts_received"));
        out.put("completed", count("locus_facts_completed"));
        out.put("in_flight", Search.in(registry).name("locus_facts_in_flight").gauges().stream().mapToDouble(g -> g.value()).sum());
        out.put("rejected", count("locus_facts_rejected"));
        Map<String, Double> byReason = new LinkedHashMap<>();
        Search.in(registry).name("locus_facts_rejected").counters()
                .forEach(c -> byReason.merge(c.getId().getTag("reason"), c.count(), Double::sum));
        out.put("rejected_by_reason", byReason);
        return out;
    }

    private double count(String name) {
        return Search.in(registry).name(name).counters().stream().mapToDouble(c -> c.count()).sum();
    }
}
