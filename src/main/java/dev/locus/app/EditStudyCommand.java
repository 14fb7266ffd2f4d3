package dev.locus.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.EditingStudy;
import dev.locus.editing.KeyStatistics;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.stats.LayerRegression;
import dev.locus.testbed.Testbed;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.TraceOutcome;
import dev.locus.tracing.TracingSettings;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The study on the testbed (or a given model): trace + every method × problem × layer per fact, then the per-layer table and R². */
@Command(name = "edit-study", mixinStandardHelpOptions = true,
        description = "Trace and edit facts at every layer; print mean scores and tracing value by layer, and R².")
public class EditStudyCommand implements Runnable {
    @Option(names = "--from", defaultValue = "0", description = "index of the first testbed fact (tune on 0-99, report from 100)")
    int from;

    @Option(names = "--facts", defaultValue = "200", description = "number of facts")
    int count;

    @Option(names = "--methods", split = ",", defaultValue = "rome,memit,ft-1,ft-5")
    List<String> methods;

    @Option(names = "--problems", split = ",", defaultValue = "error_injection,tracing_reversal,fact_erasure,fact_amplification,fact_forcing")
    List<String> problems;

    @Option(names = "--layers", split = ",", description = "layers to edit (default: all)")
    int[] layers;

    @Option(names = "--config", defaultValue = "testbed", description = "testbed, gpt-j, gpt2-xl or a JSON file")
    String config;

    @Option(names = "--out", defaultValue = "edit-results.jsonl", description = "results as JSON lines")
    Path out;

    @Option(names = "--summarize", description = "only print the table and R² of an existing results file")
    Path summarize;

    @Option(names = "--cache", defaultValue = "${sys:user.home}/.cache/locus", description = "key-statistics cache directory")
    Path cache;

    @Override
    public void run() {
        ObjectMapper json = new ObjectMapper();
        if (summarize != null) {
            Map<String, List<EditResult>> byMethodProblem = new TreeMap<>();
            int unreadable = 0;
            try {
                for (String line : Files.readAllLines(summarize)) {
                    try {
                        EditResult r = json.readValue(line, EditResult.class);
                        byMethodProblem.computeIfAbsent(r.method() + " " + r.problem(), k -> new ArrayList<>()).add(r);
                    } catch (IOException e) {
                        unreadable++; // e.g. the cut-off last line of a run still in progress
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (unreadable > 0) {
                System.err.printf("skipped %d unreadable line(s) of %s%n", unreadable, summarize);
            }
            int layerCount = byMethodProblem.values().stream().flatMap(List::stream).mapToInt(EditResult::layer).max().orElse(0) + 1;
            byMethodProblem.forEach((key, results) -> summarise(key, results, layerCount));
            return;
        }
        try (LanguageModel lm = Testbed.load(); BufferedWriter writer = Files.newBufferedWriter(out)) {
            List<Fact> all = Testbed.facts();
            List<Fact> facts = all.subList(from, Math.min(all.size(), from + count));
            int[] editLayers = layers != null ? layers : IntStream.range(0, lm.config().nLayer()).toArray();
            List<EditingProblem> problemList = problems.stream().map(p -> EditingProblem.valueOf(p.toUpperCase())).toList();
            double sigma = Testbed.noiseSigma(lm);
            KeyStatistics statistics = Testbed.keyStatistics(lm, cache, System.err::println);
            EditingConfig editing = EditingConfig.named(config);
            EditingStudy study = new EditingStudy(lm, editing, statistics,
                    editing.prefixes(lm, 0), new FastTracer(lm, TracingSettings.defaults(), sigma));
            Map<String, List<EditResult>> byMethodProblem = new TreeMap<>();
            long start = System.nanoTime();
            for (int i = 0; i < facts.size(); i++) {
                TraceOutcome outcome = study.run(facts.get(i), methods, problemList, editLayers, r -> {
                    byMethodProblem.computeIfAbsent(r.method() + " " + r.problem(), k -> new ArrayList<>()).add(r);
                    try {
                        writer.write(json.writeValueAsString(r));
                        writer.newLine();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                writer.flush(); // a fact's results are on disk once its progress line is printed
                double elapsed = (System.nanoTime() - start) / 1e9;
                System.err.printf("fact %d/%d %s%s  %.0fs, ETA %.0fs%n", i + 1, facts.size(), facts.get(i).id(),
                        outcome instanceof TraceOutcome.NotAnalysed n ? " not analysed: " + n.reason() : "",
                        elapsed, elapsed / (i + 1) * (facts.size() - i - 1));
            }
            byMethodProblem.forEach((key, results) -> summarise(key, results, lm.config().nLayer()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void summarise(String key, List<EditResult> results, int layerCount) {
        List<EditResult> ok = results.stream().filter(r -> r.status().equals("ok")).toList();
        System.out.printf("%n%s: %d edits (%d failed)%n%5s %8s %8s %8s %8s %8s%n", key, results.size(), results.size() - ok.size(),
                "layer", "rewrite", "paraphr", "neighb", "overall", "tracing");
        for (int l = 0; l < layerCount; l++) {
            int layer = l;
            List<EditResult> at = ok.stream().filter(r -> r.layer() == layer).toList();
            if (!at.isEmpty()) {
                System.out.printf("%5d %8.3f %8.3f %8.3f %8.3f %8.3f%n", l, mean(at, EditResult::rewriteScore),
                        mean(at, EditResult::paraphraseScore), mean(at, EditResult::neighborhoodScore),
                        mean(at, EditResult::overallScore), mean(at, EditResult::tracingValue));
            }
        }
        LayerRegression.Fit fit = LayerRegression.fit(ok.stream()
                .map(r -> new LayerRegression.Observation(r.layer(), r.tracingValue(), r.rewriteScore())).toList(), layerCount);
        System.out.printf("rewrite score R²: ~layer %.3f, ~tracing %.3f, ~both %.3f (gain %.3f), n=%d%n", fit.layerR2(),
                fit.tracingR2(), fit.bothR2(), fit.gain(), fit.observations());
    }

    private static double mean(List<EditResult> rs, java.util.function.ToDoubleFunction<EditResult> f) {
        return rs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
