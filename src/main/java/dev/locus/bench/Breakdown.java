package dev.locus.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a bench-service batch's time went (ms, whole batch), from record timestamps: HTTP until the facts are on the
 * facts topic; the worker's wait before each fact (consumer, intake); the time in each fact beyond its trace and edits
 * (evaluator setup, JSON, waiting for each result's acknowledgement); last result until /api/stats counted it. Or,
 * when {@code unavailableBecause} is set, why that is unknown.
 */
record Breakdown(String unavailableBecause, long httpMs, long waitedMs, String gaps, long inFactMs, double inFactPerResult,
        long countingMs) {

    static Breakdown unavailable(String why) {
        return new Breakdown(why, 0, 0, "", 0, 0, 0);
    }

    /**
     * From each fact's first record on the facts topic and, per fact, its results: trace sent, trace ms, edit ms, last
     * result sent, results, for the {@code facts} facts of the batch (ids: their ids). Facts are taken in the order
     * the worker started them.
     */
    static Breakdown of(int facts, Set<String> ids, Map<String, Long> factAt, Map<String, long[]> perFact, long postedAtMillis,
            long doneAtMillis) {
        if (perFact.size() != facts || factAt.size() != facts) {
            return unavailable(String.format("found %d facts and results of %d of the %d facts", factAt.size(), perFact.size(), facts));
        }
        List<String> order = new ArrayList<>(ids);
        order.sort(Comparator.comparingLong(id -> perFact.get(id)[0] - perFact.get(id)[1]));
        long published = factAt.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        long waited = 0;
        long inFact = 0;
        long previousEnd = 0;
        StringBuilder gaps = new StringBuilder();
        for (String id : order) {
            long[] f = perFact.get(id);
            long start = f[0] - f[1];
            long gap = start - Math.max(previousEnd, factAt.get(id));
            waited += gap;
            gaps.append(gaps.length() == 0 ? "" : ", ").append(gap);
            inFact += (f[3] - start) - f[1] - f[2];
            previousEnd = f[3];
        }
        return new Breakdown(null, published - postedAtMillis, waited, gaps.toString(), inFact,
                (double) inFact / perFact.values().stream().mapToLong(f -> f[4]).sum(), doneAtMillis - previousEnd);
    }

    String line() {
        if (unavailableBecause != null) {
            return "breakdown unavailable: " + unavailableBecause;
        }
        return String.format("  breakdown (ms, whole batch): HTTP until the facts are published %d; worker waiting for a fact %d [%s]; "
                + "in facts beyond trace + edits %d (%.1f per result); last result sent until counted in /api/stats %d", httpMs,
                waitedMs, gaps, inFactMs, inFactPerResult, countingMs);
    }
}
