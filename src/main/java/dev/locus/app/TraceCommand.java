package dev.locus.app;

import dev.locus.facts.Fact;
import dev.locus.facts.FactFiles;
import dev.locus.facts.InvalidFactException;
import dev.locus.model.LanguageModel;
import dev.locus.model.ModelLoadException;
import dev.locus.bench.ModelOption;
import dev.locus.testbed.ModelSource;
import dev.locus.tracing.CausalTrace;
import dev.locus.tracing.FastTracer;
import dev.locus.tracing.NaiveTracer;
import dev.locus.figures.TraceHeatmap;
import dev.locus.tracing.TraceJson;
import dev.locus.tracing.TraceOutcome;
import dev.locus.tracing.Tracer;
import dev.locus.tracing.TracingSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Causal tracing from the command line: one fact gives its three-panel heatmap, a facts file the
 * heatmap averaged over its facts; either way the traces go out as JSON lines.
 */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = "Causal tracing of one fact (heatmap of its trace) or of a facts file (heatmap averaged over the facts); "
                + "the traces are written as JSON lines, progress and facts not analysed to standard error.")
public class TraceCommand implements Callable<Integer> {
    enum Engine { fast, naive }

    @Mixin
    ModelOption model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static class Input {
        @Option(names = "--fact", description = "one fact as JSON, snake_case as in facts.jsonl")
        String fact;

        @ArgGroup(exclusive = false)
        Fields fields;

        @Option(names = "--facts", description = "facts as JSON lines or a CounterFact JSON array: trace each and draw their average")
        Path facts;
    }

    static class Fields {
        @Option(names = "--prompt", required = true)
        String prompt;

        @Option(names = "--subject", required = true, description = "must occur in the prompt")
        String subject;

        @Option(names = "--target", required = true, description = "the object, without the leading space")
        String target;
    }

    @Option(names = "--limit", description = "trace only the first N facts of --facts")
    Integer limit;

    @Option(names = "--noise-facts", description = "facts whose subjects set the noise level σ "
            + "(default: the --facts file, else the model's facts.jsonl)")
    Path noiseFacts;

    @Option(names = "--png", defaultValue = "trace.png", description = "heatmap file (default: ${DEFAULT-VALUE})")
    Path png;

    @Option(names = "--json", description = "file for the traces as JSON lines (default: standard output)")
    Path json;

    @Option(names = "--samples", description = "corrupted runs per cell (default: ${DEFAULT-VALUE})")
    int samples = TracingSettings.defaults().samples();

    @Option(names = "--seed", description = "seed of the noise (default: ${DEFAULT-VALUE})")
    long seed = TracingSettings.defaults().seed();

    @Option(names = "--engine", defaultValue = "fast", description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    Engine engine;

    @Option(names = "--min-p-clean", description = "facts the model gives a lower p(target) are not analysed (default: ${DEFAULT-VALUE})")
    double minPClean = TracingSettings.defaults().minCleanProbability();

    @Override
    public Integer call() {
        List<Fact> facts;
        List<Fact> noiseSample;
        try {
            List<Fact> file = input.facts != null ? FactFiles.read(input.facts) : null;
            facts = file != null ? firstN(file) : List.of(singleFact());
            // σ comes from the whole file, so that --limit changes which facts are traced, not how.
            noiseSample = noiseFacts != null ? FactFiles.read(noiseFacts) : file;
        } catch (IOException e) {
            return fail("cannot read " + e.getMessage());
        } catch (IllegalArgumentException e) {
            return fail(e.getMessage());
        }
        ModelSource source;
        try {
            source = model.source();
            if (noiseSample == null) {
                noiseSample = source.facts(null);
            }
        } catch (ModelLoadException | IllegalArgumentException e) {
            return fail(e.getMessage() + (e instanceof IllegalArgumentException ? " (--noise-facts) to set the noise level σ" : ""));
        }
        try (LanguageModel lm = source.load()) {
            Tracer tracer = tracer(lm, noiseSample);
            return input.facts != null ? traceAll(tracer, facts) : traceOne(tracer, facts.get(0));
        } catch (InvalidFactException | ModelLoadException e) {
            return fail(e.getMessage());
        } catch (IOException e) {
            return fail("cannot write " + e.getMessage());
        }
    }

    private Fact singleFact() {
        if (input.fields != null) {
            return new Fact(null, input.fields.subject, input.fields.prompt, input.fields.target, null, null, null, null);
        }
        return FactOption.parse(input.fact);
    }

    private List<Fact> firstN(List<Fact> all) {
        return limit == null ? all : all.subList(0, Math.min(all.size(), Math.max(0, limit)));
    }

    /** σ is estimated once, from the same subject sample, for every fact traced. */
    private Tracer tracer(LanguageModel lm, List<Fact> noiseSample) {
        TracingSettings settings = TracingSettings.defaults().toBuilder().samples(samples).seed(seed).minCleanProbability(minPClean).build();
        double sigma = ModelSource.noiseSigma(lm, noiseSample, settings.noiseFactor(), System.err::println);
        return engine == Engine.fast ? new FastTracer(lm, settings, sigma) : new NaiveTracer(lm, settings, sigma);
    }

    private int traceOne(Tracer tracer, Fact fact) throws IOException {
        TraceOutcome outcome = tracer.trace(fact.prompt(), fact.subject(), fact.targetTrue());
        if (!(outcome instanceof CausalTrace trace)) {
            System.err.println("not analysed: " + ((TraceOutcome.NotAnalysed) outcome).reason());
            return 0;
        }
        writeJson(List.of(TraceJson.of(fact.id(), fact.targetTrue(), trace).toJson()));
        TraceHeatmap.write(trace, fact.targetTrue(), png);
        System.err.printf("p_clean %.4f, p_corrupt %.4f; heatmap %s%n", trace.pClean(), trace.pCorrupt(), png);
        return 0;
    }

    private int traceAll(Tracer tracer, List<Fact> facts) throws IOException {
        long start = System.nanoTime();
        List<CausalTrace> traces = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < facts.size(); i++) {
            Fact fact = facts.get(i);
            TraceOutcome outcome;
            try {
                outcome = tracer.trace(fact.prompt(), fact.subject(), fact.targetTrue());
            } catch (InvalidFactException e) {
                return fail("fact " + fact.id() + ": " + e.getMessage());
            }
            String result;
            if (outcome instanceof CausalTrace trace) {
                traces.add(trace);
                lines.add(TraceJson.of(fact.id(), fact.targetTrue(), trace).toJson());
                result = String.format("p_clean %.4f, p_corrupt %.4f", trace.pClean(), trace.pCorrupt());
            } else {
                result = "not analysed: " + ((TraceOutcome.NotAnalysed) outcome).reason();
            }
            System.err.printf("fact %d/%d %s: %s (%.1fs elapsed)%n", i + 1, facts.size(), fact.id(), result,
                    (System.nanoTime() - start) / 1e9);
        }
        writeJson(lines);
        if (traces.isEmpty()) {
            System.err.println("no fact was analysed: no heatmap written");
        } else {
            TraceHeatmap.writeAverage(traces, png);
            System.err.printf("%d of %d facts analysed; average heatmap %s%n", traces.size(), facts.size(), png);
        }
        return 0;
    }

    private void writeJson(List<String> lines) throws IOException {
        if (json == null) {
            lines.forEach(System.out::println);
        } else {
            Files.write(json, lines);
        }
    }

    private static int fail(String message) {
        System.err.println("trace: " + message);
        return 1;
    }
}
