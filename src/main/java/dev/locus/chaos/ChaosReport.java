package dev.locus.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import dev.locus.chaos.ChaosExperiment.Kill;
import dev.locus.chaos.ChaosExperiment.Outcome;
import dev.locus.chaos.ChaosExperiment.Settings;
import dev.locus.chaos.ChaosExperiment.Struck;
import dev.locus.chaos.Deployment.Part;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The chaos run against the fault-free one: every fact done in both, no dead letter, every group's counts equal, every
 * figure within {@value #RELATIVE} relative, the results topic holding the same distinct ids (redelivered facts' results
 * written again under their ids), redone results byte-identical but for their timing, every result the same as the
 * fault-free run's but for timing, and every planned kill struck as intended.
 */
public record ChaosReport(Settings settings, List<Kill> plan, Outcome faultFree, Outcome chaos, List<Check> checks) {
    public static final double RELATIVE = 1e-12;
    private static final Pattern TIMING = Pattern.compile("\"duration_ms\":-?\\d+");

    public record Check(String name, boolean passed, String detail) {}

    ChaosReport(Settings settings, List<Kill> plan, Outcome faultFree, Outcome chaos) {
        this(settings, plan, faultFree, chaos, checks(settings, plan, faultFree, chaos));
    }

    public boolean passed() {
        return checks.stream().allMatch(Check::passed);
    }

    public Check check(String name) {
        return checks.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow(() -> new IllegalArgumentException("no check " + name));
    }

    private static List<Check> checks(Settings s, List<Kill> plan, Outcome faultFree, Outcome chaos) {
        List<Check> out = new ArrayList<>();
        out.add(completed(s, faultFree, chaos));
        out.add(counts(faultFree, chaos));
        out.add(figures(faultFree, chaos));
        Map<String, List<String>> clean = byId(faultFree);
        Map<String, List<String>> struck = byId(chaos);
        long records = chaos.results().size();
        out.add(new Check("results topic deduplicated by id", clean.keySet().equals(struck.keySet()),
                records + " records, " + struck.size() + " distinct ids; the fault-free run's " + faultFree.results().size() + " records, "
                        + clean.size() + " ids" + (clean.keySet().equals(struck.keySet()) ? ": the same ids" : ": other ids")));
        long redone = struck.values().stream().filter(v -> v.size() > 1).count();
        long redoneSame = struck.values().stream().filter(v -> v.size() > 1).filter(v -> v.stream().map(ChaosReport::untimed).distinct().count() == 1)
                .count();
        out.add(new Check("redone results byte-identical but timing", redoneSame == redone,
                redone + " result(s) written more than once, " + redoneSame + " of them identical but for duration_ms"));
        long same = struck.entrySet().stream().filter(e -> clean.containsKey(e.getKey())
                && untimed(e.getValue().get(0)).equals(untimed(clean.get(e.getKey()).get(0)))).count();
        out.add(new Check("every result as in the fault-free run but timing", same == struck.size() && same == clean.size(),
                same + " of " + struck.size() + " results identical to the fault-free run's but for duration_ms"));
        out.add(kills(plan, chaos));
        return out;
    }

    private static Check completed(Settings s, Outcome a, Outcome b) {
        boolean ok = true;
        List<String> parts = new ArrayList<>();
        for (Outcome o : List.of(a, b)) {
            JsonNode p = o.progress();
            ok &= p.path("received").asLong() == s.facts() && p.path("completed").asLong() == s.facts() && p.path("rejected").asLong() == 0;
            parts.add(o.name() + ": " + p.path("completed").asLong() + " of " + p.path("received").asLong() + " received facts done, "
                    + p.path("rejected").asLong() + " dead letters");
        }
        return new Check("every fact done, no dead letter", ok, String.join("; ", parts));
    }

    private static Check counts(Outcome a, Outcome b) {
        Map<String, JsonNode> x = groups(a);
        Map<String, JsonNode> y = groups(b);
        List<String> differ = new ArrayList<>();
        for (String key : x.keySet()) {
            if (!y.containsKey(key)) {
                differ.add(key + " missing");
                continue;
            }
            for (String field : List.of("traced", "skipped", "edits", "failed_edits")) {
                long u = x.get(key).path(field).asLong();
                long v = y.get(key).path(field).asLong();
                if (u != v) {
                    differ.add(key + " " + field + " " + u + " vs " + v);
                }
            }
        }
        y.keySet().stream().filter(k -> !x.containsKey(k)).forEach(k -> differ.add(k + " only in the chaos run"));
        String totals = x.entrySet().stream().map(e -> e.getKey() + ": " + counts(e.getValue())).collect(Collectors.joining("; "));
        return new Check("counts equal in every group", differ.isEmpty(), differ.isEmpty() ? totals : String.join("; ", differ));
    }

    private static String counts(JsonNode g) {
        return g.path("traced").asLong() + " traced, " + g.path("skipped").asLong() + " skipped, " + g.path("edits").asLong() + " edits, "
                + g.path("failed_edits").asLong() + " failed";
    }

    private static Check figures(Outcome a, Outcome b) {
        Map<String, JsonNode> x = groups(a);
        Map<String, JsonNode> y = groups(b);
        double[] worst = {0};
        long[] n = {0};
        List<String> differ = new ArrayList<>();
        for (String key : x.keySet()) {
            if (y.containsKey(key)) {
                compare(key + " analysis", x.get(key).path("analysis"), y.get(key).path("analysis"), worst, n, differ);
            }
        }
        return new Check("every figure within " + RELATIVE + " relative", differ.isEmpty() && n[0] > 0,
                n[0] + " figures, largest relative difference " + String.format("%.2g", worst[0])
                        + (differ.isEmpty() ? "" : "; beyond it: " + String.join("; ", differ.subList(0, Math.min(5, differ.size())))));
    }

    /** Walks two JSON trees in step: numbers within {@link #RELATIVE} relative (NaN equal to NaN), everything else equal. */
    private static void compare(String path, JsonNode u, JsonNode v, double[] worst, long[] n, List<String> differ) {
        if (u.isNumber() && v.isNumber()) {
            n[0]++;
            double p = u.asDouble();
            double q = v.asDouble();
            double rel = p == q ? 0 : Math.abs(p - q) / Math.max(Math.abs(p), Math.abs(q));
            worst[0] = Math.max(worst[0], rel);
            if (rel > RELATIVE) {
                differ.add(path + " " + p + " vs " + q);
            }
        } else if (u.isContainerNode() && v.isContainerNode() && u.size() == v.size()) {
            if (u.isObject()) {
                for (Iterator<String> it = u.fieldNames(); it.hasNext(); ) {
                    String f = it.next();
                    compare(path + "." + f, u.path(f), v.path(f), worst, n, differ);
                }
            } else {
                for (int i = 0; i < u.size(); i++) {
                    compare(path + "[" + i + "]", u.get(i), v.get(i), worst, n, differ);
                }
            }
        } else if (!Objects.equals(u, v)) {
            differ.add(path + " " + u + " vs " + v);
        }
    }

    private static Check kills(List<Kill> plan, Outcome chaos) {
        List<Struck> struck = chaos.kills();
        long workers = struck.stream().filter(k -> k.kill().part() == Part.WORKER).count();
        long midFact = struck.stream().filter(k -> k.kill().part() == Part.WORKER && k.asIntended()).count();
        long aggregators = struck.stream().filter(k -> k.kill().part() == Part.AGGREGATOR).count();
        long reread = struck.stream().filter(k -> k.kill().part() == Part.AGGREGATOR && k.asIntended()).count();
        boolean recovered = struck.stream().noneMatch(k -> Double.isNaN(k.recoverySeconds()));
        boolean ok = struck.size() == plan.size() && (workers == 0 || midFact > 0) && reread == aggregators && recovered;
        return new Check("every planned kill struck and recovered from", ok, struck.size() + " of " + plan.size() + " kills struck; worker "
                + midFact + " of " + workers + " mid-fact; aggregator " + reread + " of " + aggregators + " with counted results read again"
                + (recovered ? "" : "; one never recovered"));
    }

    private static Map<String, JsonNode> groups(Outcome o) {
        Map<String, JsonNode> out = new TreeMap<>();
        for (JsonNode g : o.groups()) {
            out.put(String.join(" / ", g.path("model_version").asText().substring(0, Math.min(12, g.path("model_version").asText().length())),
                    g.path("method").asText(), g.path("problem").asText(), g.path("model").asText(), g.path("grid_id").asText()), g);
        }
        return out;
    }

    private static Map<String, List<String>> byId(Outcome o) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        o.results().forEach(r -> out.computeIfAbsent(r.id(), k -> new ArrayList<>()).add(r.value()));
        return out;
    }

    private static String untimed(String json) {
        return TIMING.matcher(json).replaceAll("\"duration_ms\":_");
    }

    /** The report as text: what ran, the kills as they happened, each check. */
    public String render() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("chaos report: %d testbed facts from index %d, ROME x error_injection at layers %s, seed %d%n", settings.facts(),
                settings.from(), java.util.Arrays.toString(settings.layers()), settings.seed()));
        b.append(String.format("fault-free run: %s s, %d result records%n", ChaosExperiment.fmt(faultFree.seconds()), faultFree.results().size()));
        b.append(String.format("chaos run: %s s, %d result records, %d SIGKILLs%n", ChaosExperiment.fmt(chaos.seconds()), chaos.results().size(),
                chaos.kills().size()));
        int i = 1;
        for (Struck k : chaos.kills()) {
            b.append(String.format("  %d. %s at %s s: %s%n", i++, k.kill().part().name().toLowerCase(), ChaosExperiment.fmt(k.atSeconds()), k.detail()));
        }
        for (Check c : checks) {
            b.append(String.format("[%s] %s: %s%n", c.passed() ? "ok" : "FAILED", c.name(), c.detail()));
        }
        b.append(passed() ? "PASSED" : "FAILED").append(System.lineSeparator());
        return b.toString();
    }
}
