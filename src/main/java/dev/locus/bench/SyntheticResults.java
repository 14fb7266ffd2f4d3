package dev.locus.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.model.Sha256;
import dev.locus.study.Grid;
import dev.locus.study.ResultEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * Synthetic but realistic edit results for benchmarking the aggregator: real {@link EditResult}
 * and {@link Grid} records inside {@link ResultEvent.Edit}, serialised with Jackson exactly as the
 * worker does. Several models × every method × every problem × 12 layers, in the order a worker
 * emits them (fact by fact, problem, method, layer); ids are deterministic (SHA-256 of model,
 * fact and edit, as the worker's are), about {@code duplicateRate} of the events repeat an earlier
 * one verbatim (a redelivered fact), and about 0.5 % of the edits failed. Seeded: the same
 * arguments give the same events.
 */
public final class SyntheticResults {
    public static final List<String> MODELS = List.of("testbed", "gpt2", "gpt2-medium");
    public static final int LAYERS = 12;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The events as JSON strings, the Kafka key of each (its model), and how many are duplicates. */
    public record Events(List<String> json, List<String> keys, int duplicates, int[] duplicatesBefore) {
        /** Distinct results among the first {@code n} events. */
        public int unique(int n) {
            return n - duplicatesBefore[n];
        }
    }

    private SyntheticResults() {}

    public static Events generate(int n, double duplicateRate, long seed) {
        Random random = new Random(seed);
        Grid grid = grid();
        String gridId = grid.id(); // a hash of the grid's JSON: once, not per event
        List<String> json = new ArrayList<>(n);
        List<String> keys = new ArrayList<>(n);
        int[] duplicatesBefore = new int[n + 1];
        int duplicates = 0;
        long unique = 0;
        while (json.size() < n) {
            if (!json.isEmpty() && random.nextDouble() < duplicateRate) {
                int earlier = random.nextInt(json.size());
                json.add(json.get(earlier));
                keys.add(keys.get(earlier));
                duplicates++;
            } else {
                ResultEvent.Edit event = event(random, grid, gridId, unique++);
                try {
                    json.add(JSON.writeValueAsString(event));
                } catch (JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
                keys.add(event.model());
            }
            duplicatesBefore[json.size()] = duplicates;
        }
        return new Events(json, keys, duplicates, duplicatesBefore);
    }

    private static Grid grid() {
        List<String> methods = EditingMethod.labels();
        List<String> problems = Arrays.stream(EditingProblem.values()).map(EditingProblem::label).toList();
        int[] layers = IntStream.range(0, LAYERS).toArray();
        Map<String, Integer> windows = new LinkedHashMap<>();
        windows.put("hidden", 1);
        windows.put("mlp", 5);
        windows.put("attn", 5);
        return new Grid(methods, problems, layers, 10, 1, windows, 0.1376, 0.02, "testbed", EditingConfig.testbed().fingerprint());
    }

    /** The {@code i}-th distinct result, in a worker's order: fact by fact (models in turn), problem, method, layer. */
    private static ResultEvent.Edit event(Random random, Grid grid, String gridId, long i) {
        List<String> methods = grid.methods();
        List<String> problems = grid.problems();
        int layer = (int) (i % LAYERS);
        String method = methods.get((int) (i / LAYERS % methods.size()));
        String problem = problems.get((int) (i / LAYERS / methods.size() % problems.size()));
        long factModel = i / (methods.size() * problems.size() * LAYERS);
        String model = MODELS.get((int) (factModel % MODELS.size()));
        String factId = String.format("bench-%06d", factModel / MODELS.size());
        String fingerprint = Sha256.hex("weights|" + model).substring(0, 16);
        EditResult edit = edit(random, factId, method, problem, layer, model.equals("testbed") ? 3 : 10);
        String id = Sha256.hex(fingerprint + "|" + gridId + "|" + factId + "|edit|" + method + "|" + problem + "|" + layer)
                .substring(0, 32);
        return new ResultEvent.Edit(id, "edit", model, fingerprint, fingerprint, factId, gridId, grid, edit);
    }

    /** Scores that fall with the layer, as ROME's do on the testbed; a tracing value peaking in the early layers. */
    private static EditResult edit(Random r, String factId, String method, String problem, int layer, int neighbours) {
        double tracing = clamp(0.6 * Math.exp(-layer / 3.0) + 0.1 * r.nextGaussian());
        double rewritePre = 0.02 * r.nextDouble();
        int[] edited = method.equals("memit") ? IntStream.rangeClosed(Math.max(0, layer - 2), layer).toArray() : new int[] {layer};
        if (r.nextDouble() < 0.005) {
            return new EditResult(factId, method, problem, layer, new int[0], "Lisbon", rewritePre, Double.NaN,
                    List.of(0.01, 0.02), List.of(), probabilities(r, neighbours), List.of(), Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, tracing, 0, Double.NaN, 3 + r.nextInt(5), "failed", "IllegalStateException: synthetic failure");
        }
        double strength = clamp(0.95 - 0.09 * layer + 0.1 * r.nextGaussian());
        double rewritePost = rewritePre + (1 - rewritePre) * strength;
        List<Double> paraphrasePre = List.of(0.02 * r.nextDouble(), 0.02 * r.nextDouble());
        List<Double> paraphrasePost = paraphrasePre.stream().map(p -> p + (1 - p) * clamp(strength - 0.1 * r.nextDouble())).toList();
        List<Double> neighbourhoodPre = probabilities(r, neighbours);
        List<Double> neighbourhoodPost = neighbourhoodPre.stream().map(p -> clamp(p - 0.2 * strength * r.nextDouble())).toList();
        double rewrite = (rewritePost - rewritePre) / (1 - rewritePre);
        double paraphrase = 0;
        for (int i = 0; i < paraphrasePre.size(); i++) {
            paraphrase += (paraphrasePost.get(i) - paraphrasePre.get(i)) / (1 - paraphrasePre.get(i)) / paraphrasePre.size();
        }
        double neighbourhood = 0;
        for (int i = 0; i < neighbourhoodPre.size(); i++) {
            neighbourhood += EditingProblem.neighbourhoodScore(neighbourhoodPre.get(i), neighbourhoodPost.get(i)) / neighbourhoodPre.size();
        }
        return new EditResult(factId, method, problem, layer, edited, "Lisbon", rewritePre, rewritePost, paraphrasePre,
                paraphrasePost, neighbourhoodPre, neighbourhoodPost, rewrite, paraphrase, neighbourhood,
                (rewrite + paraphrase + neighbourhood) / 3, tracing, 20 + r.nextInt(10), 0.05 * r.nextDouble(),
                600 + r.nextInt(1400), "ok", null);
    }

    private static List<Double> probabilities(Random r, int n) {
        List<Double> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(0.5 + 0.5 * r.nextDouble());
        }
        return out;
    }

    private static double clamp(double p) {
        return Math.max(0, Math.min(1, p));
    }

}
