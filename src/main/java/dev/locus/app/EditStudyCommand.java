package dev.locus.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.locus.editing.EditResult;
import dev.locus.editing.EditingConfig;
import dev.locus.editing.EditingMethod;
import dev.locus.editing.EditingProblem;
import dev.locus.editing.Essence;
import dev.locus.study.EditingStudy;
import dev.locus.editing.KeyStatistics;
import dev.locus.figures.StudyFigure;
import dev.locus.study.Protocol;
import dev.locus.study.StudySettings;
import dev.locus.study.StudySummary;
import dev.locus.study.VersionComparison;
import dev.locus.stats.PairedBootstrap;
import dev.locus.facts.Fact;
import dev.locus.model.LanguageModel;
import dev.locus.bench.ModelOption;
import dev.locus.testbed.ModelSource;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.TraceOutcome;
import dev.locus.tracing.TracingSettings;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The study on a testbed or a given checkpoint: trace + every method × problem × layer per fact, then the per-layer table and R². */
@Command(name = "edit-study", mixinStandardHelpOptions = true,
        description = "Trace and edit facts at every layer; print mean scores and tracing value by layer, and R².")
public class EditStudyCommand implements Runnable {
    @Mixin
    ModelOption model;

    @Option(names = "--facts-file", description = "facts as JSON lines or a CounterFact JSON array (default: the model's facts.jsonl)")
    Path factsFile;

    @Option(names = "--corpus", description = "text file (one passage per line) for ROME's and MEMIT's key statistics "
            + "(default: the model's corpus.txt)")
    Path corpus;

    @Option(names = "--from", defaultValue = "0", description = "index of the first fact (testbed: tune on 0-99, report from 100)")
    int from;

    @Option(names = "--facts", defaultValue = "200", description = "number of facts")
    int count;

    @Option(names = "--protocol", description = "the study protocol: locus, paper-gpt-j, paper-gpt2-xl (the published runs, for those "
            + "models only), paper-gpt-j-scaled, paper-gpt2-xl-scaled (their layers and windows scaled to this model); the options "
            + "below override it (default: all methods and problems at every layer, the spec's tracing, the testbed's hyperparameters)")
    String protocol;

    @Option(names = "--methods", split = ",", description = "default: the protocol's, all four without one")
    List<String> methods;

    @Option(names = "--problems", split = ",", description = "default: the protocol's, all five without one")
    List<String> problems;

    @Option(names = "--layers", split = ",", description = "layers to edit (default: the protocol's, all without one)")
    int[] layers;

    @Option(names = "--config", description = "testbed, gpt-j, gpt2-xl, paper-gpt-j, paper-gpt2-xl or a JSON file (default: the protocol's, testbed without one)")
    String config;

    @Option(names = "--known-continuation", description = "analyse only facts whose true object is in the model's greedy continuation "
            + "of this many tokens (0: every fact; default: the protocol's, 0 without one, 36 in the published ones)")
    Integer knownContinuation;

    @Option(names = "--out", defaultValue = "edit-results.jsonl", description = "results as JSON lines")
    Path out;

    @Option(names = "--summarize", split = ",", description = "only print the tables and R² of existing results files (comma-separated)")
    List<Path> summarize;

    @Option(names = "--compare", split = ",", description = "BASELINE,CANDIDATE results files: compare two versions (or models) "
            + "over the facts both were studied on: paired differences by layer with 95 % bootstrap intervals, verdicts")
    List<Path> compare;

    @Option(names = "--png", description = "also draw the study's figure (scores and tracing value by layer per method × problem)")
    Path png;

    @Option(names = "--batch-rows", defaultValue = "" + EditingStudy.DEFAULT_BATCH_ROWS,
            description = "make a fact's edits at every layer together (ROME's v*, MEMIT's z, fine-tuning), in batches of at most this "
                    + "many rows (equal within 1e-5 to one at a time: see the README's \"Batched edits\"); 0 = every edit one at a "
                    + "time, the reference (default: ${DEFAULT-VALUE})")
    int batchRows;

    @Option(names = "--essence", negatable = true, fallbackValue = "true",
            description = "measure every edit's essence (perplexity of \"{subject} is a\" samples after vs before), fluency (n-gram "
                    + "entropy) and target_score, as Hase et al. do (README, \"Essence and fluency\"); --no-essence: results without "
                    + "them (default: the protocol's: on in the published ones, off without one)")
    Boolean essence;

    @Option(names = "--essence-samples", description = "essence texts per fact (default: the protocol's, the authors' 5)")
    Integer essenceSamples;

    @Option(names = "--essence-length", description = "tokens per essence text, prompt included, capped at the context "
            + "(default: the protocol's: the authors' 100 in the published ones, else " + Essence.Settings.LENGTH + ")")
    Integer essenceLength;

    @Option(names = "--cache", defaultValue = "${sys:user.home}/.cache/locus", description = "key-statistics cache directory")
    Path cache;

    @Override
    public void run() {
        ObjectMapper json = new ObjectMapper();
        if (compare != null) {
            if (compare.size() != 2) {
                throw new IllegalArgumentException("--compare takes two results files, BASELINE,CANDIDATE");
            }
            printComparison(VersionComparison.compare(read(json, compare.get(0)), read(json, compare.get(1)),
                    PairedBootstrap.DEFAULT_REPLICATES));
            return;
        }
        if (summarize != null) {
            List<EditResult> results = new ArrayList<>();
            for (Path file : summarize) {
                results.addAll(read(json, file));
            }
            report(results, results.stream().mapToInt(EditResult::layer).max().orElse(0) + 1);
            return;
        }
        ModelSource source = model.source();
        try (LanguageModel lm = source.load();
             BufferedWriter writer = Files.newBufferedWriter(out)) {
            List<Fact> all = source.facts(factsFile);
            List<Fact> facts = all.subList(Math.min(all.size(), from), Math.min(all.size(), from + count));
            int layerCount = lm.dimensions().layers();
            Protocol p = Protocol.forModel(protocol, layerCount);
            int[] editLayers = layers != null ? layers : protocol != null && p.layers() != null ? p.layers()
                    : IntStream.range(0, layerCount).toArray();
            List<EditingMethod> methodList = methods != null ? methods.stream().map(EditingMethod::parse).toList()
                    : protocol != null ? p.methods().stream().map(EditingMethod::parse).toList() : EditingMethod.all();
            List<EditingProblem> problemList = problems != null ? problems.stream().map(EditingProblem::parse).toList()
                    : protocol != null ? p.problems().stream().map(EditingProblem::parse).toList() : List.of(EditingProblem.values());
            TracingSettings tracing = p.tracing(new StudySettings.Tracing(null, TracingSettings.defaults().seed(), null, Double.NaN, null,
                    null, knownContinuation));
            System.err.printf("protocol %s: methods %s, problems %s, layers %s, tracing %s%n", p.name(), methodList, problemList,
                    java.util.Arrays.toString(editLayers), tracing);
            // σ from the subjects of the facts studied (the model's own by default), as the service does.
            double sigma = !Double.isNaN(p.noiseSigma()) ? p.noiseSigma() : ModelSource.noiseSigma(lm, all, tracing.noiseFactor(), System.err::println);
            KeyStatistics statistics = methodList.stream().anyMatch(EditingMethod::needsKeyStatistics)
                    ? source.keyStatistics(lm, corpus, cache, System.err::println) : null;
            EditingConfig editing = p.editing(p.editingConfig(config));
            EditingStudy study = new EditingStudy(lm, editing, statistics,
                    editing.prefixes(lm, 0), new FastTracer(lm, tracing, sigma), batchRows,
                    p.essence(new StudySettings.EssenceSet(essence, essenceSamples, essenceLength, null)));
            List<EditResult> results = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < facts.size(); i++) {
                TraceOutcome outcome = study.run(facts.get(i), methodList, problemList, editLayers, r -> {
                    results.add(r);
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
                        outcome instanceof TraceOutcome.NotAnalysed n ? " not analysed: " + n.reason()
                                : facts.get(i).traceOnly() ? " trace-only: traced, not edited" : "",
                        elapsed, elapsed / (i + 1) * (facts.size() - i - 1));
            }
            report(results, lm.dimensions().layers());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<EditResult> read(ObjectMapper json, Path file) {
        List<EditResult> results = new ArrayList<>();
        int unreadable = 0;
        try {
            for (String line : Files.readAllLines(file)) {
                try {
                    results.add(json.readValue(line, EditResult.class));
                } catch (IOException e) {
                    unreadable++; // e.g. the cut-off last line of a run still in progress
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (unreadable > 0) {
            System.err.printf("skipped %d unreadable line(s) of %s%n", unreadable, file);
        }
        return results;
    }

    /** Per method × problem × metric the paired differences by layer, then one line each: verdict, best layers, tracing peaks. */
    private static void printComparison(List<VersionComparison> comparisons) {
        for (VersionComparison c : comparisons) {
            System.out.printf("%n%s %s %s: candidate - baseline over %d paired facts%n%5s %8s %9s %8s  %s%n", c.method(), c.problem(),
                    c.metric(), c.overall().facts(), "layer", "baseline", "candidate", "diff", "95% interval");
            for (VersionComparison.Layer l : c.layers()) {
                System.out.printf("%5d %8.3f %9.3f %+8.3f  [%+.3f, %+.3f]%n", l.layer(), l.baseline(), l.candidate(), l.difference().mean(),
                        l.difference().low(), l.difference().high());
            }
        }
        System.out.printf("%n%-6s %-19s %-12s %5s %8s  %-18s %-10s %-11s %s%n", "method", "problem", "metric", "facts", "diff",
                "95% interval", "verdict", "best layer", "tracing peak");
        for (VersionComparison c : comparisons) {
            System.out.printf("%-6s %-19s %-12s %5d %+8.3f  [%+.3f, %+.3f]   %-10s %4d → %-4d %3d → %-3d%n", c.method(), c.problem(),
                    c.metric(), c.overall().facts(), c.overall().mean(), c.overall().low(), c.overall().high(),
                    c.verdict().label(), c.baselineBestLayer(), c.candidateBestLayer(),
                    c.baselineTracingPeak(), c.candidateTracingPeak());
        }
        System.out.printf("%n%-6s %-19s %-12s %-9s  %-22s %-22s %-22s %s%n", "method", "problem", "metric", "version", "R2 layer",
                "R2 tracing", "R2 both", "gain (95% intervals)");
        for (VersionComparison c : comparisons) {
            for (int side = 0; side < 2; side++) {
                VersionComparison.Fit f = side == 0 ? c.baselineFit() : c.candidateFit();
                System.out.printf("%-6s %-19s %-12s %-9s  %s %s %s %s%n", c.method(), c.problem(), c.metric(),
                        side == 0 ? "baseline" : "candidate", figure(f.layerR2()), figure(f.tracingR2()), figure(f.bothR2()),
                        figure(f.gain()));
            }
        }
    }

    /** The paper's R² table (the authors' data-analysis.ipynb writes the same columns), a block per score. */
    private static void printR2Table(List<StudySummary> summaries) {
        for (String metric : StudySummary.METRICS) {
            System.out.printf("%n%s score R² (%s ~ layer, ~ tracing, ~ layer + layer × tracing; gain and its F-test)%n"
                    + "%-19s %-6s %6s %8s %8s %8s %8s %9s%n", metric, metric, "problem", "method", "edits", "layer", "tracing", "both",
                    "gain", "F p");
            for (StudySummary s : summaries) {
                StudySummary.MetricFit f = s.metrics().get(StudySummary.METRICS.indexOf(metric));
                System.out.printf("%-19s %-6s %6d %8.3f %8.3f %8.3f %+8.3f %9s%n", s.problem(), s.method(), f.fit().observations(),
                        f.fit().layerR2(), f.fit().tracingR2(), f.fit().bothR2(), f.fit().gain(), pValue(f.gainTest().pValue()));
            }
        }
    }

    private static String pValue(double p) {
        return Double.isNaN(p) ? "—" : p < 1e-4 ? "<1e-4" : String.format("%.4f", p);
    }

    private static String figure(PairedBootstrap.Interval i) {
        return String.format("%.3f [%.3f, %.3f]  ", i.mean(), i.low(), i.high());
    }

    /** Per method × problem the table by layer, then one line each: best layer and R². */
    private void report(List<EditResult> results, int layerCount) {
        List<StudySummary> summaries = StudySummary.of(results, layerCount);
        for (StudySummary s : summaries) {
            System.out.printf("%n%s %s: %d facts, %d edits (%d failed)%n%5s %8s %8s %8s %8s %8s%n", s.method(), s.problem(),
                    s.facts(), s.edits(), s.failed(), "layer", "rewrite", "paraphr", "neighb", "overall", "tracing");
            for (StudySummary.LayerMeans l : s.layers()) {
                System.out.printf("%5d %8.3f %8.3f %8.3f %8.3f %8.3f%n", l.layer(), l.rewrite(), l.paraphrase(), l.neighborhood(),
                        l.overall(), l.tracing());
            }
            System.out.printf("rewrite score R²: ~layer %.3f, ~tracing %.3f, ~both %.3f (gain %.3f), n=%d%n", s.fit().layerR2(),
                    s.fit().tracingR2(), s.fit().bothR2(), s.fit().gain(), s.fit().observations());
        }
        System.out.printf("%n%-6s %-19s %5s %5s %8s %8s %8s %8s %8s %8s %8s%n", "method", "problem", "facts", "best", "rewrite",
                "paraphr", "neighb", "R2 layer", "R2 trace", "R2 both", "gain");
        for (StudySummary s : summaries) {
            StudySummary.LayerMeans b = s.best();
            System.out.printf("%-6s %-19s %5d %5d %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f%n", s.method(), s.problem(), s.facts(),
                    b.layer(), b.rewrite(), b.paraphrase(), b.neighborhood(), s.fit().layerR2(), s.fit().tracingR2(),
                    s.fit().bothR2(), s.fit().gain());
        }
        printR2Table(summaries);
        if (png != null) {
            try {
                StudyFigure.write(summaries, results, png);
                System.err.println("figure: " + png);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
            }
        }
    }
}
